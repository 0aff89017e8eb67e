import assert from 'node:assert/strict';
import { Twin } from '../../core/twin';
import { decode } from '../../core/contract';
import { expectedEndMs, recHubsFromTwin, withVehicleProfile } from '../../core/recommend';

function feed(t: Twin, topic: string, payload: object, now: number): void {
  const r = decode(topic, payload, now);
  assert.ok(r.ok, JSON.stringify(r));
  t.apply(r.msg, now);
}

describe('core: the twin as the recommender sees it', () => {
  it('estimates when a session ends from SoC, power and battery', () => {
    // 60 kWh from 35 % to 80 % = 27 kWh at 54 kW = 30 min.
    assert.equal(expectedEndMs(35, 54, 60, 80, 0), 30 * 60_000);
    // Past the assumed target: to 100 %.
    assert.equal(expectedEndMs(90, 6, 60, 80, 0), 60 * 60_000);
    assert.equal(expectedEndMs(null, 50, 60, 80, 0), null);
    assert.equal(expectedEndMs(50, 0, 60, 80, 0), null);
  });

  it('maps hubs and nodes, with the vehicle of a busy node and skipping what is not yet known', () => {
    const t = new Twin();
    const now = Date.parse('2026-11-26T08:00:00Z');
    feed(
      t,
      'iot/hubs/h1/info',
      {
        hub_id: 'h1',
        location: { latitude: 1, longitude: 2 },
        max_grid_capacity_kw: 100,
        ip_address: '10.0.0.1',
        firmware_version: '1',
      },
      now,
    );
    feed(t, 'iot/hubs/h1/status', { state: 'online', cpu_temp: 30 }, now);
    feed(t, 'iot/hubs/h1/nodes/n1/info', { node_id: 'n1', hub_id: 'h1', max_power_kw: 50 }, now);
    feed(t, 'iot/hubs/h1/nodes/n2/info', { node_id: 'n2', hub_id: 'h1', max_power_kw: 50 }, now);
    feed(
      t,
      'iot/hubs/h1/nodes/n1/status',
      { state: 'charging', current_vehicle_id: 'v1', error_code: 0 },
      now,
    );
    feed(
      t,
      'iot/hubs/h1/nodes/n1/telemetry',
      {
        voltage: 400,
        current: 100,
        power_kw: 40,
        power_limit_kw: 50,
        is_occupied: true,
        connected_vehicle_id: 'v1',
        current_vehicle_soc: 50,
      },
      now,
    );
    // Telemetry of a node whose info never came: a placeholder without max power is skipped.
    feed(
      t,
      'iot/hubs/h1/nodes/n9/telemetry',
      { voltage: 0, current: 0, power_kw: 0, power_limit_kw: 0, is_occupied: false },
      now,
    );
    // A hub heard of only through a node: no location, skipped.
    feed(t, 'iot/hubs/h2/nodes/x/info', { node_id: 'x', hub_id: 'h2', max_power_kw: 10 }, now);
    const hubs = recHubsFromTwin(t, now, { defaultBatteryKwh: 60, assumedTargetSoc: 80 });
    assert.equal(hubs.length, 1);
    const h = hubs[0]!;
    assert.deepEqual([h.hubId, h.latitude, h.longitude, h.capacityKw, h.available], ['h1', 1, 2, 100, true]);
    assert.deepEqual(
      h.nodes.map((n) => n.nodeId),
      ['n1', 'n2'],
    );
    const n1 = h.nodes[0]!;
    assert.equal(n1.state, 'charging');
    assert.equal(n1.vehicleSoc, 50);
    // 30 % of 60 kWh = 18 kWh at 40 kW = 27 min.
    assert.equal(n1.expectedEndMs, now + 27 * 60_000);
    const n2 = h.nodes[1]!;
    assert.equal(n2.state, 'idle');
    assert.equal(n2.occupied, false);
    assert.equal(n2.expectedEndMs, null);
  });
});

describe('core: a recommendation request completed from the vehicle profile', () => {
  const req = { latitude: 1, longitude: 2, battery_level: 30, battery_capacity_kwh: 60 };
  it('takes the registered battery unless the request gives one, and the priority', () => {
    assert.deepEqual(withVehicleProfile(req, false, { batteryKwh: 82, priority: true }), {
      ...req,
      battery_capacity_kwh: 82,
      priority: true,
    });
    assert.deepEqual(withVehicleProfile(req, true, { batteryKwh: 82, priority: false }), req);
    assert.deepEqual(withVehicleProfile(req, false, { batteryKwh: null, priority: false }), req);
    assert.equal(withVehicleProfile(req, false, undefined), req);
  });
});

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { decode, type InboundMessage } from '../../core/contract';
import { Twin, TwinInputError, type TwinChange } from '../../core/twin';

const CAPTURE = path.resolve(__dirname, '../fixtures/original-hub-capture.txt');
const T0 = Date.UTC(2026, 10, 26, 8, 0, 0);
const iso = (ms: number): string => new Date(ms).toISOString();

function dec(topic: string, payload: object, nowMs: number): InboundMessage {
  const r = decode(topic, JSON.stringify(payload), nowMs);
  if (!r.ok) throw new Error(`fixture rejected: ${topic} ${JSON.stringify(r)}`);
  return r.msg;
}

/** Feeds a twin with contract messages; `at` is both the payload timestamp and the receipt time. */
class Feed {
  constructor(readonly twin: Twin = new Twin()) {}
  send(topic: string, payload: object, at: number): TwinChange[] {
    return this.twin.apply(dec(topic, { ...payload, timestamp: iso(at) }, at), at);
  }
  hubInfo(hub: string, at: number, cap = 140): TwinChange[] {
    return this.twin.apply(
      dec(
        `iot/hubs/${hub}/info`,
        {
          hub_id: hub,
          location: { latitude: 44.6, longitude: 10.9, altitude: 50 },
          max_grid_capacity_kw: cap,
          ip_address: '10.0.0.1',
          firmware_version: '1.0.0',
        },
        at,
      ),
      at,
    );
  }
  hubStatus(hub: string, state: string, at: number): TwinChange[] {
    return this.send(`iot/hubs/${hub}/status`, { state, cpu_temp: 40 }, at);
  }
  nodeInfo(hub: string, node: string, at: number, max = 78): TwinChange[] {
    return this.twin.apply(
      dec(
        `iot/hubs/${hub}/nodes/${node}/info`,
        { node_id: node, hub_id: hub, name: null, max_power_kw: max },
        at,
      ),
      at,
    );
  }
  nodeStatus(hub: string, node: string, state: string, vehicle: string | null, at: number): TwinChange[] {
    return this.send(
      `iot/hubs/${hub}/nodes/${node}/status`,
      { state, current_vehicle_id: vehicle, error_code: state === 'faulted' ? 42 : 0 },
      at,
    );
  }
  telemetry(
    hub: string,
    node: string,
    powerKw: number,
    vehicle: string | null,
    soc: number,
    at: number,
  ): TwinChange[] {
    return this.send(
      `iot/hubs/${hub}/nodes/${node}/telemetry`,
      {
        voltage: 400,
        current: 100,
        power_kw: powerKw,
        power_limit_kw: 78,
        is_occupied: vehicle !== null,
        connected_vehicle_id: vehicle ?? 'n/a',
        current_vehicle_soc: vehicle === null ? 0 : soc,
      },
      at,
    );
  }
  vehicle(id: string, soc: number, at: number): TwinChange[] {
    return this.send(
      `iot/vehicles/${id}/telemetry`,
      {
        geo_location: { latitude: 44.6, longitude: 10.9, altitude: 0 },
        battery_level: soc,
        speed_kmh: 0,
        engine_temp_c: 30,
        is_charging: false,
      },
      at,
    );
  }
  request(hub: string, node: string, vehicle: string, soc: number, at: number): TwinChange[] {
    return this.send(
      `iot/hubs/${hub}/requests`,
      { vehicle_id: vehicle, node_id: node, soc_percent: soc },
      at,
    );
  }
  /** A hub with `nodes` nodes, online, at time `at`. */
  site(hub: string, nodes: number, at: number): void {
    this.hubInfo(hub, at);
    this.hubStatus(hub, 'online', at);
    for (let i = 1; i <= nodes; i++) {
      const n = `node_0${i}`;
      this.nodeInfo(hub, n, at);
      this.nodeStatus(hub, n, 'idle', null, at);
    }
  }
}

const types = (cs: TwinChange[]): string[] => cs.map((c) => c.type);
const ofType = <K extends TwinChange['type']>(cs: TwinChange[], t: K): Extract<TwinChange, { type: K }>[] =>
  cs.filter((c): c is Extract<TwinChange, { type: K }> => c.type === t);

describe('core/twin: replay of the original hub capture', () => {
  const lines = fs
    .readFileSync(CAPTURE, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  const twin = new Twin();
  const all: TwinChange[] = [];
  const samples = new Map<string, [number, number][]>();
  let sessionOpenedAt = new Map<string, number>();

  before(() => {
    let clock = 0;
    for (const line of lines) {
      const sp = line.indexOf(' ');
      const r = decode(line.slice(0, sp), line.slice(sp + 1), clock + 1);
      assert.ok(r.ok, `capture line rejected: ${line}`);
      clock = Math.max(clock + 1, r.msg.ts); // receipt clock: message time, or synthetic increasing
      all.push(...twin.apply(r.msg, clock));
    }
    sessionOpenedAt = new Map(ofType(all, 'session-opened').map((c) => [c.nodeId, c.ts]));
    for (const c of ofType(all, 'node-telemetry')) {
      const open = sessionOpenedAt.get(c.nodeId);
      if (open !== undefined && c.ts >= open) {
        const list = samples.get(c.nodeId) ?? [];
        list.push([c.ts, c.powerKw]);
        samples.set(c.nodeId, list);
      }
    }
  });

  it('has one hub of 140 kW, online and available, with three 78 kW nodes', () => {
    const hubs = twin.hubs();
    assert.equal(hubs.length, 1);
    assert.equal(hubs[0]?.hubId, 'hub_01');
    assert.equal(hubs[0]?.maxGridCapacityKw, 140);
    assert.equal(hubs[0]?.state, 'online');
    assert.deepEqual(hubs[0]?.location, { latitude: 44.6469, longitude: 10.9252, altitude: 50 });
    assert.equal(twin.isAvailable('hub_01'), true);
    const nodes = twin.nodesOf('hub_01');
    assert.deepEqual(nodes.map((n) => [n.nodeId, n.maxPowerKw]).sort(), [
      ['node_01', 78],
      ['node_02', 78],
      ['node_03', 78],
    ]);
    assert.equal(twin.node('hub_01', 'node_03')?.state, 'idle');
  });

  it('opens one session on node_01 with vehicle_01 and one on node_02 with vehicle_02, and none on node_03', () => {
    const opened = ofType(all, 'session-opened');
    assert.deepEqual(
      opened.map((c) => [c.nodeId, c.vehicleId]),
      [
        ['node_01', 'vehicle_01'],
        ['node_02', 'vehicle_02'],
      ],
    );
    assert.equal(ofType(all, 'session-closed').length, 0);
    assert.equal(twin.openSessions().length, 2);
    assert.equal(twin.openSession('hub_01', 'node_03'), undefined);
    const s1 = twin.openSession('hub_01', 'node_01');
    assert.equal(s1?.vehicleId, 'vehicle_01');
    assert.equal(s1?.startTs, Date.parse('2026-11-26T07:13:47.282Z'));
    assert.equal(s1?.sessionId, `hub_01/node_01/${Date.parse('2026-11-26T07:13:47.282Z')}`);
    assert.equal(s1?.startSoc, 20);
    assert.equal(twin.vehicle('vehicle_01')?.nodeId, 'node_01');
    assert.equal(twin.vehicle('vehicle_02')?.nodeId, 'node_02');
  });

  it("follows vehicle_01's SoC from its telemetry (35)", () => {
    const v = twin.vehicle('vehicle_01');
    assert.equal(v?.soc, 35);
    assert.deepEqual(
      ofType(all, 'soc')
        .filter((c) => c.vehicleId === 'vehicle_01')
        .map((c) => [c.value, c.source]),
      [
        [20, 'request'],
        [35, 'vehicle'],
      ],
    );
    assert.equal(twin.openSession('hub_01', 'node_01')?.endSoc, 35);
    assert.deepEqual(v?.position, { latitude: 44.64, longitude: 10.92, altitude: 50 });
    assert.equal(twin.vehicle('vehicle_02')?.soc, 70);
  });

  it('integrates node_02 energy as the trapezoids of its telemetry (hand computed)', () => {
    // node_02 telemetry after its session opened (07:13:50.288), ms after 07:13:51.700:
    // 68.7 @0, 60.9 @2001, 31.0 @4002, 0.4 @6003, 2.4 @8003, 84.5 @10005, 5.2 @12006, 46.4 @14007, 18.7 @16007
    const kwh =
      ((68.7 + 60.9) / 2) * 2001 +
      ((60.9 + 31.0) / 2) * 2001 +
      ((31.0 + 0.4) / 2) * 2001 +
      ((0.4 + 2.4) / 2) * 2000 +
      ((2.4 + 84.5) / 2) * 2002 +
      ((84.5 + 5.2) / 2) * 2001 +
      ((5.2 + 46.4) / 2) * 2001 +
      ((46.4 + 18.7) / 2) * 2000;
    const s = twin.openSession('hub_01', 'node_02');
    assert.ok(s);
    assert.ok(Math.abs(s.energyKwh - kwh / 3_600_000) < 1e-9, `${s.energyKwh} vs ${kwh / 3_600_000}`);
    assert.equal(s.peakPowerKw, 84.5);
    assert.equal(s.lastPowerKw, 18.7);
    assert.ok(Math.abs(s.averagePowerKw - s.energyKwh / (s.durationS / 3600)) < 1e-9);
  });

  it('integrates node_01 energy as the trapezoids of the telemetry timestamps', () => {
    const list = samples.get('node_01') ?? [];
    assert.equal(list.length, 11);
    let kwh = 0;
    for (let i = 1; i < list.length; i++) {
      const [t0, p0] = list[i - 1] ?? [0, 0];
      const [t1, p1] = list[i] ?? [0, 0];
      kwh += (((p0 + p1) / 2) * (t1 - t0)) / 3_600_000;
    }
    const s = twin.openSession('hub_01', 'node_01');
    assert.ok(s && Math.abs(s.energyKwh - kwh) < 1e-12);
    assert.ok(kwh > 0.19 && kwh < 0.21, `${kwh}`);
    assert.equal(s.peakPowerKw, 98.3);
  });

  it('replayed again into a fresh twin produces the same session ids and energies', () => {
    const again = new Twin();
    let clock = 0;
    for (const line of lines) {
      const sp = line.indexOf(' ');
      const r = decode(line.slice(0, sp), line.slice(sp + 1), clock + 1);
      if (!r.ok) continue;
      clock = Math.max(clock + 1, r.msg.ts);
      again.apply(r.msg, clock);
    }
    assert.deepEqual(again.openSessions(), twin.openSessions());
  });
});

describe('core/twin: entities', () => {
  it('creates a placeholder hub and node for telemetry of an unknown node, and info fills them in', () => {
    const f = new Feed();
    const c1 = f.telemetry('hub_x', 'node_09', 10, null, 0, T0);
    assert.deepEqual(types(c1), ['hub-upserted', 'node-upserted', 'node-telemetry', 'hub-state']);
    const placeholder = f.twin.node('hub_x', 'node_09');
    assert.equal(placeholder?.maxPowerKw, null);
    assert.equal(placeholder?.telemetry?.powerKw, 10);
    assert.equal(f.twin.hub('hub_x')?.maxGridCapacityKw, null);
    const c2 = f.nodeInfo('hub_x', 'node_09', T0 + 1000, 50);
    const up = ofType(c2, 'node-upserted');
    assert.equal(up.length, 1);
    assert.equal(up[0]?.created, false);
    assert.equal(up[0]?.previous?.maxPowerKw, null);
    assert.equal(up[0]?.node.maxPowerKw, 50);
    assert.equal(f.twin.node('hub_x', 'node_09')?.telemetry?.powerKw, 10, 'telemetry kept');
    const c3 = f.hubInfo('hub_x', T0 + 1000, 99);
    assert.equal(ofType(c3, 'hub-upserted')[0]?.previous?.maxGridCapacityKw, null);
    assert.equal(f.twin.hub('hub_x')?.maxGridCapacityKw, 99);
  });

  it('keeps equal node ids of two hubs apart', () => {
    const f = new Feed();
    f.site('hub_a', 1, T0);
    f.site('hub_b', 1, T0);
    f.nodeInfo('hub_b', 'node_01', T0 + 1, 22);
    f.nodeStatus('hub_a', 'node_01', 'charging', 'v_a', T0 + 1000);
    f.telemetry('hub_a', 'node_01', 50, 'v_a', 40, T0 + 2000);
    f.nodeStatus('hub_b', 'node_01', 'faulted', null, T0 + 2000);
    assert.equal(f.twin.node('hub_a', 'node_01')?.state, 'charging');
    assert.equal(f.twin.node('hub_a', 'node_01')?.maxPowerKw, 78);
    assert.equal(f.twin.node('hub_b', 'node_01')?.state, 'faulted');
    assert.equal(f.twin.node('hub_b', 'node_01')?.maxPowerKw, 22);
    assert.equal(f.twin.node('hub_b', 'node_01')?.telemetry, null);
    assert.equal(f.twin.openSession('hub_a', 'node_01')?.vehicleId, 'v_a');
    assert.equal(f.twin.openSession('hub_b', 'node_01'), undefined);
    assert.equal(f.twin.nodesOf('hub_a').length, 1);
    assert.equal(f.twin.stats().nodes, 2);
  });

  it('returns frozen copies that cannot change the twin', () => {
    const f = new Feed();
    f.site('hub_01', 1, T0);
    f.vehicle('v1', 50, T0);
    const h = f.twin.hub('hub_01');
    const v = f.twin.vehicle('v1');
    assert.ok(h && v);
    assert.ok(Object.isFrozen(h) && Object.isFrozen(v) && Object.isFrozen(h.location));
    assert.equal(Reflect.set(h, 'maxGridCapacityKw', 1), false);
    assert.equal(Reflect.set(v, 'soc', 1), false);
    assert.equal(f.twin.hub('hub_01')?.maxGridCapacityKw, 140);
    assert.equal(f.twin.vehicle('v1')?.soc, 50);
    const snap = f.twin.snapshot();
    (snap.hubs as unknown[]).length = 0;
    assert.equal(f.twin.hubs().length, 1);
  });

  it('marks hub maintenance on its nodes, and operator maintenance on one node', () => {
    const f = new Feed();
    f.site('hub_01', 2, T0);
    const c = f.hubStatus('hub_01', 'maintenance', T0 + 1000);
    const ns = ofType(c, 'node-state');
    assert.deepEqual(
      ns.map((x) => [x.nodeId, x.maintenance, x.previousMaintenance]),
      [
        ['node_01', true, false],
        ['node_02', true, false],
      ],
    );
    assert.equal(f.twin.isAvailable('hub_01'), false);
    const back = f.hubStatus('hub_01', 'online', T0 + 2000);
    assert.equal(ofType(back, 'node-state').length, 2);
    const hs = ofType(back, 'hub-state')[0];
    assert.equal(hs?.available, true);
    assert.equal(hs?.previousAvailable, false);
    const cmd = { op: 'node-maintenance', hub_id: 'hub_01', node_id: 'node_02', maintenance: true } as const;
    const op = f.twin.operate(cmd, 'ann', T0 + 3000).changes;
    assert.deepEqual(types(op), ['node-upserted', 'node-state', 'operator-action']);
    assert.equal(f.twin.node('hub_01', 'node_02')?.maintenance, true);
    assert.equal(f.twin.node('hub_01', 'node_01')?.maintenance, false);
    assert.deepEqual(
      types(f.twin.operate(cmd, 'ann', T0 + 3001).changes),
      ['operator-action'],
      'audited only',
    );
    assert.throws(() => f.twin.operate({ ...cmd, node_id: 'node_77' }, 'ann', T0), TwinInputError);
    assert.deepEqual(
      types(f.twin.setNodeMaintenance('hub_01', 'node_01', true, T0 + 3002)),
      ['node-upserted', 'node-state', 'operator-action'],
      'the deprecated method is the same command',
    );
  });
});

describe('core/twin: staleness and availability', () => {
  it('marks a silent hub stale after staleAfterS, and fresh again on its next message', () => {
    const f = new Feed(new Twin({ staleAfterS: 10 }));
    f.site('hub_01', 1, T0);
    assert.deepEqual(f.twin.tick(T0 + 10_000), [], 'not stale at exactly staleAfterS');
    const c = f.twin.tick(T0 + 10_001);
    assert.equal(c.length, 1);
    const hs = ofType(c, 'hub-state')[0];
    assert.ok(hs);
    assert.equal(hs.stale, true);
    assert.equal(hs.previousStale, false);
    assert.equal(hs.available, false);
    assert.equal(hs.state, 'online');
    assert.equal(f.twin.isAvailable('hub_01'), false);
    assert.deepEqual(f.twin.tick(T0 + 20_000), [], 'stale only once');
    const back = f.telemetry('hub_01', 'node_01', 0, null, 0, T0 + 21_000);
    const fresh = ofType(back, 'hub-state')[0];
    assert.equal(fresh?.stale, false);
    assert.equal(fresh?.available, true);
    assert.equal(f.twin.isAvailable('hub_01'), true);
  });

  it('keeps a hub stale-free while any of its nodes keeps talking', () => {
    const f = new Feed(new Twin({ staleAfterS: 10 }));
    f.site('hub_01', 1, T0);
    for (let t = T0 + 2000; t <= T0 + 60_000; t += 2000) {
      f.telemetry('hub_01', 'node_01', 0, null, 0, t);
      assert.deepEqual(f.twin.tick(t + 500), []);
    }
  });

  it('makes an offline hub unavailable and an unknown hub unavailable', () => {
    const f = new Feed();
    f.site('hub_01', 1, T0);
    const c = f.hubStatus('hub_01', 'offline', T0 + 1000);
    assert.equal(ofType(c, 'hub-state')[0]?.state, 'offline');
    assert.equal(f.twin.isAvailable('hub_01'), false);
    assert.equal(f.twin.hub('hub_01')?.offlineSinceMs, T0 + 1000);
    assert.equal(f.twin.isAvailable('nope'), false);
  });
});

describe('core/twin: SoC and classes', () => {
  it('changes class with hysteresis and does not flap at the threshold', () => {
    const f = new Feed(new Twin({ criticalSoc: 20, socHysteresis: 2 }));
    const seq = [25, 19, 20, 21, 20, 21, 22, 21, 20, 19, 20, 21];
    const classes: [number, string | null, string][] = [];
    seq.forEach((soc, i) => {
      for (const c of ofType(f.vehicle('v1', soc, T0 + i * 1000), 'soc-class'))
        classes.push([soc, c.from, c.to]);
    });
    assert.deepEqual(classes, [
      [25, null, 'normal'],
      [19, 'normal', 'critical'],
      [22, 'critical', 'normal'],
      [19, 'normal', 'critical'],
    ]);
    assert.equal(f.twin.vehicle('v1')?.socClass, 'critical');
  });

  it('makes a priority vehicle critical and back (vehicle-upsert, and the deprecated setVehicleProfile)', () => {
    const f = new Feed();
    f.vehicle('v1', 80, T0);
    const c = f.twin.operate(
      { op: 'vehicle-upsert', vehicle_id: 'v1', priority: true, model: 'Van', battery_capacity_kwh: 90 },
      'ann',
      T0 + 1,
    ).changes;
    assert.deepEqual(types(c), ['vehicle-upserted', 'soc-class', 'operator-action']);
    assert.equal(ofType(c, 'soc-class')[0]?.to, 'critical');
    assert.equal(f.twin.vehicle('v1')?.model, 'Van');
    const off = f.twin.setVehicleProfile('v1', { priority: false }, T0 + 2);
    assert.equal(ofType(off, 'soc-class')[0]?.to, 'normal');
    assert.deepEqual(
      types(f.twin.setVehicleProfile('v1', { priority: false }, T0 + 3)),
      ['operator-action'],
      'no change: the audit record only',
    );
  });

  it('registers an unknown vehicle with its profile in one upsert', () => {
    const t = new Twin();
    const c = t.setVehicleProfile('v9', { manufacturer: 'ACME', driver: 'Ann' }, T0);
    assert.deepEqual(types(c), ['vehicle-upserted', 'operator-action']);
    const up = ofType(c, 'vehicle-upserted')[0];
    assert.equal(up?.created, true);
    assert.equal(up?.vehicle.manufacturer, 'ACME');
    assert.equal(t.vehicle('v9')?.driver, 'Ann');
  });

  it('rejects an invalid profile without changing anything', () => {
    const t = new Twin();
    const before = t.snapshot();
    assert.throws(() => t.setVehicleProfile('v1', { batteryKwh: -3, model: 'X' }, T0), TwinInputError);
    assert.throws(() => t.setVehicleProfile('', { model: 'X' }, T0), TwinInputError);
    assert.deepEqual(t.snapshot(), before);
  });

  it('ignores an older SoC report after a newer one (no roll back)', () => {
    const f = new Feed();
    f.vehicle('v1', 60, T0 + 5000);
    const c = f.vehicle('v1', 30, T0 + 1000);
    assert.deepEqual(c, []);
    assert.equal(f.twin.vehicle('v1')?.soc, 60);
    f.request('hub_01', 'node_01', 'v1', 10, T0); // rejected anyway (unknown node)
    assert.equal(f.twin.vehicle('v1')?.soc, 60);
  });

  it('estimates SoC between reports from delivered energy and the battery capacity', () => {
    const f = new Feed(new Twin({ socEstimateStep: 0.5 }));
    f.site('hub_01', 1, T0);
    f.twin.setVehicleProfile('v1', { batteryKwh: 50 }, T0);
    f.vehicle('v1', 50, T0);
    f.nodeStatus('hub_01', 'node_01', 'charging', 'v1', T0 + 100);
    // 60 kW constant for 60 s (samples every 2 s) = 1 kWh = 2 points of a 50 kWh battery.
    for (let t = T0 + 1000; t <= T0 + 61_000; t += 2000) f.telemetry('hub_01', 'node_01', 60, 'v1', 50, t);
    const est = ofType(f.twin.tick(T0 + 61_500), 'soc');
    assert.equal(est.length, 1);
    assert.equal(est[0]?.source, 'estimate');
    assert.equal(est[0]?.value, 52);
    assert.equal(est[0]?.nodeId, 'node_01');
    assert.equal(f.twin.vehicle('v1')?.soc, 52);
    assert.equal(f.twin.vehicle('v1')?.socReported, 50);
    assert.deepEqual(ofType(f.twin.tick(T0 + 62_000), 'soc'), [], 'no new estimate without new energy');
    // The node keeps repeating its stale value: the estimate is not rolled back.
    f.telemetry('hub_01', 'node_01', 60, 'v1', 50, T0 + 63_000);
    assert.equal(f.twin.vehicle('v1')?.soc, 52);
    // A new report replaces the estimate.
    const c = f.vehicle('v1', 53, T0 + 64_000);
    assert.deepEqual(ofType(c, 'soc')[0]?.source, 'vehicle');
    assert.equal(f.twin.vehicle('v1')?.soc, 53);
    assert.equal(f.twin.vehicle('v1')?.energySinceReportKwh, 0);
  });

  it('uses the default battery capacity (60 kWh) when unknown', () => {
    const f = new Feed();
    f.site('hub_01', 1, T0);
    f.vehicle('v1', 10, T0);
    f.nodeStatus('hub_01', 'node_01', 'charging', 'v1', T0);
    // 72 kW for 100 s = 2 kWh → 10 + 2/60*100 = 13.33
    for (let t = T0; t <= T0 + 100_000; t += 2000) f.telemetry('hub_01', 'node_01', 72, 'v1', 10, t);
    f.twin.tick(T0 + 100_500);
    assert.equal(f.twin.vehicle('v1')?.soc, 13.33);
  });
});

describe('core/twin: requests and assignment', () => {
  it('assigns a vehicle to a free node and clears the assignment when charging starts', () => {
    const f = new Feed();
    f.site('hub_01', 2, T0);
    const c = f.request('hub_01', 'node_01', 'v1', 15, T0 + 1000);
    assert.deepEqual(types(c), ['vehicle-upserted', 'node-assigned', 'soc', 'soc-class']);
    assert.equal(f.twin.node('hub_01', 'node_01')?.assignedVehicleId, 'v1');
    assert.equal(f.twin.node('hub_01', 'node_01')?.vehicleId, 'v1');
    assert.equal(f.twin.vehicle('v1')?.socClass, 'critical');
    assert.deepEqual(f.request('hub_01', 'node_01', 'v1', 15, T0 + 1000), [], 'QoS 1 duplicate');
    const s = f.nodeStatus('hub_01', 'node_01', 'charging', 'v1', T0 + 2000);
    const cleared = ofType(s, 'node-assignment-cleared')[0];
    assert.equal(cleared?.reason, 'charging');
    assert.equal(f.twin.node('hub_01', 'node_01')?.assignedVehicleId, null);
  });

  it('rejects requests for unknown, faulted, maintenance, busy nodes and unavailable hubs, changing nothing', () => {
    const f = new Feed();
    f.site('hub_01', 4, T0);
    f.nodeStatus('hub_01', 'node_02', 'faulted', null, T0 + 1);
    f.twin.setNodeMaintenance('hub_01', 'node_03', true, T0 + 1);
    f.nodeStatus('hub_01', 'node_04', 'charging', 'v_other', T0 + 1);
    const before = f.twin.snapshot();
    const cases: [string, string, string][] = [
      ['hub_01', 'node_09', 'unknown-node'],
      ['hub_zz', 'node_01', 'unknown-node'],
      ['hub_01', 'node_02', 'node-faulted'],
      ['hub_01', 'node_03', 'node-maintenance'],
      ['hub_01', 'node_04', 'node-busy'],
    ];
    for (const [hub, node, reason] of cases) {
      const r = f.twin.assign(hub, node, 'v1', 30, T0 + 10);
      assert.deepEqual(r, { ok: false, reason }, `${hub}/${node}`);
      const c = f.request(hub, node, 'v1', 30, T0 + 10);
      assert.deepEqual(types(c), ['request-rejected']);
      assert.equal(ofType(c, 'request-rejected')[0]?.reason, reason);
    }
    assert.deepEqual(f.twin.assign('hub_01', 'node_01', 'v1', 130, T0 + 10), {
      ok: false,
      reason: 'invalid-input',
    });
    assert.deepEqual(f.twin.snapshot(), before);
    f.hubStatus('hub_01', 'offline', T0 + 20);
    assert.deepEqual(f.twin.assign('hub_01', 'node_01', 'v1', 30, T0 + 30), {
      ok: false,
      reason: 'hub-unavailable',
    });
    assert.equal(f.twin.checkAssign('hub_01', 'node_01', 'v1', T0 + 30), 'hub-unavailable');
  });

  it('keeps a request for a hub not heard from lately (it waited in the broker while we were away); the REST check refuses it', () => {
    const f = new Feed();
    f.site('hub_01', 2, T0);
    f.twin.tick(T0 + 60_000);
    assert.equal(f.twin.hub('hub_01')?.available, false, 'stale');
    assert.equal(f.twin.checkAssign('hub_01', 'node_01', 'v1', T0 + 60_000), 'hub-unavailable');
    const c = f.request('hub_01', 'node_01', 'v1', 30, T0 + 60_000);
    assert.deepEqual(types(c).includes('node-assigned'), true, JSON.stringify(c));
    assert.equal(f.twin.node('hub_01', 'node_01')?.assignedVehicleId, 'v1');
  });

  it('rejects a second vehicle on a freshly assigned node, and frees it after assignmentTimeoutS', () => {
    const f = new Feed(new Twin({ assignmentTimeoutS: 120, staleAfterS: 1000 }));
    f.site('hub_01', 1, T0);
    assert.equal(f.twin.assign('hub_01', 'node_01', 'v1', null, T0).ok, true);
    assert.deepEqual(f.twin.assign('hub_01', 'node_01', 'v2', null, T0 + 1000), {
      ok: false,
      reason: 'node-busy',
    });
    const c = f.twin.tick(T0 + 121_000);
    assert.deepEqual(
      ofType(c, 'node-assignment-cleared').map((x) => [x.vehicleId, x.reason]),
      [['v1', 'timeout']],
    );
    assert.equal(f.twin.assign('hub_01', 'node_01', 'v2', null, T0 + 122_000).ok, true);
  });
});

describe('core/twin: duplicates, order and invalid input', () => {
  it('ignores QoS 1 duplicates', () => {
    const f = new Feed();
    f.site('hub_01', 1, T0);
    const a = f.nodeStatus('hub_01', 'node_01', 'charging', 'v1', T0 + 1000);
    assert.ok(a.length > 0);
    assert.deepEqual(f.nodeStatus('hub_01', 'node_01', 'charging', 'v1', T0 + 1000), []);
    const t1 = f.telemetry('hub_01', 'node_01', 40, 'v1', 30, T0 + 2000);
    assert.ok(t1.length > 0);
    assert.deepEqual(f.telemetry('hub_01', 'node_01', 40, 'v1', 30, T0 + 2000), []);
    assert.deepEqual(f.hubInfo('hub_01', T0), []);
    assert.deepEqual(f.hubStatus('hub_01', 'online', T0), []);
    assert.deepEqual(f.vehicle('v1', 30, T0 + 3000).length > 0, true);
    assert.deepEqual(f.vehicle('v1', 30, T0 + 3000), []);
  });

  it('does not roll state back on out-of-order messages', () => {
    const f = new Feed();
    f.site('hub_01', 1, T0);
    f.nodeStatus('hub_01', 'node_01', 'faulted', null, T0 + 5000);
    assert.deepEqual(f.nodeStatus('hub_01', 'node_01', 'idle', null, T0 + 4000), []);
    assert.equal(f.twin.node('hub_01', 'node_01')?.state, 'faulted');
    f.telemetry('hub_01', 'node_01', 30, null, 0, T0 + 5000);
    assert.deepEqual(f.telemetry('hub_01', 'node_01', 99, null, 0, T0 + 3000), []);
    assert.equal(f.twin.node('hub_01', 'node_01')?.telemetry?.powerKw, 30);
    f.hubStatus('hub_01', 'offline', T0 + 6000);
    f.hubStatus('hub_01', 'online', T0 + 5500);
    assert.equal(f.twin.hub('hub_01')?.state, 'offline');
    f.nodeInfo('hub_01', 'node_01', T0 + 6000, 50);
    f.nodeInfo('hub_01', 'node_01', T0 + 5999, 10);
    assert.equal(f.twin.node('hub_01', 'node_01')?.maxPowerKw, 50);
  });

  it('leaves the twin untouched by a payload decode rejects', () => {
    const f = new Feed();
    f.site('hub_01', 1, T0);
    const before = f.twin.snapshot();
    const bad = decode(
      'iot/hubs/hub_01/nodes/node_01/telemetry',
      '{"voltage":1,"current":1,"power_kw":"lots","power_limit_kw":1,"is_occupied":true}',
      T0,
    );
    assert.equal(bad.ok, false);
    assert.equal(decode('iot/hubs/hub_01/nodes/node_01/status', '{not json', T0).ok, false);
    assert.deepEqual(f.twin.snapshot(), before);
  });

  it("reports DLM events as the hub's, and changes nothing else (not even the hub's freshness)", () => {
    const f = new Feed(new Twin({ staleAfterS: 10 }));
    f.site('hub_01', 1, T0);
    const before = f.twin.snapshot();
    const c = f.send(
      'iot/hubs/hub_01/dlm/events',
      {
        trigger_reason: 'REBALANCE',
        original_limit: 10,
        new_limit: 20,
        affected_node_id: 'node_01',
        total_grid_load: 10,
        available_capacity: 0,
        source: 'wpt-dlm',
        allocation_id: 'a-1',
      },
      T0 + 9000,
    );
    assert.deepEqual(c, [
      {
        type: 'hub-dlm-event',
        ts: T0 + 9000,
        hubId: 'hub_01',
        nodeId: 'node_01',
        reason: 'REBALANCE',
        originalLimitKw: 10,
        newLimitKw: 20,
        totalGridLoadKw: 10,
        availableCapacityKw: 0,
        allocationId: 'a-1',
        claimedSource: 'wpt-dlm',
      },
    ]);
    assert.deepEqual(f.twin.snapshot(), before);
    assert.equal(f.twin.tick(T0 + 10_500).length, 1, 'stale at 10 s after the last hub message');
  });
});

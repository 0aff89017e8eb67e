// DLM through a real broker: Node-RED (test helper) with mqtt in → wpt-hub-registry /
// wpt-soc-tracker / wpt-validate → wpt-dlm-allocator → mqtt out, and a test hub that applies
// the dlm/events it receives in order and echoes its limits in telemetry. At every message
// the hub receives, the limits in force there must sum to ≤ its capacity (after a capacity
// drop: only decreases until they fit again).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { nr } from '../helpers/node-red';
import { DLM_FLOW_NODES, dlmFlow } from '../helpers/dlm-flow';
import { mqttUrl } from '../helpers/services';
import { sleep, until } from '../helpers/wait';
import { formatTimestamp } from '../../core/contract';

const EPS = 1e-6;

interface Event {
  trigger_reason: string;
  original_limit: number;
  new_limit: number;
  affected_node_id: string;
  total_grid_load: number;
  available_capacity: number;
  timestamp: string;
  source?: string;
}

/** A hub as the original devices behave: applies dlm/events in order, echoes limits in telemetry. */
class TestHub {
  readonly limits = new Map<string, number>();
  readonly events: Event[] = [];
  readonly violations: string[] = [];
  maxSumSeen = 0;
  readonly state = new Map<string, { state: string; vehicle: string | null; soc: number; extraKw: number }>();
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    readonly client: MqttClient,
    readonly hubId: string,
    public capacityKw: number,
    readonly nodes: Record<string, number>,
  ) {}

  sum(): number {
    let s = 0;
    for (const v of this.limits.values()) s += v;
    return s;
  }

  onEvent(payload: Buffer): void {
    const e = JSON.parse(payload.toString()) as Event;
    this.events.push(e);
    const before = this.sum();
    this.limits.set(e.affected_node_id, e.new_limit);
    const after = this.sum();
    this.maxSumSeen = Math.max(this.maxSumSeen, after);
    if (after > this.capacityKw + EPS && !(after < before - EPS || Math.abs(after - before) <= EPS)) {
      this.violations.push(
        `${e.trigger_reason} ${e.affected_node_id} ${e.original_limit}→${e.new_limit}: Σ ${before}→${after} > C ${this.capacityKw}`,
      );
    }
  }

  private pub(topic: string, payload: Record<string, unknown>): Promise<unknown> {
    return this.client.publishAsync(
      topic,
      JSON.stringify({ ...payload, timestamp: formatTimestamp(Date.now()) }),
      {
        qos: 1,
      },
    );
  }

  async info(capacityKw: number): Promise<void> {
    this.capacityKw = Math.min(this.capacityKw, capacityKw); // a drop counts from the moment it is announced
    await this.pub(`iot/hubs/${this.hubId}/info`, {
      hub_id: this.hubId,
      location: { latitude: 44.6469, longitude: 10.9252, altitude: 50 },
      max_grid_capacity_kw: capacityKw,
      ip_address: '10.0.0.7',
      firmware_version: '1.0.0',
    });
    this.capacityKw = capacityKw;
  }

  async start(): Promise<void> {
    await this.info(this.capacityKw);
    await this.pub(`iot/hubs/${this.hubId}/status`, { state: 'online', cpu_temp: 41.5 });
    for (const [nodeId, max] of Object.entries(this.nodes)) {
      this.state.set(nodeId, { state: 'idle', vehicle: null, soc: 0, extraKw: 0 });
      await this.pub(`iot/hubs/${this.hubId}/nodes/${nodeId}/info`, {
        node_id: nodeId,
        hub_id: this.hubId,
        name: null,
        max_power_kw: max,
      });
      await this.nodeStatus(nodeId, 'idle', null);
    }
    this.timer = setInterval(() => void this.telemetry(), 150);
  }

  async nodeStatus(nodeId: string, state: string, vehicle: string | null, soc = 0): Promise<void> {
    this.state.set(nodeId, { state, vehicle, soc, extraKw: this.state.get(nodeId)?.extraKw ?? 0 });
    await this.pub(`iot/hubs/${this.hubId}/nodes/${nodeId}/status`, {
      state,
      current_vehicle_id: vehicle,
      error_code: state === 'faulted' ? 42 : 0,
    });
  }

  async request(vehicleId: string, nodeId: string, soc: number): Promise<void> {
    await this.pub(`iot/hubs/${this.hubId}/requests`, {
      vehicle_id: vehicleId,
      node_id: nodeId,
      soc_percent: soc,
    });
  }

  async vehicleSoc(vehicleId: string, soc: number): Promise<void> {
    for (const s of this.state.values()) if (s.vehicle === vehicleId) s.soc = soc; // the pad reports it too
    await this.pub(`iot/vehicles/${vehicleId}/telemetry`, {
      geo_location: { latitude: 44.6469, longitude: 10.9252, altitude: 50 },
      battery_level: soc,
      speed_kmh: 0,
      is_charging: true,
    });
  }

  overload(nodeId: string, extraKw: number): void {
    const s = this.state.get(nodeId);
    if (s) s.extraKw = extraKw;
  }

  async telemetry(): Promise<void> {
    for (const [nodeId, s] of this.state) {
      const limit = this.limits.get(nodeId) ?? 0;
      const power = (s.state === 'charging' ? limit : 0) + s.extraKw;
      await this.pub(`iot/hubs/${this.hubId}/nodes/${nodeId}/telemetry`, {
        voltage: 400,
        current: (power * 1000) / 400,
        power_kw: power,
        power_limit_kw: limit,
        is_occupied: s.vehicle !== null,
        connected_vehicle_id: s.vehicle ?? 'n/a',
        current_vehicle_soc: s.vehicle ? s.soc : 0,
      }).catch(() => undefined);
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

describe('integration: DLM through the broker', function () {
  this.timeout(60_000);
  let client: MqttClient | undefined;
  let hub: TestHub | undefined;

  before(() => nr.startServer());
  after(async () => {
    hub?.stop();
    await client?.endAsync();
    await nr.unload();
    await nr.stopServer();
  });

  it('keeps the limits in force at the hub within its capacity across arrivals, departures, SoC changes, a capacity drop, a fault and an overload', async () => {
    const url = await mqttUrl();
    const hubId = `hub_it_${crypto.randomBytes(3).toString('hex')}`;
    await nr.load(
      DLM_FLOW_NODES,
      dlmFlow({
        brokerUrl: url,
        hub: hubId,
        allocator: { minChangeKw: 0.5, resendS: 1, rebalanceS: 1, coalesceMs: 20 },
        rejects: 'rej',
      }),
    );
    const rejected: Array<Record<string, unknown>> = [];
    nr.getNode('rej').on('input', (m) => rejected.push(m));

    client = await mqtt.connectAsync(url, { clientId: `wpt-dlm-it-${process.pid}`, clean: true });
    hub = new TestHub(client, hubId, 100, { node_01: 50, node_02: 50, node_03: 50, node_04: 50 });
    const h = hub;
    client.on('message', (topic, payload) => {
      if (topic === `iot/hubs/${hubId}/dlm/events`) h.onEvent(payload);
    });
    await client.subscribeAsync(`iot/hubs/${hubId}/dlm/events`, { qos: 1 });
    // Let Node-RED's mqtt nodes connect and subscribe before the hub talks.
    await until(
      () => {
        const b = nr.getNode('b1') as unknown as { connected?: boolean };
        return b.connected === true;
      },
      8000,
      'Node-RED subscribed',
    );
    await sleep(300);
    await h.start();
    const fleet = nr.getNode('f1') as unknown as { twin: { nodesOf(id: string): unknown[] } };
    await until(() => fleet.twin.nodesOf(hubId).length === 4, 8000, 'twin knows the hub');

    const limit = (n: string) => h.limits.get(n) ?? 0;
    const reasons = () => new Set(h.events.map((e) => e.trigger_reason));

    // Arrivals: a request, then the node starts charging.
    await h.request('veh_a', 'node_01', 30);
    await h.nodeStatus('node_01', 'charging', 'veh_a', 30);
    await until(() => limit('node_01') === 50, 8000, 'node_01 at 50');
    await h.request('veh_b', 'node_02', 60);
    await h.nodeStatus('node_02', 'charging', 'veh_b', 60);
    await h.request('veh_c', 'node_03', 10); // critical: below 20 %
    await h.nodeStatus('node_03', 'charging', 'veh_c', 10);
    await until(
      () => limit('node_03') === 50 && Math.abs(h.sum() - 100) < 0.01,
      8000,
      'critical node_03 served fully, total at C',
    );
    assert.ok(limit('node_01') > limit('node_02'), 'soc-priority: 30 % gets more than 60 %');

    // A busy node and an unknown node are refused.
    await h.request('veh_x', 'node_03', 50);
    await h.request('veh_x', 'node_99', 50);
    await until(() => rejected.length === 2, 8000, 'two rejects');

    // SoC change: veh_b becomes critical (priority shift).
    await h.vehicleSoc('veh_b', 12);
    await until(() => reasons().has('PRIORITY_SHIFT'), 8000, 'PRIORITY_SHIFT');
    await until(() => limit('node_02') === 50 && limit('node_03') === 50, 8000, 'node_02 served as critical');

    // Departure: node_03's vehicle leaves; node_01 (0 while two critical vehicles charged) gets power.
    await h.nodeStatus('node_03', 'idle', null);
    await until(() => limit('node_03') === 0 && limit('node_01') === 50, 8000, 'node_03 to 0, node_01 up');

    // Capacity drop 100 → 60: the critical node_02 keeps 50, node_01 gets what is left.
    await h.info(60);
    await until(
      () => h.sum() <= 60 + EPS && reasons().has('CAPACITY_CHANGED'),
      8000,
      'within the new capacity',
    );
    await until(
      () => limit('node_02') === 50 && Math.abs(limit('node_01') - 10) < 0.01,
      8000,
      'critical first',
      { detail: () => JSON.stringify([...h.limits]) + JSON.stringify(h.events.slice(-4)) },
    );

    // A faulted node.
    await h.nodeStatus('node_02', 'faulted', null);
    await until(() => limit('node_02') === 0 && reasons().has('NODE_FAULT'), 8000, 'node_02 to 0');
    await until(() => limit('node_01') === 50, 8000, 'node_01 gets the freed capacity');

    // Overload: node_04 (never given a limit) draws 30 kW: 50 + 30 > 60.
    assert.ok(!reasons().has('GRID_OVERLOAD'), 'no overload from telemetry lagging behind the decreases');
    h.overload('node_04', 30);
    await until(() => reasons().has('GRID_OVERLOAD'), 8000, 'GRID_OVERLOAD');
    const overload = h.events.find((e) => e.trigger_reason === 'GRID_OVERLOAD');
    assert.equal(overload?.affected_node_id, 'node_04');
    assert.equal(overload?.new_limit, 0);
    h.overload('node_04', 0);

    // A second arrival while node_01 charges, then let rebalances run.
    await h.request('veh_d', 'node_03', 70);
    await h.nodeStatus('node_03', 'charging', 'veh_d', 70);
    await until(() => limit('node_03') > 0, 8000, 'node_03 charging again');
    await sleep(1500);

    assert.deepEqual(h.violations, []);
    assert.ok(h.sum() <= h.capacityKw + EPS);
    for (const r of [
      'VEHICLE_CONNECTED',
      'VEHICLE_DISCONNECTED',
      'PRIORITY_SHIFT',
      'CAPACITY_CHANGED',
      'NODE_FAULT',
      'GRID_OVERLOAD',
    ]) {
      assert.ok(reasons().has(r), `saw ${r}`);
    }
    assert.ok(h.events.every((e) => e.source === 'wpt-dlm'));
    assert.ok(h.events.length >= 10, `events: ${h.events.length}`);
  });
});

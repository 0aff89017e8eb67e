// The DLM through a real broker (an embedded one, see helpers/services.ts), Node-RED with the
// DLM path of the shipped flows (helpers/dlm-flow.ts), and test hubs that are MQTT clients of
// their own: each applies the dlm/events it receives, in the order it receives them, at its
// own resolution (0.001 kW, rounding what it gets), and echoes the limit it applied in node
// telemetry 5 ms later. Requests come from another client (the app).
//
// (a) Issue 12's scenario: 3 × 78 kW pads on 140 kW, pads 1 and 2 charging, vehicles asking
//     for pad 3 one after another. Each request's pad gets its limit on the echo of the
//     decreases it needs — one confirmation round trip: the hub sends no telemetry but its
//     echoes, so nothing else could have released it — and Σ at the hub reaches 140 kW; when
//     the vehicle leaves, the freed capacity goes back on the echo of pad 3's 0.
// (b) Issue 9's scenario: the hub's connection drops for 2 s (clean session) during a
//     reallocation, pads drawing 60 % and 97 % of their limit: the hub, applying the events
//     in the order it receives them, never sees Σ above its capacity; the lost decrease is
//     re-sent and the waiting increase goes once the hub reports it.
// Order and reasons are asserted, never wall-clock times.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { nr } from '../helpers/node-red';
import { DLM_FLOW_NODES, dlmFlow } from '../helpers/dlm-flow';
import { mqttUrl } from '../helpers/services';
import { sleep, until } from '../helpers/wait';
import { formatTimestamp } from '../../core/contract';

interface Event {
  trigger_reason: string;
  original_limit: number;
  new_limit: number;
  affected_node_id: string;
  allocation_id?: string;
}

interface Seen {
  e: Event;
  /** Echoes the hub had sent when it received the event. */
  echoes: number;
  /** Σ applied at the hub right after it (kW). */
  sumKw: number;
}

const milli = (kw: number) => Math.round(kw * 1000);

/** A hub that applies what it receives, in order, and echoes each applied limit 5 ms later. */
class EchoHub {
  client: MqttClient | null = null;
  readonly limits = new Map<string, number>();
  readonly seen: Seen[] = [];
  readonly violations: string[] = [];
  echoes = 0;
  /** Echoes scheduled and not yet sent. */
  pending = 0;
  readonly state = new Map<string, { state: string; vehicle: string | null; soc: number }>();
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    readonly url: string,
    readonly hubId: string,
    readonly capacityKw: number,
    readonly nodes: Record<string, number>,
    /** Power drawn while charging, as a share of the limit. */
    readonly draw = 1,
  ) {}

  sum(): number {
    let s = 0;
    for (const v of this.limits.values()) s += milli(v);
    return s / 1000;
  }

  async connect(): Promise<void> {
    const c = await mqtt.connectAsync(this.url, {
      clientId: `hub-${this.hubId}-${crypto.randomBytes(3).toString('hex')}`,
      clean: true,
      reconnectPeriod: 0,
    });
    c.on('message', (topic, payload) => {
      if (topic === `iot/hubs/${this.hubId}/dlm/events`) this.apply(JSON.parse(payload.toString()) as Event);
    });
    await c.subscribeAsync(`iot/hubs/${this.hubId}/dlm/events`, { qos: 1 });
    this.client = c;
  }

  /** The connection drops (no last will): what is published meanwhile is lost (clean session). */
  async drop(): Promise<void> {
    const c = this.client;
    this.client = null;
    await c?.endAsync(true);
  }

  private apply(e: Event): void {
    const kw = Math.round(e.new_limit * 1000) / 1000; // the hub's own resolution
    this.limits.set(e.affected_node_id, kw);
    const sumKw = this.sum();
    this.seen.push({ e, echoes: this.echoes, sumKw });
    if (milli(sumKw) > milli(this.capacityKw))
      this.violations.push(
        `${e.trigger_reason} ${e.affected_node_id} → ${kw}: Σ ${sumKw} > ${this.capacityKw}`,
      );
    this.pending += 1;
    setTimeout(() => {
      this.pending -= 1;
      void this.telemetry(e.affected_node_id, true);
    }, 5);
  }

  private async pub(topic: string, payload: Record<string, unknown>): Promise<void> {
    await this.client
      ?.publishAsync(topic, JSON.stringify({ ...payload, timestamp: formatTimestamp(Date.now()) }), {
        qos: 1,
      })
      .catch(() => undefined);
  }

  async start(): Promise<void> {
    await this.pub(`iot/hubs/${this.hubId}/info`, {
      hub_id: this.hubId,
      location: { latitude: 44.6469, longitude: 10.9252, altitude: 50 },
      max_grid_capacity_kw: this.capacityKw,
      ip_address: '10.0.0.7',
      firmware_version: '1.0.0',
    });
    await this.pub(`iot/hubs/${this.hubId}/status`, { state: 'online', cpu_temp: 41.5 });
    for (const [nodeId, max] of Object.entries(this.nodes)) {
      await this.pub(`iot/hubs/${this.hubId}/nodes/${nodeId}/info`, {
        node_id: nodeId,
        hub_id: this.hubId,
        max_power_kw: max,
      });
      await this.nodeStatus(nodeId, 'idle', null);
    }
  }

  async nodeStatus(nodeId: string, state: string, vehicle: string | null, soc = 0): Promise<void> {
    this.state.set(nodeId, { state, vehicle, soc });
    await this.pub(`iot/hubs/${this.hubId}/nodes/${nodeId}/status`, {
      state,
      current_vehicle_id: vehicle,
      error_code: 0,
    });
  }

  async telemetry(nodeId: string, echo = false): Promise<void> {
    if (!this.client) return;
    if (echo) this.echoes += 1;
    const s = this.state.get(nodeId);
    const limit = this.limits.get(nodeId) ?? 0;
    const power = s?.state === 'charging' ? Math.round(limit * this.draw * 100) / 100 : 0;
    await this.pub(`iot/hubs/${this.hubId}/nodes/${nodeId}/telemetry`, {
      voltage: 400,
      current: (power * 1000) / 400,
      power_kw: power,
      power_limit_kw: limit,
      is_occupied: s?.vehicle !== null && s?.vehicle !== undefined,
      connected_vehicle_id: s?.vehicle ?? 'n/a',
      current_vehicle_soc: s?.vehicle ? s.soc : 0,
    });
  }

  /** Telemetry of every node every `ms` (a hub's regular reports). */
  every(ms: number): void {
    this.timer = setInterval(() => {
      for (const n of Object.keys(this.nodes)) void this.telemetry(n);
    }, ms);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.drop();
  }
}

describe('integration: DLM through the broker — echoes, drops', function () {
  this.timeout(120_000);
  let app: MqttClient | undefined;
  const hubs: EchoHub[] = [];
  const published = new Map<string, Event[]>();
  let url = '';

  const request = (hubId: string, nodeId: string, vehicleId: string, soc: number) =>
    app?.publishAsync(
      `iot/hubs/${hubId}/requests`,
      JSON.stringify({
        vehicle_id: vehicleId,
        node_id: nodeId,
        soc_percent: soc,
        timestamp: formatTimestamp(Date.now()),
      }),
      { qos: 1 },
    );
  const vehicleSoc = (vehicleId: string, soc: number) =>
    app?.publishAsync(
      `iot/vehicles/${vehicleId}/telemetry`,
      JSON.stringify({
        geo_location: { latitude: 44.6469, longitude: 10.9252 },
        battery_level: soc,
        is_charging: true,
        timestamp: formatTimestamp(Date.now()),
      }),
      { qos: 1 },
    );

  before(async () => {
    await nr.startServer();
    url = await mqttUrl();
    await nr.load(
      DLM_FLOW_NODES,
      dlmFlow({ brokerUrl: url, hub: '+', allocator: { resendS: 1, resendMaxS: 4 } }),
    );
    await until(
      () => (nr.getNode('b1') as unknown as { connected?: boolean }).connected === true,
      8000,
      'Node-RED connected',
    );
    await sleep(300); // its subscriptions
    app = await mqtt.connectAsync(url, { clientId: `wpt-app-${process.pid}`, clean: true });
    // An observer of everything published, in publish order (not what a hub receives).
    app.on('message', (topic, payload) => {
      const hubId = topic.split('/')[2] as string;
      published.set(hubId, [...(published.get(hubId) ?? []), JSON.parse(payload.toString()) as Event]);
    });
    await app.subscribeAsync('iot/hubs/+/dlm/events', { qos: 1 });
  });
  after(async () => {
    for (const h of hubs) await h.stop();
    await app?.endAsync();
    await nr.unload();
    await nr.stopServer();
  });

  async function startHub(capacityKw: number, nodes: Record<string, number>, draw = 1): Promise<EchoHub> {
    const h = new EchoHub(url, `hub_${crypto.randomBytes(3).toString('hex')}`, capacityKw, nodes, draw);
    hubs.push(h);
    await h.connect();
    await h.start();
    const fleet = nr.getNode('f1') as unknown as { twin: { nodesOf(id: string): unknown[] } };
    await until(
      () => fleet.twin.nodesOf(h.hubId).length === Object.keys(nodes).length,
      8000,
      'the twin knows the hub',
    );
    return h;
  }

  it('(a) 3 × 78 kW on 140 kW: each request for pad 3 gets its limit on the echo of the decreases, Σ at C; freed capacity back on the next echo', async () => {
    const h = await startHub(140, { p1: 78, p2: 78, p3: 78 });
    await vehicleSoc('v1', 35);
    await vehicleSoc('v2', 55);
    await h.nodeStatus('p1', 'charging', 'v1', 35);
    await h.nodeStatus('p2', 'charging', 'v2', 55);
    await until(() => milli(h.sum()) === 140_000, 10_000, 'pads 1 and 2 at 140 kW', {
      detail: () => [...h.limits],
    });
    for (let k = 1; k <= 8; k++) {
      await until(() => h.pending === 0, 5000, 'echoes sent');
      await sleep(50); // and taken in by Node-RED
      const from = h.seen.length;
      const echoesBefore = h.echoes;
      const soc = 10 + ((k * 37) % 80);
      await request(h.hubId, 'p3', `r${k}`, soc);
      await until(
        () => h.seen.slice(from).some((s) => s.e.affected_node_id === 'p3' && s.e.new_limit > 0),
        10_000,
        `request ${k}: pad 3's limit`,
      );
      const got = h.seen.slice(from);
      const i = got.findIndex((s) => s.e.affected_node_id === 'p3' && s.e.new_limit > 0);
      const decreases = got.slice(0, i);
      const mine = got[i] as Seen;
      assert.ok(
        decreases.length >= 1 && decreases.length <= 2,
        `request ${k}: ${JSON.stringify(got.map((s) => s.e))}`,
      );
      for (const d of decreases) {
        assert.equal(d.e.trigger_reason, 'VEHICLE_CONNECTED');
        assert.ok(d.e.new_limit < d.e.original_limit, 'decreases first');
      }
      assert.equal(
        mine.e.trigger_reason,
        'VEHICLE_CONNECTED',
        `request ${k}: released for the request, not by a REBALANCE`,
      );
      assert.equal(
        mine.echoes - echoesBefore,
        decreases.length,
        `request ${k}: on the echo of the decreases, one round trip`,
      );
      assert.equal(milli(mine.sumKw), 140_000, `request ${k}: Σ at the hub at C once confirmed`);
      // The vehicle charges a moment, then leaves: pad 3 to 0, then pads 1 and 2 back up on its echo.
      await h.nodeStatus('p3', 'charging', `r${k}`, soc);
      await sleep(150);
      await until(() => h.pending === 0, 5000, 'echoes sent');
      const left = h.seen.length;
      const echoesAtLeave = h.echoes;
      await h.nodeStatus('p3', 'idle', null);
      await until(
        () => milli(h.sum()) === 140_000 && (h.limits.get('p3') ?? 0) === 0,
        10_000,
        `request ${k}: capacity back to pads 1 and 2`,
        { detail: () => [...h.limits] },
      );
      const after = h.seen.slice(left);
      assert.equal(after[0]?.e.affected_node_id, 'p3');
      assert.equal(after[0]?.e.new_limit, 0);
      const ups = after.slice(1);
      for (const s of ups) {
        assert.equal(s.e.trigger_reason, 'VEHICLE_DISCONNECTED');
        assert.ok(s.e.new_limit > s.e.original_limit);
      }
      // Released by the echo of pad 3's 0 (the hub sent nothing else): the first increase
      // reaches the hub after that one echo, and the others leave with it, in the same pass
      // (the hub may echo the first before the next arrives: not a second round trip).
      assert.equal(ups[0]!.echoes - echoesAtLeave, 1, `request ${k}: on the echo of pad 3's 0`);
      assert.deepEqual(
        ups.map((s) => s.e.allocation_id),
        ups.map(() => ups[0]!.e.allocation_id),
        `request ${k}: the increases in one pass`,
      );
      await sleep(100);
    }
    assert.deepEqual(h.violations, []);
  });

  for (const draw of [0.6, 0.97]) {
    it(`(b) the hub's connection drops 2 s during a reallocation (pads drawing ${draw * 100} %): Σ never above C at the hub`, async () => {
      const h = await startHub(100, { p1: 78, p2: 78 }, draw);
      h.every(500);
      await vehicleSoc(`${h.hubId}_v1`, 50);
      await h.nodeStatus('p1', 'charging', `${h.hubId}_v1`, 50);
      await until(() => h.limits.get('p1') === 78, 10_000, 'pad 1 at 78');
      await sleep(300); // echoed and reported
      await h.drop();
      await request(h.hubId, 'p2', `${h.hubId}_v2`, 50); // p1 78 → 50 goes out while the hub is away: lost
      await sleep(2000);
      await h.connect();
      await h.nodeStatus('p2', 'charging', `${h.hubId}_v2`, 50);
      await until(
        () => h.limits.get('p1') === 50 && h.limits.get('p2') === 50,
        20_000,
        'p1 told again, then p2 its share',
        { detail: () => ({ limits: [...h.limits], seen: h.seen.map((s) => s.e) }) },
      );
      await sleep(500);
      assert.deepEqual(h.violations, [], 'the hub never above its capacity');
      const order = h.seen.map((s) => [s.e.affected_node_id, s.e.new_limit]);
      const p2 = order.findIndex(([n, kw]) => n === 'p2' && (kw as number) > 0);
      const p1 = order.findIndex(([n, kw]) => n === 'p1' && kw === 50);
      assert.ok(
        p1 >= 0 && p1 < p2,
        `the hub got p1's decrease (re-sent) before p2's increase: ${JSON.stringify(order)}`,
      );
      // What went out: p1's decrease (lost), re-sent as the same command, p2's increase last.
      const out = (published.get(h.hubId) ?? []).filter((e) => e.trigger_reason !== 'RESYNC');
      const decreases = out.filter((e) => e.affected_node_id === 'p1' && e.new_limit === 50);
      assert.ok(decreases.length >= 2, `re-sent: ${JSON.stringify(out)}`);
      assert.equal(new Set(decreases.map((e) => e.allocation_id)).size, 1, 'the same command');
      assert.equal(
        out.findIndex((e) => e.affected_node_id === 'p2'),
        out.length - 1,
      );
      assert.equal(milli(h.sum()), 100_000);
    });
  }
});

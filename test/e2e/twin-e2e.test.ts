// The twin end to end: the real runtime (`node dist/runtime/cli.js`, shipped flows), a real
// broker and PostgreSQL. Replay of the capture, duplicates, a restart in the middle of a
// session, PostgreSQL cut and restored mid-stream (through a TCP proxy), and bad input.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import pg from 'pg';
import { startRuntime, readCapture, makeUserDir, type RuntimeHandle } from '../helpers/runtime';
import { createTestDatabase, mqttUrl } from '../helpers/services';
import { freePort } from '../../runtime/free-port';
import { decode } from '../../core/contract';
import { Twin, type SessionView } from '../../core/twin';
import { trapezoidKwh } from '../../core/soc';

type IngestSnapshot = {
  totals: { accepted: number; rejected: number };
  byKind: Record<string, { accepted: number; rejected: number; lastError?: { message: string } }>;
};
type Row = Record<string, unknown>;

async function ingest(rt: RuntimeHandle): Promise<IngestSnapshot> {
  const r = await fetch(`${rt.url}/api/ingest`, { headers: { Authorization: `Bearer ${rt.apiToken}` } });
  assert.equal(r.status, 200);
  return (await r.json()) as IngestSnapshot;
}

async function until<T>(
  fn: () => Promise<T>,
  ok: (v: T) => boolean,
  ms = 20000,
  what = 'condition',
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined && ok(v)) return v;
    if (Date.now() > end) throw new Error(`${what} not met within ${ms} ms; last: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Counts without DLM events: the runtime's own allocator publishes DLM events on the bus, and
 * the shipped flow hears (and counts) them too.
 */
function counted(s: IngestSnapshot): { accepted: number; rejected: number } {
  const d = s.byKind.dlmEvent;
  return {
    accepted: s.totals.accepted - (d?.accepted ?? 0),
    rejected: s.totals.rejected - (d?.rejected ?? 0),
  };
}

/**
 * Waits until the runtime's subscriptions are in place: a broken message on a telemetry topic
 * is counted as rejected. Returns the counters after the probe.
 */
async function subscribed(rt: RuntimeHandle, client: MqttClient): Promise<IngestSnapshot> {
  const start = (await ingest(rt)).totals.rejected;
  const end = Date.now() + 20000;
  for (;;) {
    await client.publishAsync('iot/hubs/probe/nodes/probe/telemetry', '{probe', { qos: 1 });
    await new Promise((r) => setTimeout(r, 200));
    const s = await ingest(rt);
    if (s.totals.rejected > start) return s;
    if (Date.now() > end) throw new Error('the runtime did not subscribe in time');
  }
}

const query = async (db: pg.Client, sql: string, params: unknown[] = []): Promise<Row[]> =>
  (await db.query(sql, params)).rows as Row[];

const iso = (ms: number): string => new Date(ms).toISOString();

function telemetry(power: number, vehicle: string | null, ts: number, soc: number | null = null): string {
  return JSON.stringify({
    voltage: 400,
    current: power * 2.5,
    power_kw: power,
    power_limit_kw: 78,
    is_occupied: vehicle !== null,
    connected_vehicle_id: vehicle ?? 'n/a',
    current_vehicle_soc: soc ?? 0,
    timestamp: iso(ts),
  });
}

/** Energy of consecutive samples, by trapezoids (kWh). */
function trapezoids(samples: ReadonlyArray<readonly [number, number]>): number {
  let kwh = 0;
  for (let i = 1; i < samples.length; i++) {
    const [t0, p0] = samples[i - 1]!;
    const [t1, p1] = samples[i]!;
    kwh += trapezoidKwh(p0, p1, t0, t1);
  }
  return kwh;
}

/** The same messages through the core twin: what PostgreSQL must end up holding. */
class Oracle {
  readonly twin = new Twin();
  readonly sessions = new Map<string, SessionView>();
  apply(topic: string, payload: string): void {
    const r = decode(topic, payload, Date.now());
    if (!r.ok) return;
    for (const c of this.twin.apply(r.msg, Date.now())) {
      if (c.type === 'session-opened' || c.type === 'session-updated' || c.type === 'session-closed') {
        this.sessions.set(c.sessionId, c.session);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------

describe('e2e twin: replay, duplicates and bad input through the shipped flows', function () {
  this.timeout(180000);
  let rt: RuntimeHandle;
  let client: MqttClient;
  let db: pg.Client;
  let base: IngestSnapshot;
  const capture = readCapture();
  const oracle = new Oracle();
  for (const m of capture) oracle.apply(m.topic, m.payload);

  before(async () => {
    rt = await startRuntime();
    client = await mqtt.connectAsync(rt.mqttUrl, { clientId: `wpt-twin-e2e-${process.pid}` });
    base = await subscribed(rt, client);
    db = new pg.Client({ connectionString: rt.databaseUrl });
    await db.connect();
  });
  after(async () => {
    await client?.endAsync();
    await db?.end();
    if (rt) {
      await rt.stop();
      fs.rmSync(rt.userDir, { recursive: true, force: true });
    }
  });

  const sessionRows = () =>
    query(
      db,
      `SELECT session_id, hub_id, node_id, vehicle_id, start_time, end_time, energy_kwh, average_power_kw,
              peak_power_kw, start_soc, end_soc, close_reason, last_sample_at
         FROM charging_sessions WHERE hub_id = 'hub_01' ORDER BY session_id`,
    );
  const nodeRows = () =>
    query(
      db,
      `SELECT hub_id, node_id, name, max_power_kw, state, error_code, current_vehicle_id, is_maintenance,
              power_kw, power_limit_kw, last_seen
         FROM nodes WHERE hub_id = 'hub_01' ORDER BY node_id`,
    );

  const hubEvents = capture.filter((m) => m.topic.endsWith('/dlm/events')).length;
  const nonDlm = capture.length - hubEvents;

  it('(a) replays the capture into PostgreSQL: the hub (140 kW), three nodes (78 kW), vehicles, two sessions', async () => {
    for (const m of capture) await client.publishAsync(m.topic, m.payload, { qos: 1 });
    await until(
      () => ingest(rt),
      (s) =>
        counted(s).accepted - counted(base).accepted === nonDlm &&
        (s.byKind.dlmEvent?.accepted ?? 0) - (base.byKind.dlmEvent?.accepted ?? 0) >= hubEvents,
      20000,
      'every capture message accepted',
    );
    const expected = [...oracle.sessions.values()].sort((a, b) => a.sessionId.localeCompare(b.sessionId));
    assert.equal(expected.length, 2);
    const sessions = await until(
      sessionRows,
      (rows) =>
        rows.length === 2 &&
        rows.every(
          (r, i) => r.energy_kwh === expected[i]?.energyKwh && r.session_id === expected[i]?.sessionId,
        ),
      15000,
      'both sessions stored with their energy',
    );
    assert.deepEqual(
      sessions.map((s) => [s.node_id, s.vehicle_id, s.end_time, (s.start_time as Date).getTime()]),
      expected.map((s) => [s.nodeId, s.vehicleId, null, s.startTs]),
    );
    assert.deepEqual(
      sessions.map((s) => s.node_id),
      ['node_01', 'node_02'],
    );
    for (const [i, s] of sessions.entries()) {
      assert.ok((s.energy_kwh as number) > 0);
      assert.equal((s.last_sample_at as Date).getTime(), expected[i]?.lastSampleTs);
      assert.equal(s.peak_power_kw, expected[i]?.peakPowerKw);
    }

    const hubs = await query(db, `SELECT * FROM hubs WHERE hub_id = 'hub_01'`);
    assert.equal(hubs.length, 1);
    assert.equal(hubs[0]?.max_grid_capacity_kw, 140);
    assert.equal(hubs[0]?.state, 'online');
    assert.deepEqual([hubs[0]?.latitude, hubs[0]?.longitude, hubs[0]?.altitude], [44.6469, 10.9252, 50]);

    const nodes = await until(
      nodeRows,
      (rows) => rows.length === 3 && rows.every((n) => n.last_seen !== null),
      10000,
      'three nodes with telemetry',
    );
    assert.deepEqual(
      nodes.map((n) => [n.node_id, n.max_power_kw, n.state, n.current_vehicle_id]),
      [
        ['node_01', 78, 'charging', 'vehicle_01'],
        ['node_02', 78, 'charging', 'vehicle_02'],
        ['node_03', 78, 'idle', null],
      ],
    );
    for (const n of nodes) {
      const tel = oracle.twin.node('hub_01', n.node_id as string)?.telemetry;
      assert.equal(n.power_kw, tel?.powerKw);
      assert.equal((n.last_seen as Date).getTime(), tel?.ts);
    }
    const vehicles = await until(
      () => query(db, `SELECT vehicle_id, soc FROM vehicles ORDER BY vehicle_id`),
      (rows) => rows.length === 2 && rows[0]?.soc === 35,
      10000,
      'vehicles',
    );
    assert.deepEqual(
      vehicles.map((v) => [v.vehicle_id, v.soc]),
      [
        ['vehicle_01', 35],
        ['vehicle_02', 70],
      ],
    );
    // The hub's own DLM events heard on the bus are kept too.
    await until(
      () => query(db, `SELECT count(*)::int AS n FROM dlm_events WHERE source = 'hub'`),
      (r) => r[0]?.n === hubEvents,
      10000,
      'DLM events',
    );
  });

  it('(b) replays it again (QoS 1 duplicates): the same rows, no second session, energy not counted twice', async () => {
    const sessionsBefore = await sessionRows();
    const nodesBefore = await nodeRows();
    const before = await ingest(rt);
    for (const m of capture) await client.publishAsync(m.topic, m.payload, { qos: 1 });
    await until(
      () => ingest(rt),
      (s) => counted(s).accepted - counted(before).accepted === nonDlm,
      20000,
      'the second replay accepted',
    );
    await new Promise((r) => setTimeout(r, 500)); // longer than the store's flush interval
    assert.deepEqual(await sessionRows(), sessionsBefore);
    assert.deepEqual(await nodeRows(), nodesBefore);
    const n = await query(db, `SELECT count(*)::int AS n FROM charging_sessions`);
    assert.equal(n[0]?.n, 2);
    assert.equal(
      (await query(db, `SELECT count(*)::int AS n FROM dlm_events WHERE source = 'hub'`))[0]?.n,
      hubEvents,
    );
  });

  it('(e) rejects bad input of each kind, counts it, stores none of it, and stores the valid traffic around it', async () => {
    const hub = 'hub_bi';
    const t0 = Date.now() - 600_000;
    const valid: Array<[string, string]> = [
      [
        `iot/hubs/${hub}/info`,
        JSON.stringify({
          hub_id: hub,
          location: { latitude: 45, longitude: 9 },
          max_grid_capacity_kw: 100,
          ip_address: '10.0.0.1',
          firmware_version: '1.0',
        }),
      ],
      [`iot/hubs/${hub}/status`, JSON.stringify({ state: 'online', cpu_temp: 40, timestamp: iso(t0) })],
      [
        `iot/hubs/${hub}/nodes/node_1/info`,
        JSON.stringify({ node_id: 'node_1', hub_id: hub, max_power_kw: 50 }),
      ],
      [
        `iot/hubs/${hub}/nodes/node_1/status`,
        JSON.stringify({ state: 'charging', current_vehicle_id: 'ev_bi', error_code: 0, timestamp: iso(t0) }),
      ],
    ];
    const samples: Array<[number, number]> = [];
    const sample = (i: number, p: number): [string, string] => {
      samples.push([t0 + 1000 + 2000 * i, p]);
      return [`iot/hubs/${hub}/nodes/node_1/telemetry`, telemetry(p, 'ev_bi', t0 + 1000 + 2000 * i, 40 + i)];
    };
    const tel = `iot/hubs/${hub}/nodes/node_1/telemetry`;
    const huge = Buffer.alloc(1 << 20, 0x20);
    huge.write('{"voltage":1,"pad":"', 0);
    const bad: Array<{ name: string; topic: string; payload: string | Buffer; expect: RegExp }> = [
      {
        name: 'broken JSON',
        topic: tel,
        payload: '{"voltage": 400, "power_kw": 3',
        expect: /not valid JSON/,
      },
      {
        name: 'wrong type',
        topic: tel,
        payload: telemetry(10, 'ev_bi', t0 + 1500).replace('"power_kw":10', '"power_kw":"10"'),
        expect: /NodeTelemetry\.power_kw/,
      },
      {
        name: 'out of range',
        topic: tel,
        payload: telemetry(351, 'ev_bi', t0 + 3500),
        expect: /NodeTelemetry\.power_kw: must be <= 350/,
      },
      {
        name: 'capacity out of range',
        topic: `iot/hubs/${hub}/info`,
        payload: JSON.stringify({
          hub_id: hub,
          location: { latitude: 45, longitude: 9 },
          max_grid_capacity_kw: 5000,
          ip_address: '10.0.0.1',
          firmware_version: '1.0',
        }),
        expect: /HubInfo\.max_grid_capacity_kw: must be <= 1000/,
      },
      {
        name: 'id of 51 characters',
        topic: `iot/hubs/${'h'.repeat(51)}/status`,
        payload: JSON.stringify({ state: 'online', cpu_temp: 40 }),
        expect: /hub_id must be 1-50/,
      },
      {
        name: 'payload id that contradicts the topic',
        topic: `iot/hubs/${hub}/nodes/node_2/info`,
        payload: JSON.stringify({ node_id: 'node_2', hub_id: 'hub_other', max_power_kw: 50 }),
        expect: /NodeInfo\.hub_id/,
      },
      { name: '1 MB payload', topic: tel, payload: huge, expect: /payload: too large/ },
    ];
    const before = await ingest(rt);
    const publish = (topic: string, payload: string | Buffer) =>
      client.publishAsync(topic, payload, { qos: 1 });
    for (const [t, p] of valid) await publish(t, p);
    for (const [t, p] of [sample(0, 20), sample(1, 30)]) await publish(t, p);
    for (const b of bad) {
      await publish(b.topic, b.payload);
      // A topic directly below a hub that is not the contract's: delivered (the flow subscribes
      // to iot/hubs/+/+ for hub info, status and requests), rejected as an unknown topic and
      // counted, never applied.
      await publish(`iot/hubs/${hub}/firmware`, '{"power_kw": 5}');
    }
    // A control character in a topic id: a strict broker (Mosquitto) refuses the topic and drops
    // the client that sent it, a lenient one (aedes) delivers it and we reject it. Sent from a
    // throwaway client at QoS 0 (no redelivery loop), not counted, never stored either way.
    const rogue = await mqtt.connectAsync(rt.mqttUrl, {
      clientId: `wpt-rogue-${process.pid}`,
      reconnectPeriod: 0,
    });
    rogue.on('error', () => {});
    await rogue
      .publishAsync('iot/hubs/evil\u0007hub/status', JSON.stringify({ state: 'online', cpu_temp: 40 }))
      .catch(() => {});
    await rogue.endAsync(true).catch(() => {});
    // A valid but hostile-looking id: stored verbatim, harmless (every statement is parameterised).
    const sqlId = "x'); DROP TABLE hubs;--";
    await publish(`iot/hubs/${sqlId}/status`, JSON.stringify({ state: 'online', cpu_temp: 40 }));
    for (const [t, p] of [sample(2, 40), sample(3, 10)]) await publish(t, p);
    const validCount = valid.length + samples.length + 1;

    const after = await until(
      () => ingest(rt),
      (s) =>
        counted(s).accepted - counted(before).accepted === validCount &&
        counted(s).rejected - counted(before).rejected >= 2 * bad.length,
      20000,
      'every message counted',
    );
    const messages = Object.values(after.byKind)
      .map((k) => k.lastError?.message ?? '')
      .join('\n');
    // The last error of each kind names its field (nodeTelemetry: the 1 MB payload came last).
    assert.match(messages, /payload: too large/);
    assert.match(messages, /NodeInfo\.hub_id/);
    assert.match(messages, /HubInfo\.max_grid_capacity_kw/);
    assert.equal(counted(after).accepted - counted(before).accepted, validCount);
    // The bad messages and the unknown topics, plus the control-character topic when the broker
    // delivered it.
    const rejectedNow = counted(after).rejected - counted(before).rejected;
    assert.ok(rejectedNow === 2 * bad.length || rejectedNow === 2 * bad.length + 1, String(rejectedNow));
    assert.match(after.byKind.unknown?.lastError?.message ?? '', /^topic: unknown topic/);

    // The valid traffic, fully stored.
    const energy = trapezoids(samples);
    const session = await until(
      () => query(db, `SELECT * FROM charging_sessions WHERE hub_id = $1`, [hub]),
      (rows) => rows.length === 1 && Math.abs((rows[0]?.energy_kwh as number) - energy) < 1e-9,
      10000,
      'the session with the energy of the valid samples',
    );
    assert.equal(session[0]?.peak_power_kw, 40, 'the 351 kW sample was not integrated');
    const node = await until(
      () => query(db, `SELECT * FROM nodes WHERE hub_id = $1`, [hub]),
      (rows) => (rows[0]?.last_seen as Date | undefined)?.getTime() === samples.at(-1)?.[0],
      10000,
      'the last valid sample stored',
    );
    assert.equal(node.length, 1, 'node_2 (contradicting ids) was not created');
    assert.equal(node[0]?.power_kw, 10);
    assert.equal(node[0]?.max_power_kw, 50);
    const hubRow = await query(db, `SELECT * FROM hubs WHERE hub_id = $1`, [hub]);
    assert.equal(hubRow[0]?.max_grid_capacity_kw, 100, 'the 5000 kW info was not applied');
    // Nothing of the rejected messages.
    const ids = (await query(db, `SELECT hub_id FROM hubs ORDER BY hub_id`)).map((r) => r.hub_id);
    assert.deepEqual(ids, ['hub_01', hub, sqlId].sort());
    assert.equal(
      (await query(db, `SELECT count(*)::int AS n FROM nodes WHERE hub_id = 'hub_other'`))[0]?.n,
      0,
    );
    // The runtime is still fine.
    const health = await fetch(`${rt.url}/api/health`);
    assert.equal(health.status, 200);
  });
});

// ---------------------------------------------------------------------------------------

describe('e2e twin: a restart in the middle of a charging session', function () {
  this.timeout(240000);
  const hub = `hub_rs_${process.pid}`;
  const retained: string[] = [];
  let userDir: string;
  let broker: string;
  let client: MqttClient;
  const runtimes: RuntimeHandle[] = [];

  before(async () => {
    userDir = makeUserDir();
    // A broker that outlives the runtime (it keeps the retained info/status, as in production).
    broker = await mqttUrl();
    client = await mqtt.connectAsync(broker, { clientId: `wpt-twin-restart-${process.pid}` });
  });
  after(async () => {
    for (const rt of runtimes) await rt.stop();
    if (client) {
      for (const t of retained) await client.publishAsync(t, '', { retain: true, qos: 1 });
      await client.endAsync();
    }
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  it('continues the session after SIGTERM and a new start: one row, energy = trapezoids over all samples', async () => {
    const t0 = Date.now() - 300_000;
    const start = async (env: Record<string, string | undefined>): Promise<RuntimeHandle> => {
      const rt = await startRuntime({ userDir, env: { MQTT_URL: broker, ...env } });
      runtimes.push(rt);
      return rt;
    };
    const pub = async (topic: string, payload: string, retain = false) => {
      if (retain) retained.push(topic);
      await client.publishAsync(topic, payload, { qos: 1, retain });
    };
    const first = await start({});
    await subscribed(first, client);
    const base = await ingest(first);
    // Retained, as hubs publish them.
    await pub(
      `iot/hubs/${hub}/info`,
      JSON.stringify({
        hub_id: hub,
        location: { latitude: 44.6, longitude: 10.9 },
        max_grid_capacity_kw: 140,
        ip_address: '10.1.1.1',
        firmware_version: '1.0.0',
      }),
      true,
    );
    await pub(
      `iot/hubs/${hub}/status`,
      JSON.stringify({ state: 'online', cpu_temp: 50, timestamp: iso(t0) }),
      true,
    );
    await pub(
      `iot/hubs/${hub}/nodes/node_01/info`,
      JSON.stringify({ node_id: 'node_01', hub_id: hub, max_power_kw: 78 }),
      true,
    );
    await pub(
      `iot/hubs/${hub}/nodes/node_01/status`,
      JSON.stringify({ state: 'charging', current_vehicle_id: 'ev_rs', error_code: 0, timestamp: iso(t0) }),
      true,
    );
    const powers = [12, 55.5, 70, 68.2, 40, 74.9, 77, 30.3, 60, 65.5, 20, 5];
    const samples = powers.map((p, i) => [t0 + 1000 + 2000 * i, p] as const);
    const tel = `iot/hubs/${hub}/nodes/node_01/telemetry`;
    const half = samples.length / 2;
    for (const [t, p] of samples.slice(0, half)) await pub(tel, telemetry(p, 'ev_rs', t, 50));
    await until(
      () => ingest(first),
      (s) => counted(s).accepted - counted(base).accepted === 4 + half,
      15000,
      'the first half applied',
    );
    // Stop at once: what is still queued for PostgreSQL is written on the way out.
    assert.equal(await first.stop('SIGTERM'), 0, first.output());
    // The same database again: DATABASE_URL's, or the embedded one in the same user dir.
    const second = await start(process.env.DATABASE_URL ? { DATABASE_URL: first.databaseUrl } : {});
    const db = new pg.Client({ connectionString: second.databaseUrl });
    try {
      await db.connect();
      // Everything the first run accepted was written on its way out (the shared broker may
      // hold other tests' retained hubs too: count ours).
      const [stored] = await query(
        db,
        `SELECT (SELECT count(*) FROM hubs WHERE hub_id = $1)::int AS hubs,
                (SELECT count(*) FROM nodes WHERE hub_id = $1)::int AS nodes,
                (SELECT count(*) FROM vehicles WHERE vehicle_id = 'ev_rs')::int AS vehicles,
                (SELECT count(*) FROM charging_sessions WHERE hub_id = $1 AND end_time IS NULL)::int AS open`,
        [hub],
      );
      assert.deepEqual(stored, { hubs: 1, nodes: 1, vehicles: 1, open: 1 }, first.output());
      // Healthy (HTTP up) comes before the fleet's restore from PostgreSQL: wait for it.
      await until(
        async () => second.output(),
        (o) => /restored [1-9]\d* hubs, [1-9]\d* nodes, [1-9]\d* vehicles, [1-9]\d* open sessions/.test(o),
        15000,
        'the twin restored',
      );
      await subscribed(second, client);
      const base2 = await ingest(second);
      for (const [t, p] of samples.slice(half)) await pub(tel, telemetry(p, 'ev_rs', t, 50));
      await until(
        () => ingest(second),
        (s) => s.byKind.nodeTelemetry!.accepted - (base2.byKind.nodeTelemetry?.accepted ?? 0) === half,
        15000,
        'the second half applied',
      );
      const energy = trapezoids(samples);
      const sessionId = `${hub}/node_01/${t0}`;
      const rows = await until(
        () => query(db, `SELECT * FROM charging_sessions WHERE hub_id = $1`, [hub]),
        (r) => r.length === 1 && Math.abs((r[0]?.energy_kwh as number) - energy) < 1e-9,
        15000,
        `one session with ${energy} kWh`,
      );
      assert.equal(rows[0]?.session_id, sessionId, 'the session of before the restart');
      assert.equal(rows[0]?.end_time, null, 'still open: the node is still charging');
      assert.equal(rows[0]?.peak_power_kw, 77);
      assert.equal((rows[0]?.last_sample_at as Date).getTime(), samples.at(-1)?.[0]);

      // The node goes idle: the same session closes, with all its energy.
      const tEnd = samples.at(-1)![0] + 500;
      await pub(
        `iot/hubs/${hub}/nodes/node_01/status`,
        JSON.stringify({ state: 'idle', current_vehicle_id: null, error_code: 0, timestamp: iso(tEnd) }),
        true,
      );
      const closed = await until(
        () => query(db, `SELECT * FROM charging_sessions WHERE hub_id = $1`, [hub]),
        (r) => r.length === 1 && r[0]?.end_time !== null,
        15000,
        'the session closed',
      );
      assert.equal(closed[0]?.session_id, sessionId);
      assert.equal((closed[0]?.end_time as Date).getTime(), tEnd);
      assert.equal(closed[0]?.close_reason, 'idle');
      assert.ok(Math.abs((closed[0]?.energy_kwh as number) - energy) < 1e-9);
      const avg = energy / ((tEnd - t0) / 3_600_000);
      assert.ok(Math.abs((closed[0]?.average_power_kw as number) - avg) < 1e-9);
    } finally {
      await db.end().catch(() => {});
    }
  });
});

// ---------------------------------------------------------------------------------------

/** A TCP proxy that can be cut (every connection dropped, new ones refused) and restored. */
class CuttableProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  cut = false;
  port = 0;
  constructor(
    private readonly host: string,
    private readonly targetPort: number,
  ) {}
  async start(): Promise<void> {
    this.port = await freePort();
    this.server = net.createServer((inbound) => {
      if (this.cut) {
        inbound.destroy();
        return;
      }
      const outbound = net.connect(this.targetPort, this.host);
      for (const s of [inbound, outbound]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          inbound.destroy();
          outbound.destroy();
        });
      }
      inbound.pipe(outbound);
      outbound.pipe(inbound);
    });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', () => r()));
  }
  down(): void {
    this.cut = true;
    for (const s of this.sockets) s.destroy();
  }
  up(): void {
    this.cut = false;
  }
  async close(): Promise<void> {
    this.down();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

describe('e2e twin: PostgreSQL cut and restored mid-stream', function () {
  this.timeout(240000);
  let rt: RuntimeHandle | undefined;
  let proxy: CuttableProxy;
  let db: pg.Client;

  before(async () => {
    const direct = new URL(await createTestDatabase('wpt_outage'));
    proxy = new CuttableProxy(direct.hostname, Number(direct.port));
    await proxy.start();
    const viaProxy = new URL(direct.toString());
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    rt = await startRuntime({ env: { DATABASE_URL: viaProxy.toString() } });
    db = new pg.Client({ connectionString: direct.toString() });
    await db.connect();
  });
  after(async () => {
    await db?.end();
    if (rt) {
      await rt.stop();
      fs.rmSync(rt.userDir, { recursive: true, force: true });
    }
    await proxy?.close();
  });

  it('loses nothing: every session and the final node and vehicle states are stored once it is back', async () => {
    const client = await mqtt.connectAsync(rt!.mqttUrl, { clientId: `wpt-twin-outage-${process.pid}` });
    const oracle = new Oracle();
    const hub = 'hub_px';
    const nodes = ['node_1', 'node_2', 'node_3', 'node_4'];
    const t0 = Date.now() - 600_000;
    let published = 0;
    const pub = async (topic: string, payload: string) => {
      oracle.apply(topic, payload);
      published++;
      await client.publishAsync(topic, payload, { qos: 1 });
    };
    try {
      await subscribed(rt!, client);
      const base = await ingest(rt!);
      await pub(
        `iot/hubs/${hub}/info`,
        JSON.stringify({
          hub_id: hub,
          location: { latitude: 44, longitude: 10 },
          max_grid_capacity_kw: 300,
          ip_address: '10.2.2.2',
          firmware_version: '2.0',
        }),
      );
      await pub(
        `iot/hubs/${hub}/status`,
        JSON.stringify({ state: 'online', cpu_temp: 45, timestamp: iso(t0) }),
      );
      const vehicleOf = new Map<string, string>();
      for (const [i, n] of nodes.entries()) {
        vehicleOf.set(n, `ev_px_${i}`);
        await pub(
          `iot/hubs/${hub}/nodes/${n}/info`,
          JSON.stringify({ node_id: n, hub_id: hub, max_power_kw: 78 }),
        );
        await pub(
          `iot/hubs/${hub}/nodes/${n}/status`,
          JSON.stringify({
            state: 'charging',
            current_vehicle_id: `ev_px_${i}`,
            error_code: 0,
            timestamp: iso(t0),
          }),
        );
      }
      // 30 rounds of telemetry, 2 s apart in device time; PostgreSQL is cut from round 8 to 22.
      // During the outage node_1 and node_2 finish their sessions and start new ones.
      let cutSeen = false;
      for (let k = 0; k < 30; k++) {
        const t = t0 + 1000 + 2000 * k;
        if (k === 8) {
          await until(
            () => query(db, `SELECT count(*)::int AS n FROM charging_sessions WHERE hub_id = $1`, [hub]),
            (r) => r[0]?.n === 4,
            10000,
            'the first sessions stored before the cut',
          );
          proxy.down();
        }
        if (k === 22) {
          // The runtime noticed the outage (health) before it ends.
          const h = await until(
            () =>
              fetch(`${rt!.url}/api/health`).then(
                (r) => r.json() as Promise<{ dependencies: { postgres: { state: string } } }>,
              ),
            (b) => b.dependencies.postgres.state === 'down',
            10000,
            'the outage seen by /api/health',
          );
          cutSeen = h.dependencies.postgres.state === 'down';
          proxy.up();
        }
        if (k === 12 || k === 16) {
          const n = k === 12 ? 'node_1' : 'node_2';
          await pub(
            `iot/hubs/${hub}/nodes/${n}/status`,
            JSON.stringify({
              state: 'idle',
              current_vehicle_id: null,
              error_code: 0,
              timestamp: iso(t - 500),
            }),
          );
          const next = `${vehicleOf.get(n)}_b`;
          vehicleOf.set(n, next);
          await pub(
            `iot/hubs/${hub}/nodes/${n}/status`,
            JSON.stringify({
              state: 'charging',
              current_vehicle_id: next,
              error_code: 0,
              timestamp: iso(t - 200),
            }),
          );
        }
        for (const [i, n] of nodes.entries()) {
          const p = 10 + ((k * 7 + i * 13) % 60);
          await pub(`iot/hubs/${hub}/nodes/${n}/telemetry`, telemetry(p, vehicleOf.get(n)!, t, 20 + k));
        }
        if (k >= 8 && k < 22) await new Promise((r) => setTimeout(r, 100)); // an outage of a few seconds
      }
      assert.ok(cutSeen);
      await until(
        () => ingest(rt!),
        (s) => counted(s).accepted - counted(base).accepted === published,
        20000,
        'everything accepted',
      );

      const expected = [...oracle.sessions.values()].sort((a, b) => a.sessionId.localeCompare(b.sessionId));
      assert.equal(expected.length, 6);
      assert.equal(expected.filter((s) => s.endTs !== null).length, 2);
      const rows = await until(
        () =>
          query(
            db,
            `SELECT session_id, vehicle_id, end_time, energy_kwh, last_sample_at, close_reason
               FROM charging_sessions WHERE hub_id = $1 ORDER BY session_id`,
            [hub],
          ),
        (r) =>
          r.length === expected.length &&
          r.every(
            (x, i) =>
              x.session_id === expected[i]?.sessionId &&
              Math.abs((x.energy_kwh as number) - (expected[i]?.energyKwh ?? -1)) < 1e-9 &&
              (x.last_sample_at as Date | null)?.getTime() === expected[i]?.lastSampleTs,
          ),
        30000,
        'every session stored with its energy',
      );
      for (const [i, x] of rows.entries()) {
        const e = expected[i]!;
        assert.equal(x.vehicle_id, e.vehicleId);
        assert.equal((x.end_time as Date | null)?.getTime() ?? null, e.endTs);
        assert.equal(x.close_reason, e.closeReason);
      }
      const nodeRows = await until(
        () => query(db, `SELECT * FROM nodes WHERE hub_id = $1 ORDER BY node_id`, [hub]),
        (r) =>
          r.length === 4 && r.every((n) => (n.last_seen as Date | null)?.getTime() === t0 + 1000 + 2000 * 29),
        15000,
        'the final node states',
      );
      for (const n of nodeRows) {
        const o = oracle.twin.node(hub, n.node_id as string);
        assert.equal(n.state, o?.state);
        assert.equal(n.current_vehicle_id, o?.vehicleId);
        assert.equal(n.power_kw, o?.telemetry?.powerKw);
      }
      const vehicles = await query(
        db,
        `SELECT vehicle_id, soc FROM vehicles WHERE vehicle_id LIKE 'ev_px_%' ORDER BY 1`,
      );
      assert.deepEqual(
        vehicles.map((v) => [v.vehicle_id, v.soc]),
        oracle.twin
          .vehicles()
          .filter((v) => v.vehicleId.startsWith('ev_px_'))
          .sort((a, b) => a.vehicleId.localeCompare(b.vehicleId))
          .map((v) => [v.vehicleId, v.soc]),
      );
      assert.match(rt!.output(), /PostgreSQL unreachable/);
    } finally {
      await client.endAsync();
    }
  });
});

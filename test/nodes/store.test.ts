// wpt-store with node-red-node-test-helper and a real PostgreSQL database: twin changes and
// DLM events in, rows out (read back with pg); idempotent; flushed on close; wrong input refused.
import assert from 'node:assert/strict';
import pg from 'pg';
import { nr } from '../helpers/node-red';
import { createTestDatabase } from '../helpers/services';
import { readCapture } from '../helpers/runtime';
import { decode } from '../../core/contract';
import { Twin, type TwinChange } from '../../core/twin';
import { commandToNotification } from '../../core/dlm';
import type { DlmCommand } from '../../core/dlm';
import { until } from '../helpers/wait';
import { TcpProxy } from '../helpers/tcp-proxy';

const postgresNode = require('../../nodes/wpt-postgres/wpt-postgres');
const storeNode = require('../../nodes/wpt-store/wpt-store');

/** The capture's info/status/telemetry through a Twin: one change list per message. */
function captureChanges(): { twin: Twin; batches: TwinChange[][] } {
  const twin = new Twin();
  const batches: TwinChange[][] = [];
  let clock = 0;
  for (const m of readCapture()) {
    if (!/\/(info|status|telemetry)$/.test(m.topic)) continue;
    const r = decode(m.topic, m.payload, clock + 1);
    assert.ok(r.ok, m.topic);
    clock = Math.max(clock + 1, r.msg.ts);
    const cs = twin.apply(r.msg, clock);
    if (cs.length) batches.push(cs);
  }
  return { twin, batches };
}

const flow = (db: string, store: Record<string, unknown> = {}): unknown[] => [
  { id: 'p', type: 'wpt-postgres', url: db },
  { id: 's', type: 'wpt-store', postgres: 'p', flushMs: 10, ...store, wires: [['pub']] },
  { id: 'pub', type: 'helper' },
];

/**
 * One of our DLM commands as wpt-dlm-allocator sends it (msg.dlm + the notification; in cluster
 * mode the notification carries `owner_epoch`, here whatever is given, junk included).
 */
function commandMsg(
  nodeId: string,
  newLimitKw: number,
  i: number,
  ownerEpoch?: unknown,
): Record<string, unknown> {
  const dlm = {
    hubId: 'hub_wa',
    nodeId,
    originalLimitKw: 0,
    newLimitKw,
    reason: 'VEHICLE_CONNECTED',
    allocationId: `hub_wa:1:${i}`,
    ts: Date.parse('2026-11-30T10:00:00.000Z') + i,
    totalGridLoadKw: newLimitKw,
    availableCapacityKw: 0,
    attempt: 1,
  } as DlmCommand;
  return {
    topic: 'iot/hubs/hub_wa/dlm/events',
    payload: {
      ...commandToNotification(dlm, 'equal', 'wpt-dlm'),
      ...(ownerEpoch !== undefined ? { owner_epoch: ownerEpoch } : {}),
    },
    dlm,
  };
}

describe('node: wpt-store', function () {
  this.timeout(30000);
  let db: string;
  let client: pg.Client;
  const count = async (table: string): Promise<number> =>
    (await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]?.n ?? -1;

  before(async () => {
    await nr.startServer();
  });
  beforeEach(async () => {
    db = await createTestDatabase();
    client = new pg.Client({ connectionString: db });
    await client.connect();
  });
  afterEach(async () => {
    await nr.unload();
    await client.end();
  });
  after(() => nr.stopServer());

  it('writes the hub, nodes, vehicles and open sessions of the capture, matching the twin', async () => {
    await nr.load([postgresNode, storeNode], flow(db));
    const { twin, batches } = captureChanges();
    for (const payload of batches) nr.getNode('s').receive({ topic: 'message', payload });
    await until(
      async () =>
        (await client
          .query<{ n: number }>(`SELECT count(*)::int AS n FROM nodes WHERE last_seen IS NOT NULL`)
          .then((r) => r.rows[0]?.n === 3)
          .catch(() => false)) && (await count('charging_sessions')) === 2,
      10000,
      'rows written',
    );
    // Let the last batch land (energy rows are updated in place).
    await until(async () => {
      const s = twin.openSession('hub_01', 'node_02');
      const r = await client.query<{ energy_kwh: number }>(
        'SELECT energy_kwh FROM charging_sessions WHERE node_id = $1',
        ['node_02'],
      );
      return r.rows[0]?.energy_kwh === s?.energyKwh;
    });
    const hubs = await client.query('SELECT * FROM hubs');
    assert.equal(hubs.rows.length, 1);
    assert.equal(hubs.rows[0].hub_id, 'hub_01');
    assert.equal(hubs.rows[0].max_grid_capacity_kw, 140);
    assert.equal(hubs.rows[0].latitude, 44.6469);
    assert.equal(hubs.rows[0].state, 'online');
    assert.equal(hubs.rows[0].is_active, true);

    const nodes = await client.query('SELECT * FROM nodes ORDER BY node_id');
    assert.deepEqual(
      nodes.rows.map((n) => [n.node_id, n.max_power_kw, n.state, n.current_vehicle_id]),
      [
        ['node_01', 78, 'charging', 'vehicle_01'],
        ['node_02', 78, 'charging', 'vehicle_02'],
        ['node_03', 78, 'idle', null],
      ],
    );
    for (const n of nodes.rows) {
      const tel = twin.node('hub_01', n.node_id as string)?.telemetry;
      assert.equal(n.power_kw, tel?.powerKw, `${n.node_id} power`);
      assert.equal((n.last_seen as Date).getTime(), tel?.ts, `${n.node_id} last_seen = last telemetry`);
    }

    const vehicles = await client.query('SELECT * FROM vehicles ORDER BY vehicle_id');
    assert.deepEqual(
      vehicles.rows.map((v) => [v.vehicle_id, v.soc, v.soc_class]),
      [
        ['vehicle_01', 35, 'normal'],
        ['vehicle_02', 70, 'normal'],
      ],
    );

    const sessions = await client.query('SELECT * FROM charging_sessions ORDER BY node_id');
    for (const row of sessions.rows) {
      const s = twin.openSession('hub_01', row.node_id as string);
      assert.ok(s);
      assert.equal(row.session_id, s.sessionId);
      assert.equal(row.vehicle_id, s.vehicleId);
      assert.equal(row.end_time, null);
      assert.equal((row.start_time as Date).getTime(), s.startTs);
      assert.equal(row.energy_kwh, s.energyKwh);
      assert.equal(row.peak_power_kw, s.peakPowerKw);
      assert.equal((row.last_sample_at as Date).getTime(), s.lastSampleTs);
      assert.ok(s.energyKwh > 0);
    }
  });

  it('writes the same rows when everything is delivered twice (QoS 1 duplicates)', async () => {
    await nr.load([postgresNode, storeNode], flow(db));
    const { twin, batches } = captureChanges();
    for (const payload of [...batches, ...batches]) nr.getNode('s').receive({ payload });
    const expected = twin.openSession('hub_01', 'node_01')?.energyKwh;
    await until(async () => {
      const r = await client
        .query<{ energy_kwh: number }>('SELECT energy_kwh FROM charging_sessions WHERE node_id = $1', [
          'node_01',
        ])
        .catch(() => ({ rows: [] as { energy_kwh: number }[] }));
      return r.rows[0]?.energy_kwh === expected;
    });
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(
      [await count('hubs'), await count('nodes'), await count('vehicles'), await count('charging_sessions')],
      [1, 3, 2, 2],
    );
    const r = await client.query<{ energy_kwh: number }>(
      'SELECT energy_kwh FROM charging_sessions WHERE node_id = $1',
      ['node_01'],
    );
    assert.equal(r.rows[0]?.energy_kwh, expected, 'energy is not counted twice');
  });

  it("stores our own DLM events from the allocator's output once (source orchestrator), however often they arrive", async () => {
    await nr.load([postgresNode, storeNode], flow(db));
    const ts = Date.parse('2026-11-26T07:13:47.282Z');
    const cmds = [
      { nodeId: 'node_01', originalLimitKw: 0, newLimitKw: 78, allocationId: 'hub_01:1:1' },
      { nodeId: 'node_02', originalLimitKw: 78, newLimitKw: 62, allocationId: 'hub_01:1:2' },
    ].map((c) => ({
      hubId: 'hub_01',
      reason: 'VEHICLE_CONNECTED',
      ts,
      totalGridLoadKw: 140,
      availableCapacityKw: 0,
      ...c,
    }));
    for (let i = 0; i < 3; i++) {
      for (const c of cmds) {
        nr.getNode('s').receive({
          topic: 'iot/hubs/hub_01/dlm/events',
          payload: commandToNotification(c as DlmCommand, 'soc-priority', 'wpt-dlm'),
          dlm: c,
        });
      }
    }
    await until(async () => (await count('dlm_events').catch(() => 0)) === cmds.length);
    await new Promise((r) => setTimeout(r, 200));
    const rows = await client.query('SELECT * FROM dlm_events ORDER BY node_id');
    assert.equal(rows.rows.length, cmds.length);
    assert.deepEqual(
      rows.rows.map((r) => [r.node_id, r.source, r.new_limit, r.allocation_id]),
      [
        ['node_01', 'orchestrator', 78, 'hub_01:1:1'],
        ['node_02', 'orchestrator', 62, 'hub_01:1:2'],
      ],
    );
  });

  it('refuses what is not a change list or a DLM command (raw MQTT is never decoded here), and writes nothing of it', async () => {
    await nr.load([postgresNode, storeNode], flow(db));
    const errors: string[] = [];
    nr.getNode('s').on('call:error', (c) => errors.push(String(c.args[0])));
    nr.getNode('s').receive({
      topic: 'iot/hubs/hub_01/nodes/node_01/telemetry',
      payload:
        '{"voltage":1,"current":1,"power_kw":1,"power_limit_kw":10,"is_occupied":false,"timestamp":"2026-11-26T07:13:45Z"}',
    });
    // A DLM event from the broker, claiming to be ours: never stored as ours from here.
    nr.getNode('s').receive({
      topic: 'iot/hubs/hub_01/dlm/events',
      payload:
        '{"trigger_reason":"x","original_limit":1,"new_limit":350,"affected_node_id":"node_01","total_grid_load":1,"available_capacity":0,"source":"wpt-dlm"}',
    });
    await until(async () => errors.length === 2, 3000, 'two errors');
    assert.match(errors.join('\n'), /wpt-store\.errors\.input/);
    await (nr.getNode('p') as unknown as { ready: Promise<void> }).ready;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await count('dlm_events'), 0);
    assert.equal(await count('hubs'), 0);
  });

  it('writes what is queued before it closes (redeploy, shutdown), although its pool is closed at the same time', async () => {
    // A long flush interval: nothing would be written before close without the final flush.
    // Node-RED closes wpt-postgres (which ends the pool) together with wpt-store.
    await nr.load([postgresNode, storeNode], flow(db, { flushMs: 60000, batchSize: 100000 }));
    await (nr.getNode('p') as unknown as { ready: Promise<void> }).ready; // migrations done …
    await new Promise((r) => setTimeout(r, 100)); // … and the store's flush after them too
    const { batches } = captureChanges();
    for (const payload of batches) nr.getNode('s').receive({ payload });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await count('charging_sessions'), 0);
    await nr.unload();
    assert.equal(await count('charging_sessions'), 2);
    assert.equal(await count('nodes'), 3);
  });

  it('writes the change lists that arrive while it closes, and never through the ended pool', async () => {
    // Shutdown right after the last input: the change lists are still on their way (Node-RED
    // delivers on a later tick) and a flush timer is due after wpt-postgres ended the pool.
    await nr.load([postgresNode, storeNode], flow(db, { flushMs: 1 }));
    await (nr.getNode('p') as unknown as { ready: Promise<void> }).ready;
    const { batches } = captureChanges();
    const store = nr.getNode('s') as unknown as {
      warn: (m: unknown) => void;
      receive: (m: object) => void;
    };
    const warnings: string[] = [];
    const warn = store.warn.bind(store);
    store.warn = (m: unknown) => {
      warnings.push(String(m));
      warn(m);
    };
    for (const payload of batches) store.receive({ payload });
    await nr.unload();
    assert.deepEqual(warnings, []);
    assert.equal(await count('charging_sessions'), 2);
    assert.equal(await count('nodes'), 3);
  });

  it('says it has no database when none is configured', async () => {
    await nr.load([postgresNode, storeNode], [{ id: 's', type: 'wpt-store', postgres: '' }]);
    const errors: string[] = [];
    nr.getNode('s').on('call:error', (c) => errors.push(String(c.args[0])));
    nr.getNode('s').receive({ payload: [] });
    await until(async () => errors.length === 1, 2000, 'an error');
    assert.match(errors[0] ?? '', /no-db|no wpt-postgres/);
  });

  it('publishes our DLM events only once their rows are stored (write-ahead), in the order they came', async () => {
    await nr.load([postgresNode, storeNode], flow(db, { flushMs: 60_000 }));
    await (nr.getNode('p') as unknown as { ready: Promise<void> }).ready;
    await new Promise((r) => setTimeout(r, 100));
    const seen: Array<{ node: string; storedWhenOut: boolean }> = [];
    const checks: Array<Promise<void>> = [];
    nr.getNode('pub').on('input', (m) => {
      const d = m.dlm as DlmCommand;
      // Is the row there the moment the event leaves? (the long flushMs keeps the queue out of it)
      checks.push(
        client
          .query('SELECT 1 FROM dlm_events WHERE allocation_id = $1', [d.allocationId])
          .then((r) => void seen.push({ node: d.nodeId, storedWhenOut: r.rows.length === 1 })),
      );
    });
    const nodes = ['n3', 'n1', 'n2', 'n5', 'n4'];
    // Cluster mode's owner_epoch in the payloads, junk among them: stored as given or NULL, and
    // a junk value costs nothing to the other events of the write-ahead batch.
    const epochs: unknown[] = [7, 'x', -1, 1.5, undefined];
    nodes.forEach((n, i) => nr.getNode('s').receive(commandMsg(n, 10 + i, i, epochs[i])));
    await until(async () => checks.length === nodes.length, 5000, 'every event out');
    await Promise.all(checks);
    assert.deepEqual(
      seen.map((x) => x.storedWhenOut),
      nodes.map(() => true),
      'each stored before it left',
    );
    assert.equal(await count('dlm_events'), nodes.length);
    const stored = await client.query<{ node_id: string; owner_epoch: string | null }>(
      'SELECT node_id, owner_epoch FROM dlm_events ORDER BY ts',
    );
    assert.deepEqual(
      stored.rows.map((r) => [r.node_id, r.owner_epoch === null ? null : Number(r.owner_epoch)]),
      [
        ['n3', 7],
        ['n1', null],
        ['n2', null],
        ['n5', null],
        ['n4', null],
      ],
    );
  });

  it('publishes at once while PostgreSQL is away (the DLM never waits for it), and stores the rows when it is back', async () => {
    const target = new URL(db);
    const proxy = new TcpProxy(target);
    await proxy.open();
    const viaProxy = new URL(db);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    await nr.load([postgresNode, storeNode], flow(viaProxy.toString(), { maxWaitMs: 200 }));
    await (nr.getNode('p') as unknown as { ready: Promise<void> }).ready;
    const out: Array<Record<string, unknown>> = [];
    nr.getNode('pub').on('input', (m) => out.push(m));
    await proxy.close(); // outage
    const t0 = Date.now();
    for (let i = 0; i < 3; i++) nr.getNode('s').receive(commandMsg(`m${i}`, 20, 100 + i));
    await until(async () => out.length === 3, 5000, 'the events out during the outage');
    assert.ok(Date.now() - t0 < 3000, 'released within the wait bound, not held for the outage');
    assert.deepEqual(
      out.map((m) => (m.dlm as DlmCommand).nodeId),
      ['m0', 'm1', 'm2'],
    );
    await proxy.open(); // back: the write queue retries the rows
    await until(
      async () => (await count('dlm_events').catch(() => 0)) === 3,
      20000,
      'the rows stored once back',
    );
    await proxy.close();
  });
});

// wpt-hub-registry, wpt-soc-tracker and wpt-fleet with node-red-node-test-helper: messages in,
// twin changes out (output 1), rejects naming the field (output 2), the fleet's clock, and the
// fleet restored from a real PostgreSQL database (an open session continues after a restart).
import assert from 'node:assert/strict';
import pg from 'pg';
import { nr } from '../helpers/node-red';
import { createTestDatabase } from '../helpers/services';
import { readCapture } from '../helpers/runtime';
import type { TwinChange } from '../../core/twin';
import { trapezoidKwh } from '../../core/soc';
import { until } from '../helpers/wait';
import {
  createPool,
  migrate,
  upsertHubs,
  upsertNodes,
  upsertSessions,
  upsertVehicles,
} from '../../adapters/postgres';

const fleetNode = require('../../nodes/wpt-fleet/wpt-fleet');
const registryNode = require('../../nodes/wpt-hub-registry/wpt-hub-registry');
const trackerNode = require('../../nodes/wpt-soc-tracker/wpt-soc-tracker');
const validateNode = require('../../nodes/wpt-validate/wpt-validate');
const postgresNode = require('../../nodes/wpt-postgres/wpt-postgres');
const storeNode = require('../../nodes/wpt-store/wpt-store');

type Msg = Record<string, unknown>;
type Counters = { snapshot(): { byKind: Record<string, { accepted: number; rejected: number }> } };
interface FleetLike {
  twin: import('../../core/twin').Twin;
  counters: Counters;
  ready: Promise<void>;
}

/** Every message a helper node receives, in order. */
function collect(id: string): Msg[] {
  const list: Msg[] = [];
  nr.getNode(id).on('input', (m) => list.push(m));
  return list;
}

const changesOf = (msgs: Msg[]): TwinChange[] =>
  msgs.flatMap((m) => (Array.isArray(m.payload) ? (m.payload as TwinChange[]) : []));
const ofType = <K extends TwinChange['type']>(cs: TwinChange[], t: K): Extract<TwinChange, { type: K }>[] =>
  cs.filter((c): c is Extract<TwinChange, { type: K }> => c.type === t);
const errorOf = (m: Msg | undefined): string => (m?.error as { message?: string } | undefined)?.message ?? '';
const fleet = (id = 'f'): FleetLike => nr.getNode(id) as unknown as FleetLike;

const isInfoOrStatus = (topic: string): boolean => /\/(info|status)$/.test(topic);
const isTelemetry = (topic: string): boolean => /\/telemetry$/.test(topic);

/** registry and tracker on one fleet, each with a changes and a rejects helper. */
function twinFlow(fleetProps: Record<string, unknown> = {}): unknown[] {
  return [
    { id: 'f', type: 'wpt-fleet', name: 'fleet', ...fleetProps },
    { id: 'r', type: 'wpt-hub-registry', fleet: 'f', wires: [['rc'], ['rx']] },
    { id: 't', type: 'wpt-soc-tracker', fleet: 'f', wires: [['tc'], ['tx']] },
    { id: 'rc', type: 'helper' },
    { id: 'rx', type: 'helper' },
    { id: 'tc', type: 'helper' },
    { id: 'tx', type: 'helper' },
  ];
}

describe('nodes: wpt-hub-registry and wpt-soc-tracker', function () {
  this.timeout(20000);
  before(() => nr.startServer());
  after(() => nr.stopServer());
  afterEach(() => nr.unload());

  it('turns the original capture into twin changes: hub 140 kW, three 78 kW nodes, two sessions', async () => {
    await nr.load([fleetNode, registryNode, trackerNode], twinFlow());
    const [rc, rx, tc, tx] = ['rc', 'rx', 'tc', 'tx'].map(collect) as [Msg[], Msg[], Msg[], Msg[]];
    const capture = readCapture().filter((m) => isInfoOrStatus(m.topic) || isTelemetry(m.topic));
    for (const m of capture) {
      const target = isInfoOrStatus(m.topic) ? 'r' : 't';
      nr.getNode(target).receive({ topic: m.topic, payload: Buffer.from(m.payload) });
    }
    const f = fleet();
    await until(() => f.counters.snapshot().byKind.nodeTelemetry?.accepted === 36, 5000, 'all telemetry');
    assert.deepEqual([rx.length, tx.length], [0, 0], errorOf(rx[0] ?? tx[0]));

    const reg = changesOf(rc);
    const hub = ofType(reg, 'hub-upserted').at(-1);
    assert.equal(hub?.hub.maxGridCapacityKw, 140);
    assert.deepEqual(hub?.hub.location, { latitude: 44.6469, longitude: 10.9252, altitude: 50 });
    assert.deepEqual(
      ofType(reg, 'node-upserted')
        .map((c) => [c.nodeId, c.node.maxPowerKw])
        .sort(),
      [
        ['node_01', 78],
        ['node_02', 78],
        ['node_03', 78],
      ],
    );
    // Sessions open on the charging status (a registry message) …
    assert.deepEqual(
      ofType(reg, 'session-opened').map((c) => [c.nodeId, c.vehicleId]),
      [
        ['node_01', 'vehicle_01'],
        ['node_02', 'vehicle_02'],
      ],
    );
    // … and their energy comes from telemetry (tracker messages); the two outputs never overlap.
    const trk = changesOf(tc);
    assert.equal(ofType(trk, 'session-opened').length, 0);
    assert.equal(ofType(reg, 'session-updated').length, 0);
    assert.equal(ofType(trk, 'node-telemetry').length, 36);
    const last02 = ofType(trk, 'session-updated')
      .filter((c) => c.nodeId === 'node_02')
      .at(-1);
    const s02 = f.twin.openSession('hub_01', 'node_02');
    assert.ok(s02 && last02);
    assert.equal(last02.session.energyKwh, s02.energyKwh);
    // node_02's samples after its session opened, integrated by hand.
    const samples = capture
      .filter((m) => m.topic.endsWith('node_02/telemetry'))
      .map((m) => JSON.parse(m.payload) as { power_kw: number; timestamp: string })
      .map((p) => [Date.parse(p.timestamp), p.power_kw] as const)
      .filter(([t]) => t >= s02.startTs);
    let kwh = 0;
    for (let i = 1; i < samples.length; i++) {
      const [t0, p0] = samples[i - 1]!;
      const [t1, p1] = samples[i]!;
      kwh += trapezoidKwh(p0, p1, t0, t1);
    }
    assert.ok(kwh > 0.1);
    assert.ok(Math.abs(s02.energyKwh - kwh) < 1e-9, `${s02.energyKwh} vs ${kwh}`);
    // A new vehicle report (no timestamp: "now", after the capture's own untimed report of 35).
    nr.getNode('t').receive({
      topic: 'iot/vehicles/vehicle_01/telemetry',
      payload: '{"geo_location":{"latitude":44.64,"longitude":10.92},"battery_level":36,"is_charging":true}',
    });
    await until(() =>
      ofType(changesOf(tc), 'soc').some((c) => c.vehicleId === 'vehicle_01' && c.value === 36),
    );
    const counts = f.counters.snapshot().byKind;
    assert.equal(counts.hubInfo?.accepted, 1);
    assert.equal(counts.nodeStatus?.accepted, 5);
    assert.equal(counts.vehicleTelemetry?.accepted, 2);
  });

  it('rejects each kind of bad message on output 2 naming the field, counts it, and changes nothing', async () => {
    await nr.load([fleetNode, registryNode, trackerNode], twinFlow());
    const [rc, rx, tc, tx] = ['rc', 'rx', 'tc', 'tx'].map(collect) as [Msg[], Msg[], Msg[], Msg[]];
    nr.getNode('r').receive({
      topic: 'iot/hubs/hub_01/nodes/node_01/info',
      payload: '{"node_id":"node_01","hub_id":"hub_01","max_power_kw":78}',
    });
    await until(() => rc.length === 1);
    const before = fleet().twin.snapshot();

    const cases: Array<{ node: 'r' | 't'; topic: string; payload: unknown; expect: RegExp }> = [
      {
        node: 'r',
        topic: 'iot/hubs/hub_01/info',
        payload: '{"hub_id":"hub_01",',
        expect: /payload: not valid JSON/,
      },
      {
        node: 'r',
        topic: 'iot/hubs/hub_01/nodes/node_01/info',
        payload: '{"node_id":"node_01","hub_id":"hub_01","max_power_kw":"78"}',
        expect: /NodeInfo\.max_power_kw: /,
      },
      {
        node: 'r',
        topic: 'iot/hubs/hub_01/nodes/node_01/info',
        payload: '{"node_id":"node_01","hub_id":"hub_01","max_power_kw":351}',
        expect: /NodeInfo\.max_power_kw: must be <= 350/,
      },
      {
        node: 'r',
        topic: 'iot/hubs/hub_01/nodes/node_01/info',
        payload: '{"node_id":"node_01","hub_id":"hub_02","max_power_kw":50}',
        expect: /NodeInfo\.hub_id/,
      },
      {
        node: 't',
        topic: 'iot/hubs/hub_01/nodes/node_01/telemetry',
        payload:
          '{"voltage":1,"current":1,"power_kw":-1,"power_limit_kw":10,"is_occupied":"yes","timestamp":"2026-11-26T07:13:45Z"}',
        expect: /NodeTelemetry\.power_kw: must be >= 0.*NodeTelemetry\.is_occupied/,
      },
      {
        node: 't',
        topic: 'iot/vehicles/vehicle_01/telemetry',
        payload: '{"geo_location":{"latitude":91,"longitude":0},"battery_level":50.5,"is_charging":false}',
        expect: /VehicleTelemetry\.geo_location\.latitude: must be <= 90/,
      },
      { node: 'r', topic: 'iot/hubs/hub_01/firmware', payload: '{}', expect: /topic: unknown topic/ },
      {
        node: 'r',
        topic: `iot/hubs/${'h'.repeat(51)}/info`,
        payload: '{}',
        expect: /topic: hub_id must be 1-50/,
      },
      {
        node: 'r',
        topic: 'iot/hubs/hub\u0007x/status',
        payload: '{}',
        expect: /topic: hub_id must not contain control/,
      },
      {
        node: 't',
        topic: 'iot/hubs/hub_01/nodes/node_01/telemetry',
        payload: Buffer.alloc(1 << 20, 0x20),
        expect: /payload: too large/,
      },
    ];
    for (const c of cases) {
      const out = c.node === 'r' ? rx : tx;
      const n = out.length;
      nr.getNode(c.node).receive({ topic: c.topic, payload: c.payload });
      await until(() => out.length === n + 1, 2000, c.topic);
      assert.match(errorOf(out[n]), c.expect, c.topic);
      assert.equal((out[n]?.error as { source?: { type?: string } }).source?.type, nr.getNode(c.node).type);
    }
    assert.equal(rc.length, 1, 'no changes from rejected messages');
    assert.equal(tc.length, 0);
    assert.deepEqual(fleet().twin.snapshot(), before, 'a rejected message changes nothing');
    const totals = Object.values(fleet().counters.snapshot().byKind).reduce((a, k) => a + k.rejected, 0);
    assert.equal(totals, cases.length);
  });

  it('rejects messages of the wrong kind, naming the kind (registry: info/status; tracker: telemetry)', async () => {
    await nr.load([fleetNode, registryNode, trackerNode], twinFlow());
    const [rc, rx, tc, tx] = ['rc', 'rx', 'tc', 'tx'].map(collect) as [Msg[], Msg[], Msg[], Msg[]];
    nr.getNode('r').receive({
      topic: 'iot/hubs/hub_01/nodes/node_01/telemetry',
      payload:
        '{"voltage":1,"current":1,"power_kw":1,"power_limit_kw":10,"is_occupied":false,"timestamp":"2026-11-26T07:13:45Z"}',
    });
    nr.getNode('t').receive({ topic: 'iot/hubs/hub_01/status', payload: '{"state":"online","cpu_temp":40}' });
    nr.getNode('t').receive({
      topic: 'iot/hubs/hub_01/dlm/events',
      payload:
        '{"trigger_reason":"x","original_limit":1,"new_limit":2,"affected_node_id":"node_01","total_grid_load":1,"available_capacity":0}',
    });
    await until(() => rx.length === 1 && tx.length === 2);
    // The test helper does not load message catalogues: RED._ answers with the key.
    assert.equal(errorOf(rx[0]), 'wpt-hub-registry.errors.kind');
    assert.equal(errorOf(tx[0]), 'wpt-soc-tracker.errors.kind');
    assert.equal(errorOf(tx[1]), 'wpt-soc-tracker.errors.kind');
    for (const type of ['wpt-hub-registry', 'wpt-soc-tracker']) {
      const text = (
        require(`../../nodes/${type}/locales/en-US/${type}.json`) as Record<
          string,
          { errors: Record<string, string> }
        >
      )[type]?.errors.kind;
      assert.match(text ?? '', /__kind__.*__topic__/, `${type}: the message names the kind and the topic`);
    }
    assert.deepEqual([rc.length, tc.length], [0, 0]);
    assert.equal(fleet().twin.stats().hubs, 0, 'nothing applied');
    // Counted as rejected (what /api/ingest shows), never as accepted.
    const byKind = fleet().counters.snapshot().byKind;
    assert.deepEqual(
      [byKind.nodeTelemetry, byKind.hubStatus, byKind.dlmEvent].map((k) => [k?.accepted, k?.rejected]),
      [
        [0, 1],
        [0, 1],
        [0, 1],
      ],
    );
  });

  it('takes messages already decoded by wpt-validate (msg.wpt) without decoding them again', async () => {
    await nr.load(
      [fleetNode, registryNode, trackerNode, validateNode],
      [
        ...twinFlow(),
        { id: 'v', type: 'wpt-validate', fleet: 'f', wires: [['r'], ['vx']] },
        { id: 'vx', type: 'helper' },
      ],
    );
    const rc = collect('rc');
    nr.getNode('v').receive({
      topic: 'iot/hubs/hub_07/info',
      payload:
        '{"hub_id":"hub_07","location":{"latitude":45,"longitude":9},"max_grid_capacity_kw":22,"ip_address":"10.0.0.7","firmware_version":"2.1"}',
    });
    await until(() => rc.length === 1);
    const hub = ofType(changesOf(rc), 'hub-upserted')[0];
    assert.equal(hub?.hub.maxGridCapacityKw, 22);
    assert.equal(hub?.hub.ipAddress, '10.0.0.7');
    // Counted once (by wpt-validate), not twice.
    assert.equal(fleet().counters.snapshot().byKind.hubInfo?.accepted, 1);
  });

  it("sends changes of the fleet's clock once, from the node that owns their type", async () => {
    await nr.load([fleetNode, registryNode, trackerNode], twinFlow({ staleAfterS: 0.3, tickMs: 50 }));
    const [rc, , tc] = ['rc', 'rx', 'tc'].map(collect) as [Msg[], Msg[], Msg[]];
    nr.getNode('r').receive({ topic: 'iot/hubs/hub_01/status', payload: '{"state":"online","cpu_temp":40}' });
    await until(() => rc.some((m) => m.topic === 'tick'), 3000, 'a tick message');
    const tick = rc.find((m) => m.topic === 'tick');
    const stale = ofType((tick?.payload ?? []) as TwinChange[], 'hub-state')[0];
    assert.equal(stale?.stale, true);
    assert.equal(stale?.available, false);
    assert.equal(
      tc.filter((m) => m.topic === 'tick').length,
      0,
      'the tracker does not send hub changes of the clock',
    );
  });
});

describe('nodes: wpt-fleet restores from PostgreSQL', function () {
  this.timeout(30000);
  let db: string;
  let client: pg.Client;
  const startTs = Date.parse('2026-11-26T08:00:00.000Z');
  const lastTs = startTs + 60_000;
  const sessionId = `hub_r/node_1/${startTs}`;

  before(async () => {
    await nr.startServer();
    db = await createTestDatabase();
    const pool = createPool({ connectionString: db });
    try {
      await migrate(pool);
      // What a previous run left: a hub, a charging node (last sample 40 kW), an open session.
      await upsertHubs(pool, [
        {
          hub_id: 'hub_r',
          latitude: 44.6,
          longitude: 10.9,
          altitude: 50,
          max_grid_capacity_kw: 140,
          state: 'online',
          last_seen: lastTs,
        },
      ]);
      await upsertNodes(pool, [
        {
          hub_id: 'hub_r',
          node_id: 'node_1',
          max_power_kw: 78,
          state: 'charging',
          current_vehicle_id: 'ev_1',
          power_kw: 40,
          power_limit_kw: 78,
          last_seen: lastTs,
        },
        { hub_id: 'hub_r', node_id: 'node_2', max_power_kw: 78, state: 'idle' },
      ]);
      await upsertVehicles(pool, [{ vehicle_id: 'ev_1', soc: 30, soc_source: 'node', soc_class: 'normal' }]);
      await upsertSessions(pool, [
        {
          session_id: sessionId,
          hub_id: 'hub_r',
          node_id: 'node_1',
          vehicle_id: 'ev_1',
          start_time: startTs,
          energy_kwh: 0.5,
          peak_power_kw: 45,
          start_soc: 25,
          end_soc: 30,
          last_sample_at: lastTs,
        },
      ]);
    } finally {
      await pool.end();
    }
    client = new pg.Client({ connectionString: db });
    await client.connect();
  });
  after(async () => {
    await client?.end();
    await nr.stopServer();
  });
  afterEach(() => nr.unload());

  it('restores hubs, nodes, vehicles and the open session; the session then continues (same id, more energy, one open row)', async () => {
    await nr.load(
      [fleetNode, registryNode, trackerNode, postgresNode, storeNode],
      [
        { id: 'p', type: 'wpt-postgres', url: db },
        {
          id: 'f',
          type: 'wpt-fleet',
          postgres: 'p',
          staleAfterS: 10,
        },
        { id: 'r', type: 'wpt-hub-registry', fleet: 'f', wires: [['s', 'rc'], ['rx']] },
        { id: 't', type: 'wpt-soc-tracker', fleet: 'f', wires: [['s', 'tc'], ['tx']] },
        { id: 's', type: 'wpt-store', postgres: 'p', flushMs: 10 },
        { id: 'rc', type: 'helper' },
        { id: 'rx', type: 'helper' },
        { id: 'tc', type: 'helper' },
        { id: 'tx', type: 'helper' },
      ],
    );
    const f = fleet();
    await f.ready;
    const twin = f.twin;
    assert.deepEqual(twin.stats(), { hubs: 1, nodes: 2, vehicles: 1, openSessions: 1 });
    assert.equal(twin.hub('hub_r')?.maxGridCapacityKw, 140);
    assert.equal(twin.hub('hub_r')?.available, true, 'not stale because of our own downtime');
    assert.equal(twin.node('hub_r', 'node_1')?.state, 'charging');
    assert.equal(twin.node('hub_r', 'node_2')?.maxPowerKw, 78);
    assert.equal(twin.vehicle('ev_1')?.soc, 30);
    const restored = twin.openSession('hub_r', 'node_1');
    assert.equal(restored?.sessionId, sessionId);
    assert.equal(restored?.energyKwh, 0.5);

    const tc = collect('tc');
    const tx = collect('tx');
    // The hub goes on charging: a retained status (same as before) and new telemetry.
    nr.getNode('r').receive({
      topic: 'iot/hubs/hub_r/nodes/node_1/status',
      payload: `{"state":"charging","current_vehicle_id":"ev_1","error_code":0,"timestamp":"${new Date(startTs).toISOString()}"}`,
    });
    const powers = [50, 60];
    powers.forEach((p, i) =>
      nr.getNode('t').receive({
        topic: 'iot/hubs/hub_r/nodes/node_1/telemetry',
        payload: JSON.stringify({
          voltage: 400,
          current: 100,
          power_kw: p,
          power_limit_kw: 78,
          is_occupied: true,
          connected_vehicle_id: 'ev_1',
          current_vehicle_soc: 31 + i,
          timestamp: new Date(lastTs + 2000 * (i + 1)).toISOString(),
        }),
      }),
    );
    await until(() => ofType(changesOf(tc), 'session-updated').length === 2, 5000, 'two session updates');
    assert.equal(tx.length, 0, errorOf(tx[0]));
    const expected =
      0.5 + trapezoidKwh(40, 50, lastTs, lastTs + 2000) + trapezoidKwh(50, 60, lastTs + 2000, lastTs + 4000);
    const s = twin.openSession('hub_r', 'node_1');
    assert.equal(s?.sessionId, sessionId, 'the same session, not a new one');
    assert.ok(Math.abs((s?.energyKwh ?? 0) - expected) < 1e-12, `${s?.energyKwh} vs ${expected}`);
    assert.equal(s?.peakPowerKw, 60);

    await until(
      async () => {
        const r = await client.query<{ energy_kwh: number }>(
          'SELECT energy_kwh FROM charging_sessions WHERE session_id = $1',
          [sessionId],
        );
        return Math.abs((r.rows[0]?.energy_kwh ?? 0) - expected) < 1e-12;
      },
      5000,
      'the stored energy',
    );
    const rows = await client.query<{ session_id: string; end_time: Date | null; peak_power_kw: number }>(
      'SELECT session_id, end_time, peak_power_kw FROM charging_sessions',
    );
    assert.equal(rows.rows.length, 1, 'no second session');
    assert.equal(rows.rows[0]?.end_time, null, 'still open');
    assert.equal(rows.rows[0]?.peak_power_kw, 60);
  });

  it('runs from live messages when the database cannot be read, and says so', async () => {
    await nr.load(
      [fleetNode, registryNode, trackerNode, postgresNode],
      [
        { id: 'p', type: 'wpt-postgres', url: 'postgres://nobody@127.0.0.1:1/none' },
        { id: 'f', type: 'wpt-fleet', postgres: 'p' },
        { id: 'r', type: 'wpt-hub-registry', fleet: 'f', wires: [['rc'], ['rx']] },
        { id: 'rc', type: 'helper' },
        { id: 'rx', type: 'helper' },
      ],
    );
    await fleet().ready;
    const logged = (
      nr as unknown as { log(): { args: Array<[{ level: number; msg: unknown; type?: string }]> } }
    )
      .log()
      .args.map((a) => a[0])
      .filter((e) => e.type === 'wpt-fleet');
    const rc = collect('rc');
    nr.getNode('r').receive({ topic: 'iot/hubs/hub_9/status', payload: '{"state":"online","cpu_temp":40}' });
    await until(() => rc.length === 1, 15000, 'the status applied');
    assert.equal(fleet().twin.stats().hubs, 1);
    assert.ok(
      logged.some((e) => e.level === 20 && e.msg === 'wpt-fleet.errors.restore'),
      `fleet log: ${JSON.stringify(logged)}`,
    );
  });
});

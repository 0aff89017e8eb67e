// wpt-twin and wpt-fleet with node-red-node-test-helper: messages in, change lists out (output 1),
// answers (output 2), refusals naming the field (output 3), the twin's clock, one twin node per
// fleet, the first wave's node names, and the fleet restored from a real PostgreSQL database (an
// open session continues after a restart).
import assert from 'node:assert/strict';
import pg from 'pg';
import { nr } from '../helpers/node-red';
import { createTestDatabase } from '../helpers/services';
import { readCapture } from '../helpers/runtime';
import type { Twin, TwinChange } from '../../core/twin';
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
const twinNode = require('../../nodes/wpt-twin/wpt-twin');
const decodeNode = require('../../nodes/wpt-decode/wpt-decode');
const postgresNode = require('../../nodes/wpt-postgres/wpt-postgres');
const storeNode = require('../../nodes/wpt-store/wpt-store');

type Msg = Record<string, unknown>;
type Counters = { snapshot(): { byKind: Record<string, { accepted: number; rejected: number }> } };
interface FleetLike {
  twin: Twin;
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

/** One fleet, one twin node 't' with helpers on its outputs: tc (changes), ta (answers), tx (refused). */
function twinFlow(
  fleetProps: Record<string, unknown> = {},
  twinProps: Record<string, unknown> = {},
): unknown[] {
  return [
    { id: 'f', type: 'wpt-fleet', name: 'fleet', ...fleetProps },
    { id: 't', type: 'wpt-twin', fleet: 'f', ...twinProps, wires: [['tc'], ['ta'], ['tx']] },
    { id: 'tc', type: 'helper' },
    { id: 'ta', type: 'helper' },
    { id: 'tx', type: 'helper' },
  ];
}

describe('node: wpt-twin', function () {
  this.timeout(20000);
  before(() => nr.startServer());
  after(() => nr.stopServer());
  afterEach(() => nr.unload());

  it('turns the original capture into change lists: hub 140 kW, three 78 kW nodes, two sessions with their energy', async () => {
    await nr.load([fleetNode, twinNode], twinFlow());
    const [tc, tx] = ['tc', 'tx'].map(collect) as [Msg[], Msg[]];
    const capture = readCapture().filter((m) => /\/(info|status|telemetry)$/.test(m.topic));
    for (const m of capture) nr.getNode('t').receive({ topic: m.topic, payload: Buffer.from(m.payload) });
    const f = fleet();
    await until(() => f.counters.snapshot().byKind.nodeTelemetry?.accepted === 36, 5000, 'all telemetry');
    await until(
      () => ofType(changesOf(tc), 'node-telemetry').length === 36,
      5000,
      'every telemetry change sent',
    );
    assert.equal(tx.length, 0, errorOf(tx[0]));
    // Changes of one event-loop turn leave as one message: far fewer messages than inputs.
    assert.ok(tc.length < capture.length, `${tc.length} messages for ${capture.length} inputs`);
    assert.ok(tc.every((m) => m.topic === 'twin/changes'));

    const cs = changesOf(tc);
    const hub = ofType(cs, 'hub-upserted').at(-1);
    assert.equal(hub?.hub.maxGridCapacityKw, 140);
    assert.deepEqual(hub?.hub.location, { latitude: 44.6469, longitude: 10.9252, altitude: 50 });
    assert.deepEqual(
      ofType(cs, 'node-upserted')
        .map((c) => [c.nodeId, c.node.maxPowerKw])
        .sort(),
      [
        ['node_01', 78],
        ['node_02', 78],
        ['node_03', 78],
      ],
    );
    assert.deepEqual(
      ofType(cs, 'session-opened').map((c) => [c.nodeId, c.vehicleId]),
      [
        ['node_01', 'vehicle_01'],
        ['node_02', 'vehicle_02'],
      ],
    );
    const last02 = ofType(cs, 'session-updated')
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

  it('refuses each kind of bad message on output 3 naming the field, counts it, and changes nothing', async () => {
    await nr.load([fleetNode, twinNode], twinFlow());
    const [tc, tx] = ['tc', 'tx'].map(collect) as [Msg[], Msg[]];
    nr.getNode('t').receive({
      topic: 'iot/hubs/hub_01/nodes/node_01/info',
      payload: '{"node_id":"node_01","hub_id":"hub_01","max_power_kw":78}',
    });
    await until(() => tc.length === 1);
    const before = fleet().twin.snapshot();
    const cases: Array<{ topic: string; payload: unknown; expect: RegExp }> = [
      { topic: 'iot/hubs/hub_01/info', payload: '{"hub_id":"hub_01",', expect: /payload: not valid JSON/ },
      {
        topic: 'iot/hubs/hub_01/nodes/node_01/info',
        payload: '{"node_id":"node_01","hub_id":"hub_01","max_power_kw":"78"}',
        expect: /NodeInfo\.max_power_kw: /,
      },
      {
        topic: 'iot/hubs/hub_01/nodes/node_01/info',
        payload: '{"node_id":"node_01","hub_id":"hub_01","max_power_kw":351}',
        expect: /NodeInfo\.max_power_kw: must be <= 350/,
      },
      {
        topic: 'iot/hubs/hub_01/nodes/node_01/info',
        payload: '{"node_id":"node_01","hub_id":"hub_02","max_power_kw":50}',
        expect: /NodeInfo\.hub_id/,
      },
      {
        topic: 'iot/hubs/hub_01/nodes/node_01/telemetry',
        payload:
          '{"voltage":1,"current":1,"power_kw":-1,"power_limit_kw":10,"is_occupied":"yes","timestamp":"2026-11-26T07:13:45Z"}',
        expect: /NodeTelemetry\.power_kw: must be >= 0.*NodeTelemetry\.is_occupied/,
      },
      {
        topic: 'iot/vehicles/vehicle_01/telemetry',
        payload: '{"geo_location":{"latitude":91,"longitude":0},"battery_level":50.5,"is_charging":false}',
        expect: /VehicleTelemetry\.geo_location\.latitude: must be <= 90/,
      },
      { topic: 'iot/hubs/hub_01/firmware', payload: '{}', expect: /topic: unknown topic/ },
      { topic: `iot/hubs/${'h'.repeat(51)}/info`, payload: '{}', expect: /topic: hub_id must be 1-50/ },
      {
        topic: 'iot/hubs/hub\u0007x/status',
        payload: '{}',
        expect: /topic: hub_id must not contain control/,
      },
      {
        topic: 'iot/hubs/hub_01/nodes/node_01/telemetry',
        payload: Buffer.alloc(1 << 20, 0x20),
        expect: /payload: too large/,
      },
    ];
    for (const c of cases) {
      const n = tx.length;
      nr.getNode('t').receive({ topic: c.topic, payload: c.payload });
      await until(() => tx.length === n + 1, 2000, c.topic);
      assert.match(errorOf(tx[n]), c.expect, c.topic);
      assert.equal((tx[n]?.error as { source?: { type?: string } }).source?.type, 'wpt-twin');
    }
    assert.equal(tc.length, 1, 'no changes from refused messages');
    assert.deepEqual(fleet().twin.snapshot(), before, 'a refused message changes nothing');
    const totals = Object.values(fleet().counters.snapshot().byKind).reduce((a, k) => a + k.rejected, 0);
    assert.equal(totals, cases.length);
  });

  it('takes messages decoded by wpt-decode (msg.wpt) without decoding or counting them again', async () => {
    await nr.load(
      [fleetNode, twinNode, decodeNode],
      [
        ...twinFlow(),
        { id: 'd', type: 'wpt-decode', fleet: 'f', wires: [['t'], ['dx']] },
        { id: 'dx', type: 'helper' },
      ],
    );
    const tc = collect('tc');
    nr.getNode('d').receive({
      topic: 'iot/hubs/hub_07/info',
      payload:
        '{"hub_id":"hub_07","location":{"latitude":45,"longitude":9},"max_grid_capacity_kw":22,"ip_address":"10.0.0.7","firmware_version":"2.1"}',
    });
    await until(() => tc.length === 1);
    const hub = ofType(changesOf(tc), 'hub-upserted')[0];
    assert.equal(hub?.hub.maxGridCapacityKw, 22);
    assert.equal(hub?.hub.ipAddress, '10.0.0.7');
    assert.equal(fleet().counters.snapshot().byKind.hubInfo?.accepted, 1);
  });

  it("sends the changes of the twin's clock (a hub going stale) on output 1", async () => {
    await nr.load([fleetNode, twinNode], twinFlow({ staleAfterS: 0.3 }, { tickMs: 100 }));
    const tc = collect('tc');
    nr.getNode('t').receive({ topic: 'iot/hubs/hub_01/status', payload: '{"state":"online","cpu_temp":40}' });
    await until(
      () => ofType(changesOf(tc), 'hub-state').some((c) => c.stale && !c.available),
      3000,
      'the hub going stale',
    );
  });

  it('takes a vehicle request: accepted, the node is assigned (node-assigned); refused, output 3 with the reason; output 2 stays for commands', async () => {
    await nr.load([fleetNode, twinNode], twinFlow());
    const [tc, ta, tx] = ['tc', 'ta', 'tx'].map(collect) as [Msg[], Msg[], Msg[]];
    const t = nr.getNode('t');
    t.receive({
      topic: 'iot/hubs/hub_01/info',
      payload:
        '{"hub_id":"hub_01","location":{"latitude":45,"longitude":9},"max_grid_capacity_kw":100,"ip_address":"10.0.0.1","firmware_version":"1"}',
    });
    t.receive({ topic: 'iot/hubs/hub_01/status', payload: '{"state":"online","cpu_temp":40}' });
    t.receive({
      topic: 'iot/hubs/hub_01/nodes/node_01/info',
      payload: '{"node_id":"node_01","hub_id":"hub_01","max_power_kw":50}',
    });
    t.receive({
      topic: 'iot/hubs/hub_01/nodes/node_01/status',
      payload: '{"state":"idle","current_vehicle_id":null,"error_code":0}',
    });
    t.receive({
      topic: 'iot/hubs/hub_01/requests',
      payload: '{"vehicle_id":"ev_1","node_id":"node_01","soc_percent":30}',
    });
    await until(() => ofType(changesOf(tc), 'node-assigned').length === 1);
    assert.equal(fleet().twin.node('hub_01', 'node_01')?.assignedVehicleId, 'ev_1');

    t.receive({
      topic: 'iot/hubs/hub_01/requests',
      payload: '{"vehicle_id":"ev_2","node_id":"node_09","soc_percent":30}',
    });
    await until(() => tx.length === 1, 3000, 'the refusal');
    assert.equal((tx[0]?.error as { reason?: string }).reason, 'unknown-node');
    assert.equal(ta.length, 0, 'no answer for MQTT requests');
  });

  it('bounds the fleet: a message that would create a hub beyond maxHubs is refused (reason limit-hubs), counted, and nothing of it is kept', async () => {
    await nr.load([fleetNode, twinNode], twinFlow({ maxHubs: 2 }));
    const [tc, tx] = ['tc', 'tx'].map(collect) as [Msg[], Msg[]];
    for (const h of ['hub_a', 'hub_b', 'hub_c', 'hub_a'])
      nr.getNode('t').receive({ topic: `iot/hubs/${h}/status`, payload: '{"state":"online","cpu_temp":40}' });
    await until(() => tx.length === 1, 3000, 'the refusal');
    assert.equal((tx[0]?.error as { reason?: string }).reason, 'limit-hubs');
    assert.match(errorOf(tx[0]), /maxHubs/);
    const counts = fleet().counters.snapshot().byKind.hubStatus;
    assert.deepEqual([counts?.accepted, counts?.rejected], [3, 1], 'the refusal is counted');
    // hub_a's second status may or may not be a change (same state): the two admitted hubs are.
    const statusOf = () => new Set(ofType(changesOf(tc), 'hub-status').map((c) => c.hubId));
    await until(() => statusOf().size === 2, 10_000, 'the others applied');
    assert.deepEqual([...statusOf()].sort(), ['hub_a', 'hub_b']);
    assert.deepEqual(
      fleet()
        .twin.hubs()
        .map((h) => h.hubId)
        .sort(),
      ['hub_a', 'hub_b'],
    );
  });

  it('takes a retained status as no sign of life: a silent hub is not revived by what the broker kept for it', async () => {
    await nr.load([fleetNode, twinNode], twinFlow());
    const tc = collect('tc');
    const old = new Date(Date.now() - 3 * 86_400_000).toISOString();
    nr.getNode('t').receive({
      topic: 'iot/hubs/hub_dead/status',
      payload: `{"state":"online","cpu_temp":40,"timestamp":"${old}"}`,
      retain: true,
    });
    nr.getNode('t').receive({
      topic: 'iot/hubs/hub_live/status',
      payload: '{"state":"online","cpu_temp":40}',
      retain: true,
    });
    await until(() => ofType(changesOf(tc), 'hub-status').length === 2);
    assert.equal(fleet().twin.hub('hub_dead')?.available, false, 'an old retained status');
    assert.equal(fleet().twin.hub('hub_live')?.available, false, 'a retained status, however recent');
    nr.getNode('t').receive({
      topic: 'iot/hubs/hub_live/status',
      payload: '{"state":"online","cpu_temp":41}',
    });
    await until(() => fleet().twin.hub('hub_live')?.available === true, 3000, 'a live status revives it');
  });

  it('cluster mode (msg.watch): sessions only on hubs watched, continued from what the previous owner stored', async () => {
    await nr.load([fleetNode, twinNode], twinFlow());
    const tc = collect('tc');
    const t = nr.getNode('t');
    const now = Date.now();
    const status = (hub: string, state: string, vehicle: string | null) =>
      t.receive({
        topic: `iot/hubs/${hub}/nodes/n1/status`,
        payload: JSON.stringify({ state, current_vehicle_id: vehicle, error_code: 0 }),
      });
    t.receive({ topic: 'twin/watch', watch: { ownedOnly: true } });
    status('h1', 'charging', 'ev1');
    status('h2', 'charging', 'ev2');
    await until(() => ofType(changesOf(tc), 'node-status').length === 2, 3000, 'both statuses applied');
    assert.deepEqual(ofType(changesOf(tc), 'session-opened'), [], 'no session where the hub is not watched');
    // h1 acquired, with the session its previous owner stored.
    const stored = { hubId: 'h1', nodeId: 'n1', vehicleId: 'ev1', startTs: now - 60000, energyKwh: 2.5 };
    t.receive({ topic: 'twin/watch', watch: { watch: [{ hubId: 'h1', sessions: [stored] }] } });
    const f = fleet();
    await until(() => f.twin.openSession('h1', 'n1') !== undefined, 3000, 'the stored session continued');
    assert.equal(f.twin.openSession('h1', 'n1')?.energyKwh, 2.5);
    assert.equal(f.twin.openSession('h2', 'n1'), undefined);
    // A bad order is an error of this message; nothing changes.
    const errored = new Promise<unknown>((resolve) => t.on('call:error', (c) => resolve(c.args[0])));
    t.receive({ topic: 'twin/watch', watch: { unwatch: 'h1' } });
    assert.match(String(await errored), /wpt-twin\.errors\.watch/);
    assert.equal(f.twin.isWatched('h1'), true);
    t.receive({ topic: 'twin/watch', watch: { unwatch: ['h1'] } });
    await until(() => !f.twin.isWatched('h1'), 3000, 'h1 released');
    assert.equal(f.twin.openSession('h1', 'n1'), undefined);
    assert.deepEqual(
      ofType(changesOf(tc), 'session-closed'),
      [],
      'a release closes nothing: the next owner continues',
    );
  });

  it('holds one fleet with one twin node: a second one refuses, naming the first', async () => {
    await nr.load(
      [fleetNode, twinNode],
      [...twinFlow(), { id: 't2', type: 'wpt-twin', fleet: 'f', wires: [[], [], []] }],
    );
    const second = nr.getNode('t2');
    const errored = new Promise<unknown>((resolve) => second.on('call:error', (c) => resolve(c.args[0])));
    second.receive({ topic: 'iot/hubs/h/status', payload: '{"state":"online","cpu_temp":40}' });
    assert.match(String(await errored), /wpt-twin\.errors\.taken/);
  });

  it("loads the first wave's wpt-hub-registry and wpt-soc-tracker and says wpt-twin replaces them", async () => {
    await nr.load(
      [fleetNode, twinNode],
      [
        { id: 'f', type: 'wpt-fleet' },
        { id: 'r', type: 'wpt-hub-registry', fleet: 'f', wires: [[], []] },
        { id: 's', type: 'wpt-soc-tracker', fleet: 'f', wires: [[], []] },
      ],
    );
    for (const id of ['r', 's']) {
      const n = nr.getNode(id);
      const errored = new Promise<unknown>((resolve) => n.on('call:error', (c) => resolve(c.args[0])));
      n.receive({ topic: 'iot/hubs/h/status', payload: '{"state":"online","cpu_temp":40}' });
      assert.match(String(await errored), /wpt-twin\.errors\.replaced/);
    }
    const text = (
      require('../../nodes/wpt-twin/locales/en-US/wpt-twin.json') as {
        'wpt-twin': { errors: { replaced: string } };
      }
    )['wpt-twin'].errors.replaced;
    assert.match(text, /__type__ was replaced by wpt-twin/);
  });
});

describe('node: wpt-fleet restores from PostgreSQL', function () {
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
      [fleetNode, twinNode, postgresNode, storeNode],
      [
        { id: 'p', type: 'wpt-postgres', url: db },
        { id: 'f', type: 'wpt-fleet', postgres: 'p', staleAfterS: 10 },
        { id: 't', type: 'wpt-twin', fleet: 'f', wires: [['s', 'tc'], [], ['tx']] },
        { id: 's', type: 'wpt-store', postgres: 'p', flushMs: 10 },
        { id: 'tc', type: 'helper' },
        { id: 'tx', type: 'helper' },
      ],
    );
    const f = fleet();
    await f.ready;
    const twin = f.twin;
    assert.deepEqual(twin.stats(), { hubs: 1, nodes: 2, vehicles: 1, openSessions: 1 });
    assert.equal(twin.hub('hub_r')?.maxGridCapacityKw, 140);
    // Stale by the age of its last message (days ago): a restart never revives a hub.
    assert.equal(twin.hub('hub_r')?.available, false, 'stale: last heard days ago');
    assert.equal(twin.node('hub_r', 'node_1')?.state, 'charging');
    assert.equal(twin.node('hub_r', 'node_2')?.maxPowerKw, 78);
    assert.equal(twin.vehicle('ev_1')?.soc, 30);
    const restored = twin.openSession('hub_r', 'node_1');
    assert.equal(restored?.sessionId, sessionId);
    assert.equal(restored?.energyKwh, 0.5);

    const tc = collect('tc');
    const tx = collect('tx');
    nr.getNode('t').receive({
      topic: 'iot/hubs/hub_r/nodes/node_1/status',
      payload: `{"state":"charging","current_vehicle_id":"ev_1","error_code":0,"timestamp":"${new Date(startTs).toISOString()}"}`,
    });
    [50, 60].forEach((p, i) =>
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
      [fleetNode, twinNode, postgresNode],
      [
        { id: 'p', type: 'wpt-postgres', url: 'postgres://nobody@127.0.0.1:1/none' },
        { id: 'f', type: 'wpt-fleet', postgres: 'p' },
        { id: 't', type: 'wpt-twin', fleet: 'f', wires: [['tc'], [], ['tx']] },
        { id: 'tc', type: 'helper' },
        { id: 'tx', type: 'helper' },
      ],
    );
    await fleet().ready;
    const logged = (
      nr as unknown as { log(): { args: Array<[{ level: number; msg: unknown; type?: string }]> } }
    )
      .log()
      .args.map((a) => a[0])
      .filter((e) => e.type === 'wpt-fleet');
    const tc = collect('tc');
    nr.getNode('t').receive({ topic: 'iot/hubs/hub_9/status', payload: '{"state":"online","cpu_temp":40}' });
    await until(() => tc.length === 1, 15000, 'the status applied');
    assert.equal(fleet().twin.stats().hubs, 1);
    assert.ok(
      logged.some((e) => e.level === 20 && e.msg === 'wpt-fleet.errors.restore'),
      `fleet log: ${JSON.stringify(logged)}`,
    );
  });
});

// wpt-subscriptions with node-red-node-test-helper, driving Node-RED's own dynamic `mqtt in`
// on a real broker: one instance subscribes every hub's telemetry and DLM events and every
// vehicle's telemetry; in cluster mode only the hubs owned are subscribed (and watched by the
// twin, with their open sessions read from a real PostgreSQL), and vehicle telemetry goes to
// one instance of the share group. The cluster config node is a stand-in here that owns what
// the test says (the real one, with leases, runs in test/e2e/cluster-e2e.test.ts).
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import mqtt, { type MqttClient } from 'mqtt';
import type { NodeAPI } from 'node-red';
import { nr } from '../helpers/node-red';
import { createTestDatabase, mqttUrl } from '../helpers/services';
import { until } from '../helpers/wait';
import {
  createPool,
  insertAuditLog,
  migrate,
  upsertHubControls,
  upsertHubs,
  upsertNodeControls,
  upsertNodes,
  upsertSessions,
  upsertVehicles,
} from '../../adapters/postgres';

const subscriptionsNode = require('../../nodes/wpt-subscriptions/wpt-subscriptions');
const postgresNode = require('../../nodes/wpt-postgres/wpt-postgres');
const mqttNodes = require('@node-red/nodes/core/network/10-mqtt.js');

type Msg = Record<string, unknown>;

/** A wpt-cluster stand-in: on, owning `owned`; `cycle()` tells the listeners a cycle ran. */
const fake = { owned: [] as string[], bus: new EventEmitter() };
function fakeClusterNode(RED: NodeAPI): void {
  RED.nodes.registerType('wpt-cluster', function (this: Record<string, unknown>, def: never) {
    RED.nodes.createNode(this as never, def);
    this.enabled = true;
    this.ownedHubs = () => [...fake.owned];
    this.onCycle = (fn: () => void) => {
      fake.bus.on('cycle', fn);
      return () => fake.bus.off('cycle', fn);
    };
  } as never);
}
/** A wpt-cluster stand-in that is off, with the sole-orchestrator lock in the state the test says. */
const sole = {
  state: 'standby' as 'starting' | 'sole' | 'unsure' | 'standby',
  holder: 'wpt-dlm other-host pid 1' as string | null,
  bus: new EventEmitter(),
};
function fakeSoleClusterNode(RED: NodeAPI): void {
  RED.nodes.registerType('wpt-cluster', function (this: Record<string, unknown>, def: never) {
    RED.nodes.createNode(this as never, def);
    this.enabled = false;
    this.sole = {
      get state() {
        return sole.state;
      },
      get holder() {
        return sole.holder;
      },
      mayAllocate: () => sole.state !== 'standby',
      settled: Promise.resolve(),
      onChange: (fn: () => void) => {
        sole.bus.on('change', fn);
        return () => sole.bus.off('change', fn);
      },
    };
  } as never);
}
const cycle = (owned: string[]) => {
  fake.owned = owned;
  fake.bus.emit('cycle');
};

function collect(id: string): Msg[] {
  const list: Msg[] = [];
  nr.getNode(id).on('input', (m) => list.push(m));
  return list;
}

const tag = `${process.pid}_${Date.now() % 100000}`;
const MQTT5 = Boolean(process.env.MQTT_URL);
const hubA = `sa_${tag}`;
const hubB = `sb_${tag}`;
const tel = (hub: string) => `iot/hubs/${hub}/nodes/n1/telemetry`;
const veh = (v: string) => `iot/vehicles/${v}/telemetry`;

function flow(
  broker: string,
  clientId: string,
  extra: Record<string, unknown>,
  withCluster: boolean,
): unknown[] {
  return [
    {
      id: 'b',
      type: 'mqtt-broker',
      broker,
      clientid: clientId,
      autoConnect: true,
      protocolVersion: 4,
      keepalive: 10,
      cleansession: true,
    },
    ...(withCluster ? [{ id: 'c', type: 'wpt-cluster' }] : []),
    {
      id: 's',
      type: 'wpt-subscriptions',
      cluster: withCluster ? 'c' : '',
      shareGroup: `g${tag}`,
      // Cluster mode cycles the hub connection to MQTT 5: a broker of the environment (CI's
      // Mosquitto) speaks it, the embedded aedes does not (cluster mode refuses it anyway).
      mqtt5: MQTT5,
      ...extra,
      wires: [['in'], ['vin'], ['twin']],
    },
    {
      id: 'in',
      type: 'mqtt in',
      topic: '',
      qos: '2',
      inputs: 1,
      broker: 'b',
      datatype: 'utf8',
      wires: [['got']],
    },
    // Vehicle telemetry on a connection of its own with a clean session, as in the shipped flow.
    {
      id: 'bv',
      type: 'mqtt-broker',
      broker,
      clientid: `${clientId}-v`,
      autoConnect: true,
      protocolVersion: 4,
      keepalive: 10,
      cleansession: true,
    },
    {
      id: 'vin',
      type: 'mqtt in',
      topic: '',
      qos: '2',
      inputs: 1,
      broker: 'bv',
      datatype: 'utf8',
      wires: [['got']],
    },
    { id: 'got', type: 'helper' },
    { id: 'twin', type: 'helper' },
  ];
}

describe('node: wpt-subscriptions (dynamic mqtt in, real broker)', function () {
  this.timeout(30000);
  let url: string;
  let pub: MqttClient;
  before(async () => {
    await nr.startServer();
    url = await mqttUrl();
    pub = await mqtt.connectAsync(url, { clientId: `wpt-subs-pub-${tag}` });
  });
  after(async () => {
    await pub?.endAsync();
    await nr.stopServer();
  });
  afterEach(() => nr.unload());

  /** Publishes to each topic until `got` has a message of it (the subscription is live). */
  const deliveredTopics = async (got: Msg[], topics: string[], waitMs = 5000): Promise<Set<string>> => {
    const seen = () => new Set(got.map((m) => m.topic as string));
    const until0 = Date.now() + waitMs;
    while (Date.now() < until0 && !topics.every((t) => seen().has(t))) {
      for (const t of topics) if (!seen().has(t)) await pub.publishAsync(t, '{}', { qos: 1 });
      await new Promise((r) => setTimeout(r, 100));
    }
    return seen();
  };

  it('one instance: every hub’s node telemetry and DLM events and every vehicle’s telemetry, nothing to the twin', async () => {
    await nr.load([subscriptionsNode, mqttNodes], flow(url, `wpt-subs-1-${tag}`, {}, false));
    const got = collect('got');
    const twin = collect('twin');
    const topics = [tel(hubA), tel(hubB), `iot/hubs/${hubA}/dlm/events`, veh(`v${tag}`)];
    const seen = await deliveredTopics(got, topics);
    assert.deepEqual(
      topics.filter((t) => !seen.has(t)),
      [],
    );
    // Not subscribed here (the flow's static mqtt in nodes take these).
    await pub.publishAsync(`iot/hubs/${hubA}/status`, '{}', { qos: 1 });
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(!got.some((m) => m.topic === `iot/hubs/${hubA}/status`));
    assert.deepEqual(twin, []);
  });

  it('cluster mode: the owned hubs only, watched by the twin with their stored open sessions; let go on release', async () => {
    const db = await createTestDatabase();
    const pool = createPool({ connectionString: db });
    const start = new Date(Date.now() - 60000);
    try {
      await migrate(pool);
      await upsertHubs(pool, [{ hub_id: hubA, max_grid_capacity_kw: 100, state: 'online' }]);
      await upsertNodes(pool, [{ hub_id: hubA, node_id: 'n1', max_power_kw: 50, state: 'charging' }]);
      await upsertSessions(pool, [
        {
          session_id: `${hubA}/n1/${start.getTime()}`,
          hub_id: hubA,
          node_id: 'n1',
          vehicle_id: 'ev1',
          start_time: start,
          energy_kwh: 1.25,
          peak_power_kw: 40,
          last_sample_at: new Date(start.getTime() + 30000),
        },
      ]);
    } finally {
      await pool.end();
    }
    fake.owned = [];
    await nr.load(
      [subscriptionsNode, mqttNodes, postgresNode, fakeClusterNode],
      [
        ...flow(url, `wpt-subs-2-${tag}`, { postgres: 'p' }, true),
        { id: 'p', type: 'wpt-postgres', url: db },
      ],
    );
    const got = collect('got');
    const twin = collect('twin');
    await until(() => twin.length >= 1, 5000, 'ownedOnly to the twin');
    assert.deepEqual(twin[0]!.watch, { ownedOnly: true });
    if (MQTT5) {
      // The hub connection was cycled to MQTT 5 (subscription identifiers, session ends with it).
      const b = nr.getNode('b') as unknown as { connected: boolean; options: { protocolVersion?: number } };
      await until(() => b.connected && b.options.protocolVersion === 5, 5000, 'the hub connection on MQTT 5');
    }

    cycle([hubA]);
    await until(() => twin.length >= 2, 5000, 'watch of the hub acquired');
    const w = twin[1]!.watch as { watch: Array<{ hubId: string; sessions: Array<Record<string, unknown>> }> };
    assert.equal(w.watch.length, 1);
    assert.equal(w.watch[0]!.hubId, hubA);
    assert.equal(w.watch[0]!.sessions.length, 1);
    assert.equal(w.watch[0]!.sessions[0]!.energyKwh, 1.25);
    assert.equal(w.watch[0]!.sessions[0]!.startTs, start.getTime());
    const seen = await deliveredTopics(got, [tel(hubA), `iot/hubs/${hubA}/dlm/events`]);
    assert.ok(seen.has(tel(hubA)) && seen.has(`iot/hubs/${hubA}/dlm/events`));
    await pub.publishAsync(tel(hubB), '{}', { qos: 1 });
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(!got.some((m) => m.topic === tel(hubB)), 'a hub not owned is not heard');

    cycle([hubB]); // hubA lost, hubB acquired
    await until(() => twin.length >= 4, 5000, 'unwatch and watch');
    assert.deepEqual(twin[2]!.watch, { unwatch: [hubA] });
    assert.deepEqual(
      (twin[3]!.watch as { watch: Array<{ hubId: string }> }).watch.map((x) => x.hubId),
      [hubB],
    );
    await deliveredTopics(got, [tel(hubB)]);
    const before = got.length;
    await pub.publishAsync(tel(hubA), '{}', { qos: 1 });
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(!got.slice(before).some((m) => m.topic === tel(hubA)), 'a hub released is no longer heard');
  });

  it('cluster mode: operator settings another instance stored reach the twin (msg.controls) after their audit record', async () => {
    const db = await createTestDatabase();
    const pool = createPool({ connectionString: db });
    try {
      await migrate(pool);
      await upsertHubs(pool, [{ hub_id: hubA, max_grid_capacity_kw: 100, state: 'online' }]);
      await upsertNodes(pool, [{ hub_id: hubA, node_id: 'n1', max_power_kw: 50, state: 'idle' }]);
      // An action of two minutes ago: before this instance started, not read again.
      await insertAuditLog(pool, [
        {
          event_key: `old-${tag}`,
          ts: new Date(Date.now() - 120000),
          actor: 'ann',
          op: 'hub-active',
          hub_id: hubA,
        },
      ]);
      fake.owned = [];
      await nr.load(
        [subscriptionsNode, mqttNodes, postgresNode, fakeClusterNode],
        [
          ...flow(url, `wpt-subs-4-${tag}`, { postgres: 'p', syncMs: 200 }, true),
          { id: 'p', type: 'wpt-postgres', url: db },
        ],
      );
      const twin = collect('twin');
      await until(() => twin.length >= 1, 5000, 'ownedOnly');
      await new Promise((r) => setTimeout(r, 600));
      assert.deepEqual(
        twin.filter((m) => m.controls !== undefined),
        [],
        'nothing before a new action',
      );
      // Another instance takes two commands: the settings first, then the audit records.
      await upsertHubControls(pool, [{ hub_id: hubA, is_active: false, capacity_override_kw: 30 }]);
      await upsertNodeControls(pool, [{ hub_id: hubA, node_id: 'n1', operator_maintenance: true }]);
      await insertAuditLog(pool, [
        { event_key: `a1-${tag}`, ts: new Date(), actor: 'bob', op: 'hub-active', hub_id: hubA },
        {
          event_key: `a2-${tag}`,
          ts: new Date(),
          actor: 'bob',
          op: 'node-maintenance',
          hub_id: hubA,
          node_id: 'n1',
        },
      ]);
      await until(() => twin.some((m) => m.controls !== undefined), 5000, 'the settings to the twin');
      const c = twin.find((m) => m.controls !== undefined)!.controls as {
        hubs: Array<Record<string, unknown>>;
        nodes: Array<Record<string, unknown>>;
        vehicles: unknown[];
      };
      assert.deepEqual(
        c.hubs.map((h) => [h.hubId, h.active, (h.capacityOverride as { kw?: number } | null)?.kw]),
        [[hubA, false, 30]],
      );
      assert.deepEqual(
        c.nodes.map((n) => [n.hubId, n.nodeId, n.operatorMaintenance]),
        [[hubA, 'n1', true]],
      );
      assert.deepEqual(c.vehicles, []);
      // Read once: no repeat without a new action.
      const n = twin.length;
      await new Promise((r) => setTimeout(r, 600));
      assert.equal(twin.length, n);
    } finally {
      await pool.end();
    }
  });

  it('cluster mode: the node telemetry other instances store and the vehicles they heard reach the twin (msg.remote), not the hubs owned', async () => {
    const db = await createTestDatabase();
    const pool = createPool({ connectionString: db });
    try {
      await migrate(pool);
      const seen = new Date(Date.now() - 1000);
      await upsertHubs(pool, [
        { hub_id: hubA, max_grid_capacity_kw: 100, state: 'online' },
        { hub_id: hubB, max_grid_capacity_kw: 100, state: 'online' },
      ]);
      await upsertNodes(pool, [
        {
          hub_id: hubA,
          node_id: 'n1',
          max_power_kw: 50,
          power_kw: 21.5,
          power_limit_kw: 40,
          last_seen: seen,
        },
        { hub_id: hubB, node_id: 'n1', max_power_kw: 50, power_kw: 7, power_limit_kw: 10, last_seen: seen },
      ]);
      await upsertVehicles(pool, [
        {
          vehicle_id: `ev_${tag}`,
          soc: 33,
          soc_source: 'vehicle',
          latitude: 45,
          longitude: 7,
          last_seen: seen,
        },
      ]);
      fake.owned = [hubB];
      await nr.load(
        [subscriptionsNode, mqttNodes, postgresNode, fakeClusterNode],
        [
          ...flow(url, `wpt-subs-5-${tag}`, { postgres: 'p', syncMs: 200 }, true),
          { id: 'p', type: 'wpt-postgres', url: db },
        ],
      );
      const twin = collect('twin');
      await until(() => twin.some((m) => m.remote !== undefined), 5000, 'the stored telemetry of other hubs');
      type Remote = { nodes: Array<Record<string, unknown>>; vehicles: Array<Record<string, unknown>> };
      const remote = twin.filter((m) => m.remote !== undefined).map((m) => m.remote as Remote);
      const rows = remote.flatMap((r) => r.nodes);
      assert.deepEqual(
        remote.flatMap((r) => r.vehicles).map((v) => [v.vehicleId, v.soc, v.lastSeenMs]),
        [[`ev_${tag}`, 33, seen.getTime()]],
        'the vehicles other instances heard',
      );
      assert.deepEqual(
        rows.filter((r) => r.hubId === hubA).map((r) => [r.nodeId, r.powerKw, r.powerLimitKw, r.ts])[0],
        ['n1', 21.5, 40, seen.getTime()],
      );
      assert.deepEqual(
        rows.filter((r) => r.hubId === hubB),
        [],
        'a hub owned here is heard live, not read back',
      );
    } finally {
      await pool.end();
    }
  });

  it('cluster mode: vehicle telemetry reaches one instance of the share group', async function () {
    if (!process.env.MQTT_URL) {
      console.log(
        '      (skipped: needs MQTT_URL, a broker with shared subscriptions; the embedded aedes has none)',
      );
      this.skip();
    }
    // Two instances of one group: this flow, and a plain client in the same share group.
    const other = await mqtt.connectAsync(url, { clientId: `wpt-subs-other-${tag}` });
    const otherGot: string[] = [];
    other.on('message', (t) => otherGot.push(t));
    await other.subscribeAsync(`$share/g${tag}/iot/vehicles/+/telemetry`, { qos: 0 });
    fake.owned = [];
    await nr.load([subscriptionsNode, mqttNodes, fakeClusterNode], flow(url, `wpt-subs-3-${tag}`, {}, true));
    const got = collect('got');
    await until(() => (nr.getNode('bv') as unknown as { connected: boolean }).connected, 5000);
    // Wait until the flow's shared subscription is live (a message reaches it).
    await until(
      async () => {
        await pub.publishAsync(veh(`probe${tag}`), '{}', { qos: 0 });
        return got.length > 0;
      },
      5000,
      'the shared subscription',
      { every: 100 },
    );
    const n = 40;
    const topics = new Set(Array.from({ length: n }, (_, i) => veh(`v${i}_${tag}`)));
    const here = () => got.filter((m) => topics.has(m.topic as string)).length;
    const there = () => otherGot.filter((t) => topics.has(t)).length;
    for (const t of topics) await pub.publishAsync(t, '{}', { qos: 0 });
    await until(() => here() + there() >= n, 5000, 'every vehicle message once');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(here() + there(), n, 'each message to exactly one of the group');
    assert.ok(here() > 0 && there() > 0, `shared: ${here()} here, ${there()} there`);
    await other.endAsync();
  });
  it('one instance standing by: its twin refuses commands (msg.readOnly) and follows the settings the holder applies (msg.controls)', async () => {
    const db = await createTestDatabase();
    const pool = createPool({ connectionString: db });
    try {
      await migrate(pool);
      await upsertHubs(pool, [{ hub_id: hubA, max_grid_capacity_kw: 100, state: 'online' }]);
      sole.state = 'standby';
      await nr.load(
        [subscriptionsNode, mqttNodes, postgresNode, fakeSoleClusterNode],
        [
          ...flow(url, `wpt-subs-sole-${tag}`, { postgres: 'p', syncMs: 200 }, true),
          { id: 'p', type: 'wpt-postgres', url: db },
        ],
      );
      const twin = collect('twin');
      await until(() => twin.some((m) => m.readOnly !== undefined), 5000, 'read-only');
      // The reason (the test helper's RED._ gives the message's key; the e2e test reads the text).
      assert.equal(twin.find((m) => m.readOnly !== undefined)!.readOnly, 'wpt-subscriptions.standby');
      // The holder takes a command: the setting, then its audit record.
      await upsertHubControls(pool, [{ hub_id: hubA, is_active: false }]);
      await insertAuditLog(pool, [
        { event_key: `s1-${tag}`, ts: new Date(), actor: 'bob', op: 'hub-active', hub_id: hubA },
      ]);
      await until(() => twin.some((m) => m.controls !== undefined), 5000, 'the setting to the twin');
      const c = twin.find((m) => m.controls !== undefined)!.controls as {
        hubs: Array<Record<string, unknown>>;
      };
      assert.deepEqual(
        c.hubs.map((h) => [h.hubId, h.active]),
        [[hubA, false]],
      );
      // The holder is gone: this instance takes over, commands are its own again.
      sole.state = 'sole';
      sole.bus.emit('change');
      await until(() => twin.some((m) => m.readOnly === null), 5000, 'read-only lifted');
      await new Promise((r) => setTimeout(r, 500)); // the last read at the takeover
      const n = twin.filter((m) => m.controls !== undefined).length;
      await insertAuditLog(pool, [
        { event_key: `s2-${tag}`, ts: new Date(), actor: 'bob', op: 'hub-active', hub_id: hubA },
      ]);
      await new Promise((r) => setTimeout(r, 800));
      assert.equal(twin.filter((m) => m.controls !== undefined).length, n, 'no following once it allocates');
    } finally {
      await pool.end();
    }
  });
});

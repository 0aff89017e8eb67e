// wpt-dlm-allocator on wires: wpt-twin's change lists in (the twin's own output, as in the
// shipped flow), DLM commands out; broker status messages trigger a RESYNC; limits in force
// restored at start; bad configuration and missing fleet refused.
import assert from 'node:assert/strict';
import { Twin } from '../../core/twin';
import { nr } from '../helpers/node-red';
import type { FleetNode } from '../../nodes/lib/config-nodes';
import { decode, formatTimestamp } from '../../core/contract';
import { until, sleep } from '../helpers/wait';
import net from 'node:net';
import { createTestDatabase, mqttUrl } from '../helpers/services';
import { pgSoleLock } from '../../adapters/postgres';
import type { SoleLockPort } from '../../core/cluster';

const fleetNode = require('../../nodes/wpt-fleet/wpt-fleet');
const twinNode = require('../../nodes/wpt-twin/wpt-twin');
const allocatorModule = require('../../nodes/wpt-dlm-allocator/wpt-dlm-allocator');
const catalog = require('../../nodes/wpt-dlm-allocator/locales/en-US/wpt-dlm-allocator.json');

/** RED._ over the allocator's message catalog (the test helper's RED._ returns the key). */
function translate(key: string, subs?: Record<string, unknown>): string {
  const v = key
    .split('.')
    .reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], catalog);
  return typeof v === 'string' ? v.replace(/__(\w+?)__/g, (_m, k: string) => String(subs?.[k] ?? '')) : key;
}
const allocatorNode = (RED: { _: unknown }) => {
  RED._ = translate;
  return allocatorModule(RED);
};

type Msg = Record<string, unknown>;

/** fleet f1 → twin t1 (changes wired to the allocator a1) → a1 → out (commands), alarms. */
function flow(extra: Record<string, unknown> = {}, fleetType = 'wpt-fleet'): unknown[] {
  return [
    { id: 'f1', type: fleetType, name: 'fleet' },
    { id: 't1', type: 'wpt-twin', fleet: 'f1', tickMs: 60_000, wires: [['a1'], [], ['refused']] },
    {
      id: 'a1',
      type: 'wpt-dlm-allocator',
      fleet: 'f1',
      policy: 'equal',
      coalesceMs: 10,
      wires: [['out'], ['alarms']],
      ...extra,
    },
    { id: 'out', type: 'helper' },
    { id: 'alarms', type: 'helper' },
    { id: 'refused', type: 'helper' },
  ];
}

/** Sends a contract message (timestamped now) into the twin node, as wpt-decode would pass it on. */
function feed(topic: string, payload: Record<string, unknown>): void {
  const now = Date.now();
  const r = decode(topic, { timestamp: formatTimestamp(now), ...payload }, now);
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('; '));
  nr.getNode('t1').receive({ topic, payload: r.msg.data, wpt: r.msg });
}

function setupHub(capacityKw = 100): void {
  feed('iot/hubs/hub_01/info', {
    hub_id: 'hub_01',
    location: { latitude: 44.6, longitude: 10.9 },
    max_grid_capacity_kw: capacityKw,
    ip_address: '10.0.0.1',
    firmware_version: '1.0.0',
  });
  feed('iot/hubs/hub_01/status', { state: 'online', cpu_temp: 40 });
  for (const n of ['node_01', 'node_02', 'node_03']) {
    feed(`iot/hubs/hub_01/nodes/${n}/info`, { node_id: n, hub_id: 'hub_01', max_power_kw: 80 });
    feed(`iot/hubs/hub_01/nodes/${n}/status`, { state: 'idle', current_vehicle_id: null, error_code: 0 });
  }
}

function collect(id: string): Msg[] {
  const got: Msg[] = [];
  nr.getNode(id).on('input', (m) => got.push(m));
  return got;
}

const brief = (m: Msg | undefined) => {
  const p = (m?.payload ?? {}) as Record<string, unknown>;
  return [p.trigger_reason, p.affected_node_id, p.original_limit, p.new_limit];
};

describe('node: wpt-dlm-allocator', () => {
  before(() => nr.startServer());
  after(() => nr.stopServer());
  afterEach(() => nr.unload());

  it('a request on the twin gives the limit changes with the contract fields; an increase waits for the confirming telemetry', async () => {
    await nr.load([fleetNode, twinNode, allocatorNode], flow());
    await (nr.getNode('f1') as unknown as FleetNode).ready;
    setupHub();
    await sleep(30); // the hub's first (empty) allocation
    const out = collect('out');
    // Raw topic + JSON text, as from `mqtt in` (the twin decodes it).
    nr.getNode('t1').receive({
      topic: 'iot/hubs/hub_01/requests',
      payload: '{"vehicle_id":"veh_001","node_id":"node_01","soc_percent":35}',
    });
    await until(() => out.length >= 1, 2000, 'the first event');
    const first = out[0]!;
    assert.equal(first.topic, 'iot/hubs/hub_01/dlm/events');
    assert.equal(first.qos, 1);
    assert.equal(first.retain, false);
    const p = first.payload as Record<string, unknown>;
    assert.deepEqual(Object.keys(p).sort(), [
      'affected_node_id',
      'allocation_id',
      'available_capacity',
      'new_limit',
      'original_limit',
      'policy',
      'source',
      'timestamp',
      'total_grid_load',
      'trigger_reason',
    ]);
    assert.deepEqual(brief(first), ['VEHICLE_CONNECTED', 'node_01', 0, 80]);
    assert.equal(p.total_grid_load, 80);
    assert.equal(p.available_capacity, 20);
    assert.equal(p.source, 'wpt-dlm');
    assert.match(p.allocation_id as string, /^hub_01:\d+:\d+$/);
    assert.match(p.timestamp as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const back = decode(first.topic as string, p, Date.now());
    assert.ok(back.ok && back.msg.kind === 'dlmEvent', 'a valid DLMNotification');
    assert.equal((first.dlm as { newLimitKw: number }).newLimitKw, 80, 'msg.dlm carries the command');

    // A second vehicle: break before make.
    feed('iot/hubs/hub_01/requests', { vehicle_id: 'veh_002', node_id: 'node_02', soc_percent: 50 });
    await until(() => out.length >= 2, 2000, 'the decrease');
    assert.deepEqual(brief(out[1]).slice(1), ['node_01', 80, 50]);
    await sleep(50);
    assert.equal(out.length, 2, 'the increase of node_02 waits for the confirmation of node_01');
    feed('iot/hubs/hub_01/nodes/node_01/telemetry', {
      voltage: 400,
      current: 100,
      power_kw: 40,
      power_limit_kw: 50,
      is_occupied: true,
      connected_vehicle_id: 'veh_001',
      current_vehicle_soc: 36,
    });
    await until(() => out.length >= 3, 2000, 'the increase');
    assert.deepEqual(brief(out[2]).slice(1, 4), ['node_02', 0, 50]);
  });

  it('takes a node fault from the change list at once (limit 0)', async () => {
    await nr.load([fleetNode, twinNode, allocatorNode], flow());
    await (nr.getNode('f1') as unknown as FleetNode).ready;
    setupHub();
    const out = collect('out');
    feed('iot/hubs/hub_01/nodes/node_01/status', {
      state: 'charging',
      current_vehicle_id: 'veh_001',
      error_code: 0,
    });
    await until(() => out.length >= 1);
    // The hub reports the limit it applied (a 0 sent before that report would be ambiguous).
    feed('iot/hubs/hub_01/nodes/node_01/telemetry', {
      voltage: 400,
      current: 200,
      power_kw: 80,
      power_limit_kw: 80,
      is_occupied: true,
      connected_vehicle_id: 'veh_001',
      current_vehicle_soc: 40,
    });
    feed('iot/hubs/hub_01/nodes/node_01/status', {
      state: 'faulted',
      current_vehicle_id: null,
      error_code: 3,
    });
    await until(() => out.length >= 2);
    assert.deepEqual(brief(out[1]), ['NODE_FAULT', 'node_01', 80, 0]);
  });

  it('re-sends every limit in force (RESYNC) when the broker connection comes back, not on the first connect', async () => {
    await nr.load([fleetNode, twinNode, allocatorNode], flow());
    await (nr.getNode('f1') as unknown as FleetNode).ready;
    setupHub();
    const out = collect('out');
    feed('iot/hubs/hub_01/nodes/node_01/status', {
      state: 'charging',
      current_vehicle_id: 'veh_001',
      error_code: 0,
    });
    await until(() => out.length >= 1);
    const a1 = nr.getNode('a1');
    // What a status node watching `mqtt out` sends (the text is Node-RED's i18n key).
    a1.receive({ status: { fill: 'green', shape: 'dot', text: 'node-red:common.status.connected' } });
    await sleep(30);
    assert.equal(out.length, 1, 'the first connect resends nothing');
    a1.receive({ status: { fill: 'red', shape: 'ring', text: 'node-red:common.status.disconnected' } });
    a1.receive({ status: { fill: 'green', shape: 'dot', text: 'node-red:common.status.connected' } });
    await until(() => out.length >= 2);
    assert.deepEqual(brief(out[1]), ['RESYNC', 'node_01', 80, 80]);
  });

  it('restores the limits stored at start as a hint: re-sends them as the hub reports them (RESYNC), no increase before the hub settled', async () => {
    // A fleet whose restore from PostgreSQL we control: ready resolves when we say so.
    let resolveReady: () => void = () => undefined;
    const stubFleet = (RED: {
      nodes: { createNode(n: object, d: object): void; registerType(t: string, c: unknown): void };
    }) => {
      RED.nodes.registerType('wpt-fleet-stub', function (this: FleetNode, def: object) {
        RED.nodes.createNode(this, def);
        this.twin = new Twin();
        this.counters = new (require('../../nodes/lib/ingest-counters').IngestCounters)();
        this.restoredLimits = [];
        this.takeRestoreChanges = () => [];
        this.claim = () => true;
        this.release = () => undefined;
        this.ready = new Promise<void>((r) => (resolveReady = r));
      });
    };
    await nr.load([stubFleet, twinNode, allocatorNode], flow({}, 'wpt-fleet-stub'));
    const fleet = nr.getNode('f1') as unknown as FleetNode;
    const out = collect('out');
    // The twin as restored (node_02 charging), and the limits in force before the restart.
    const now = Date.now();
    for (const [topic, payload] of [
      [
        'iot/hubs/hub_01/info',
        {
          hub_id: 'hub_01',
          location: { latitude: 44.6, longitude: 10.9 },
          max_grid_capacity_kw: 100,
          ip_address: '10.0.0.1',
          firmware_version: '1',
        },
      ],
      ['iot/hubs/hub_01/status', { state: 'online', cpu_temp: 40 }],
      ['iot/hubs/hub_01/nodes/node_01/info', { node_id: 'node_01', hub_id: 'hub_01', max_power_kw: 80 }],
      ['iot/hubs/hub_01/nodes/node_02/info', { node_id: 'node_02', hub_id: 'hub_01', max_power_kw: 80 }],
      ['iot/hubs/hub_01/nodes/node_01/status', { state: 'idle', current_vehicle_id: null, error_code: 0 }],
      [
        'iot/hubs/hub_01/nodes/node_02/status',
        { state: 'charging', current_vehicle_id: 'veh_2', error_code: 0 },
      ],
    ] as const) {
      const r = decode(topic, { timestamp: formatTimestamp(now), ...payload }, now);
      assert.ok(r.ok);
      fleet.twin.apply(r.msg, now);
    }
    fleet.restoredLimits = [
      { hub_id: 'hub_01', node_id: 'node_01', new_limit: 70, ts: new Date() },
      { hub_id: 'hub_01', node_id: 'node_02', new_limit: 30, ts: new Date() },
    ];
    await sleep(40);
    assert.equal(out.length, 0, 'nothing is allocated before the limits in force are known');
    resolveReady();
    const report = (node: string, limitKw: number) =>
      feed(`iot/hubs/hub_01/nodes/${node}/telemetry`, {
        voltage: 400,
        current: 0,
        power_kw: 0,
        power_limit_kw: limitKw,
        is_occupied: false,
      });
    // Nothing stored is re-sent before the hub reports (the run before may have sent more);
    // node_01's decrease to 0 waits for its report.
    await sleep(100);
    assert.equal(out.length, 0);
    // The hub reports: node_01 goes down, node_02 is re-sent at 30 kW as the hub has it.
    report('node_01', 70);
    report('node_02', 30);
    await until(() => out.length >= 2);
    await sleep(40);
    assert.deepEqual(out.map(brief), [
      ['RESYNC', 'node_01', 70, 0],
      ['RESYNC', 'node_02', 30, 30],
    ]);
    // node_01's report of the decrease shows the hub applied everything sent before the
    // restart: node_02 settles at its next report, then gets its 80 kW.
    report('node_01', 0);
    await sleep(40);
    assert.equal(out.length, 2);
    report('node_02', 30);
    await until(() => out.length >= 3);
    assert.deepEqual(brief(out[2]).slice(1), ['node_02', 30, 80]);
  });

  it('refuses what is not a change list or a broker status, naming what it takes', async () => {
    await nr.load([fleetNode, twinNode, allocatorNode], flow());
    const a1 = nr.getNode('a1');
    const err = await new Promise<unknown>((resolve) => {
      a1.on('call:error', (call) => resolve(call.args[0]));
      a1.receive({
        topic: 'iot/hubs/hub_01/requests',
        payload: { vehicle_id: 'v', node_id: 'n', soc_percent: 1 },
      });
    });
    assert.match(String(err), /takes the change lists of wpt-twin/);
  });

  it('refuses an invalid overrides field with a clear error', async () => {
    await nr.load([fleetNode, twinNode, allocatorNode], flow({ overrides: '{"hub_01":{"reserve":0.9}}' }));
    const a1 = nr.getNode('a1');
    const err = await new Promise<unknown>((resolve) => {
      a1.on('call:error', (call) => resolve(call.args[0]));
      a1.receive({ payload: [] });
    });
    assert.match(String(err), /overrides\.hub_01\.reserve: must be a number in 0\.\.0\.5/);
  });

  it('refuses to work without a fleet', async () => {
    await nr.load([fleetNode, allocatorNode], [{ id: 'a1', type: 'wpt-dlm-allocator', wires: [[], []] }]);
    const a1 = nr.getNode('a1');
    const err = await new Promise<unknown>((resolve) => {
      a1.on('call:error', (call) => resolve(call.args[0]));
      a1.receive({ payload: 1 });
    });
    assert.match(String(err), /no wpt-fleet configured/);
  });

  it("puts the DLM events' broker connection in TCP_NODELAY mode, and no other socket", async () => {
    const url = await mqttUrl();
    const calls: Array<{ socket: net.Socket; on: boolean }> = [];
    const original = net.Socket.prototype.setNoDelay;
    net.Socket.prototype.setNoDelay = function (this: net.Socket, on?: boolean) {
      calls.push({ socket: this, on: on !== false });
      return original.call(this, on);
    };
    try {
      await nr.load(
        [require('@node-red/nodes/core/network/10-mqtt.js'), fleetNode, twinNode, allocatorNode],
        [
          {
            id: 'b1',
            type: 'mqtt-broker',
            broker: url,
            clientid: '',
            autoConnect: true,
            protocolVersion: '4',
            keepalive: '60',
            cleansession: true,
          },
          ...flow({ broker: 'b1' }),
          { id: 'mo', type: 'mqtt out', topic: '', qos: '1', retain: 'false', broker: 'b1' },
        ],
      );
      const broker = nr.getNode('b1') as unknown as { connected?: boolean; client?: { stream?: net.Socket } };
      await until(() => !!broker.connected, 5000, 'the broker connection');
      await until(
        () => calls.some((c) => c.socket === broker.client?.stream && c.on),
        5000,
        'TCP_NODELAY on it',
      );
      assert.ok(
        calls.every((c) => c.socket === broker.client?.stream),
        'only the broker connection',
      );
    } finally {
      net.Socket.prototype.setNoDelay = original;
    }
  });

  it('says what is missing: a hub without its info is "waiting for hub info — not allocating" (status, one log, an alarm); its requests are refused with that reason', async () => {
    await nr.load([fleetNode, twinNode, allocatorNode], flow());
    await (nr.getNode('f1') as unknown as FleetNode).ready;
    const [out, alarms, refused] = ['out', 'alarms', 'refused'].map(collect) as [Msg[], Msg[], Msg[]];
    const warnings: string[] = [];
    nr.getNode('a1').on('call:warn', (c) => warnings.push(String(c.args[0])));
    const statuses: string[] = [];
    nr.getNode('a1').on('call:status', (c) => statuses.push(String((c.args[0] as { text?: string }).text)));
    // A hub status and a node status, but never the hub's info: its capacity is unknown.
    feed('iot/hubs/hub_09/status', { state: 'online', cpu_temp: 40 });
    feed('iot/hubs/hub_09/nodes/node_01/status', { state: 'idle', current_vehicle_id: null, error_code: 0 });
    feed('iot/hubs/hub_09/requests', { vehicle_id: 'veh_9', node_id: 'node_01', soc_percent: 30 });
    feed('iot/hubs/hub_09/requests', { vehicle_id: 'veh_9', node_id: 'node_01', soc_percent: 31 });
    await until(() => refused.length === 2, 2000, 'the requests refused');
    for (const r of refused) assert.equal((r.error as { reason?: string }).reason, 'hub-no-capacity');
    await until(() => alarms.length >= 1, 2000, 'the alarm');
    const a = alarms[0]!.payload as Record<string, unknown>;
    assert.deepEqual([a.state, a.alarm, a.hub_id], ['raised', 'hub-waiting-for-info', 'hub_09']);
    assert.match(
      String(a.message),
      /waiting for hub info — hub hub_09 has not sent its capacity: not allocating/,
    );
    await until(() => statuses.some((t) => /no hub info: hub_09/.test(t)), 3000, 'the status', {
      detail: () => statuses,
    });
    await sleep(100);
    assert.equal(warnings.filter((w) => /waiting for hub info/.test(w)).length, 1, 'logged once');
    assert.equal(out.length, 0, 'nothing allocated');
  });

  it('raises "another orchestrator" when DLM events for its hub come from an allocator that is not it; its own echoes never do', async () => {
    await nr.load([fleetNode, twinNode, allocatorNode], flow());
    await (nr.getNode('f1') as unknown as FleetNode).ready;
    setupHub();
    const [out, alarms] = ['out', 'alarms'].map(collect) as [Msg[], Msg[]];
    feed('iot/hubs/hub_01/requests', { vehicle_id: 'veh_001', node_id: 'node_01', soc_percent: 35 });
    await until(() => out.length > 0, 3000, 'our limits');
    // Our own events come back from the broker (the twin reports them as hub-dlm-event).
    for (const m of out) {
      const p = m.payload as Record<string, unknown>;
      feed('iot/hubs/hub_01/dlm/events', { ...p, timestamp: undefined });
    }
    await sleep(100);
    assert.equal(alarms.length, 0, 'our own echoes are ours');
    // Another allocator's, allocated now, claiming the same source.
    const now = Date.now();
    feed('iot/hubs/hub_01/dlm/events', {
      trigger_reason: 'REBALANCE',
      original_limit: 0,
      new_limit: 80,
      affected_node_id: 'node_02',
      total_grid_load: 160,
      available_capacity: 0,
      allocation_id: `hub_01:${now}:1`,
      policy: 'equal',
      source: 'wpt-dlm',
    });
    await until(() => alarms.length >= 1, 3000, 'the alarm');
    const a = alarms[0]!.payload as Record<string, unknown>;
    assert.deepEqual(
      [a.state, a.alarm, a.hub_id, a.allocation_id],
      ['raised', 'foreign-orchestrator', 'hub_01', `hub_01:${now}:1`],
    );
    assert.match(String(a.message), /another orchestrator publishes DLM events for hub hub_01/);
  });
});

describe('node: wpt-dlm-allocator, one orchestrator per database (wpt-cluster off, PostgreSQL)', function () {
  this.timeout(30000);
  const postgresNode = require('../../nodes/wpt-postgres/wpt-postgres');
  const clusterNode = require('../../nodes/wpt-cluster/wpt-cluster');
  let db: string;
  let holder: SoleLockPort | undefined;

  before(async () => {
    db = await createTestDatabase('wpt_sole_node');
    await nr.startServer();
  });
  after(() => nr.stopServer());
  afterEach(async () => {
    await nr.unload();
    await holder?.release();
  });

  it('stands by while another orchestrator holds the database (nothing sent), and takes over when it is gone', async () => {
    holder = pgSoleLock({ connection: { connectionString: db }, name: 'wpt-dlm other-host pid 1' });
    assert.equal((await holder.tryAcquire()).kind, 'held');
    const nodes = flow({ cluster: 'c1' });
    (nodes[0] as Record<string, unknown>).postgres = 'p';
    nodes.push(
      { id: 'p', type: 'wpt-postgres', url: db },
      { id: 'c1', type: 'wpt-cluster', enabled: '0', fleet: 'f1', postgres: 'p', renewMs: 200 },
    );
    await nr.load([fleetNode, twinNode, allocatorNode, postgresNode, clusterNode], nodes);
    const statuses: string[] = [];
    nr.getNode('a1').on('call:status', (c) => statuses.push(String((c.args[0] as { text?: string }).text)));
    await (nr.getNode('f1') as unknown as FleetNode).ready;
    await until(() => statuses.includes('standby: database in use'), 10000, 'standby', {
      detail: () => statuses,
    });
    const out = collect('out');
    setupHub();
    feed('iot/hubs/hub_01/requests', { vehicle_id: 'veh_001', node_id: 'node_01', soc_percent: 35 });
    await sleep(1000);
    assert.deepEqual(out, [], 'a standby sends nothing');

    await holder.release();
    await until(() => statuses.some((t) => /hubs · \d+ sent/.test(t)), 5000, 'allocating', {
      detail: () => statuses,
    });
    // Taken over as at a restart: the hub's reports are re-sent (RESYNC) before anything new.
    feed('iot/hubs/hub_01/nodes/node_01/telemetry', {
      voltage: 0,
      current: 0,
      power_kw: 0,
      power_limit_kw: 20,
      is_occupied: true,
      connected_vehicle_id: 'veh_001',
      current_vehicle_soc: 35,
    });
    await until(() => out.length >= 1, 5000, 'the first event of the new orchestrator');
    assert.deepEqual(brief(out[0]), ['RESYNC', 'node_01', 20, 20]);
  });
});

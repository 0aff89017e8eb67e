import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Twin } from '../../core/twin';
import { nr } from '../helpers/node-red';
import type { FleetNode } from '../../nodes/lib/config-nodes';
import { decode, formatTimestamp } from '../../core/contract';

const fleetNode = require('../../nodes/wpt-fleet/wpt-fleet');
const allocatorModule = require('../../nodes/wpt-dlm-allocator/wpt-dlm-allocator');
const catalog = require('../../nodes/wpt-dlm-allocator/locales/en-US/wpt-dlm-allocator.json');

/** RED._ over our message catalog (the test helper's RED._ returns the key). */
function translate(key: string, subs?: Record<string, unknown>): string {
  const v = key
    .split('.')
    .reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], catalog);
  return typeof v === 'string' ? v.replace(/__(\w+)__/g, (_m, k: string) => String(subs?.[k] ?? '')) : key;
}
const allocatorNode = (RED: { _: unknown }) => {
  RED._ = translate;
  return allocatorModule(RED);
};

function flow(extra: Record<string, unknown> = {}): unknown[] {
  return [
    { id: 'f1', type: 'wpt-fleet', name: 'fleet', tickMs: 60_000 },
    {
      id: 'a1',
      type: 'wpt-dlm-allocator',
      fleet: 'f1',
      policy: 'equal',
      coalesceMs: 10,
      wires: [['out'], ['err']],
      ...extra,
    },
    { id: 'out', type: 'helper' },
    { id: 'err', type: 'helper' },
  ];
}

/** Feeds contract messages into the fleet's twin (as wpt-hub-registry would). */
function feed(fleet: FleetNode, topic: string, payload: Record<string, unknown>): void {
  const now = Date.now();
  const r = decode(topic, { timestamp: formatTimestamp(now), ...payload }, now);
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('; '));
  fleet.ingest(r.msg, now);
}

function setupHub(fleet: FleetNode, capacityKw = 100): void {
  feed(fleet, 'iot/hubs/hub_01/info', {
    hub_id: 'hub_01',
    location: { latitude: 44.6, longitude: 10.9 },
    max_grid_capacity_kw: capacityKw,
    ip_address: '10.0.0.1',
    firmware_version: '1.0.0',
  });
  feed(fleet, 'iot/hubs/hub_01/status', { state: 'online', cpu_temp: 40 });
  for (const n of ['node_01', 'node_02', 'node_03']) {
    feed(fleet, `iot/hubs/hub_01/nodes/${n}/info`, { node_id: n, hub_id: 'hub_01', max_power_kw: 80 });
    feed(fleet, `iot/hubs/hub_01/nodes/${n}/status`, {
      state: 'idle',
      current_vehicle_id: null,
      error_code: 0,
    });
  }
}

/** Collects what arrives at a helper node. */
function collect(id: string): Array<Record<string, unknown>> {
  const got: Array<Record<string, unknown>> = [];
  nr.getNode(id).on('input', (m) => got.push(m));
  return got;
}

function waitFor<T>(fn: () => T | undefined | false, timeoutMs = 2000): Promise<T> {
  const end = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const poll = () => {
      const v = fn();
      if (v !== undefined && v !== false) resolve(v);
      else if (Date.now() > end) reject(new Error('timed out'));
      else setTimeout(poll, 5);
    };
    poll();
  });
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('node: wpt-dlm-allocator', () => {
  before(() => nr.startServer());
  after(() => nr.stopServer());
  afterEach(() => nr.unload());

  it('a request (validated or raw) assigns the vehicle and sends the limit changes with the contract fields', async () => {
    await nr.load([fleetNode, allocatorNode], flow());
    const fleet = nr.getNode('f1') as unknown as FleetNode;
    await fleet.ready;
    setupHub(fleet);
    await delay(30); // the hub's first (empty) allocation
    const out = collect('out');
    const err = collect('err');
    // Raw topic + JSON text, as from `mqtt in`.
    nr.getNode('a1').receive({
      topic: 'iot/hubs/hub_01/requests',
      payload: '{"vehicle_id":"veh_001","node_id":"node_01","soc_percent":35}',
    });
    const first = await waitFor(() => out[0]);
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
    assert.equal(p.trigger_reason, 'VEHICLE_CONNECTED');
    assert.equal(p.affected_node_id, 'node_01');
    assert.equal(p.original_limit, 0);
    assert.equal(p.new_limit, 80);
    assert.equal(p.total_grid_load, 80);
    assert.equal(p.available_capacity, 20);
    assert.equal(p.policy, 'equal');
    assert.equal(p.source, 'wpt-dlm');
    assert.match(p.allocation_id as string, /^hub_01:\d+:\d+$/);
    assert.match(p.timestamp as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    // The payload is a valid DLMNotification for the contract's decoder.
    const back = decode(first.topic as string, p, Date.now());
    assert.ok(back.ok && back.msg.kind === 'dlmEvent');
    assert.equal(fleet.twin.node('hub_01', 'node_01')?.assignedVehicleId, 'veh_001');

    // A validated request (msg.wpt from wpt-validate): break before make.
    const r = decode(
      'iot/hubs/hub_01/requests',
      { vehicle_id: 'veh_002', node_id: 'node_02', soc_percent: 50 },
      Date.now(),
    );
    assert.ok(r.ok);
    nr.getNode('a1').receive({ topic: 'iot/hubs/hub_01/requests', payload: r.msg.data, wpt: r.msg });
    const second = await waitFor(() => out[1]);
    assert.deepEqual(
      [
        (second.payload as Record<string, unknown>).affected_node_id,
        (second.payload as Record<string, unknown>).original_limit,
        (second.payload as Record<string, unknown>).new_limit,
      ],
      ['node_01', 80, 50],
    );
    await delay(50);
    assert.equal(out.length, 2, 'the increase of node_02 waits for the confirmation of node_01');
    feed(fleet, 'iot/hubs/hub_01/nodes/node_01/telemetry', {
      voltage: 400,
      current: 100,
      power_kw: 40,
      power_limit_kw: 50,
      is_occupied: true,
      connected_vehicle_id: 'veh_001',
      current_vehicle_soc: 36,
    });
    const third = await waitFor(() => out[2]);
    assert.deepEqual(
      [
        (third.payload as Record<string, unknown>).affected_node_id,
        (third.payload as Record<string, unknown>).new_limit,
      ],
      ['node_02', 50],
    );
    assert.equal(err.length, 0);
  });

  it('rejects requests to an unknown, faulted or busy node, and invalid payloads, with the reason', async () => {
    await nr.load([fleetNode, allocatorNode], flow());
    const fleet = nr.getNode('f1') as unknown as FleetNode;
    await fleet.ready;
    setupHub(fleet);
    feed(fleet, 'iot/hubs/hub_01/nodes/node_02/status', {
      state: 'faulted',
      current_vehicle_id: null,
      error_code: 12,
    });
    feed(fleet, 'iot/hubs/hub_01/nodes/node_03/status', {
      state: 'charging',
      current_vehicle_id: 'veh_777',
      error_code: 0,
    });
    const err = collect('err');
    const a1 = nr.getNode('a1');
    const req = (node: string, extra: Record<string, unknown> = {}) => ({
      topic: 'iot/hubs/hub_01/requests',
      payload: { vehicle_id: 'veh_001', node_id: node, soc_percent: 35, ...extra },
    });
    a1.receive(req('node_09'));
    a1.receive(req('node_02'));
    a1.receive(req('node_03'));
    a1.receive(req('node_01', { soc_percent: 140 }));
    a1.receive({ topic: 'iot/hubs/hub_01/requests', payload: '{"vehicle_id":' });
    a1.receive({ topic: 'iot/hubs/hub_01/status', payload: { state: 'online', cpu_temp: 30 } });
    await waitFor(() => err.length === 6);
    const messages = err.map((m) => (m.error as { message: string }).message);
    assert.equal(messages[0], 'request: node hub_01/node_09 is unknown');
    assert.equal(messages[1], 'request: node hub_01/node_02 is faulted');
    assert.equal(messages[2], 'request: node hub_01/node_03 is busy with vehicle veh_777');
    assert.match(messages[3] ?? '', /^request: VehicleRequest\.soc_percent: must be <= 100/);
    assert.match(messages[4] ?? '', /^request: .*JSON/i);
    assert.match(messages[5] ?? '', /hubStatus messages are not vehicle requests/);
    assert.deepEqual(
      err.map((m) => (m.error as { reason: string }).reason),
      ['unknown-node', 'node-faulted', 'node-busy', 'invalid', 'invalid', 'not-a-request'],
    );
    // Nothing was assigned by a rejected request.
    assert.equal(fleet.twin.node('hub_01', 'node_01')?.assignedVehicleId, null);
  });

  it('reacts to twin changes from the fleet directly (node fault → limit 0) and ignores change arrays on its input', async () => {
    await nr.load([fleetNode, allocatorNode], flow());
    const fleet = nr.getNode('f1') as unknown as FleetNode;
    await fleet.ready;
    setupHub(fleet);
    const out = collect('out');
    feed(fleet, 'iot/hubs/hub_01/nodes/node_01/status', {
      state: 'charging',
      current_vehicle_id: 'veh_001',
      error_code: 0,
    });
    await waitFor(() => out[0]);
    nr.getNode('a1').receive({ topic: 'iot/hubs/hub_01/status', payload: [{ type: 'hub-state' }] });
    feed(fleet, 'iot/hubs/hub_01/nodes/node_01/status', {
      state: 'faulted',
      current_vehicle_id: null,
      error_code: 3,
    });
    const cut = await waitFor(() => out[1]);
    const p = cut.payload as Record<string, unknown>;
    assert.deepEqual(
      [p.trigger_reason, p.affected_node_id, p.original_limit, p.new_limit],
      ['NODE_FAULT', 'node_01', 80, 0],
    );
    assert.equal(out.length, 2);
  });

  it('restores the limits in force at start and re-sends them (RESYNC) before reallocating', async () => {
    // A fleet whose restore from PostgreSQL we control: ready resolves when we say so.
    let resolveReady: () => void = () => undefined;
    const stubFleet = (RED: {
      nodes: { createNode(n: object, d: object): void; registerType(t: string, c: unknown): void };
    }) => {
      RED.nodes.registerType('wpt-fleet-stub', function (this: FleetNode, def: object) {
        RED.nodes.createNode(this, def);
        this.twin = new Twin();
        this.events = new EventEmitter();
        this.restoredLimits = [];
        this.ready = new Promise<void>((r) => (resolveReady = r));
        this.publish = (changes, origin) => {
          if (changes.length) this.events.emit('changes', changes, origin);
        };
        this.ingest = (msg, nowMs) => {
          const changes = this.twin.apply(msg, nowMs);
          this.publish(changes, 'message');
          return changes;
        };
      });
    };
    await nr.load([stubFleet, allocatorNode], [{ id: 'f1', type: 'wpt-fleet-stub' }, ...flow().slice(1)]);
    const fleet = nr.getNode('f1') as unknown as FleetNode;
    const out = collect('out');
    // The twin as restored (node_02 charging), and the limits in force before the restart.
    setupHub(fleet);
    feed(fleet, 'iot/hubs/hub_01/nodes/node_02/status', {
      state: 'charging',
      current_vehicle_id: 'veh_2',
      error_code: 0,
    });
    fleet.restoredLimits = [
      { hub_id: 'hub_01', node_id: 'node_01', new_limit: 70, ts: new Date() },
      { hub_id: 'hub_01', node_id: 'node_02', new_limit: 30, ts: new Date() },
    ];
    await delay(40);
    assert.equal(out.length, 0, 'nothing is allocated before the limits in force are known');
    resolveReady();
    await waitFor(() => out.length >= 3);
    await delay(40);
    const brief = out.map((m) => {
      const p = m.payload as Record<string, unknown>;
      return [p.trigger_reason, p.affected_node_id, p.original_limit, p.new_limit];
    });
    assert.deepEqual(brief.slice(0, 3), [
      ['RESYNC', 'node_01', 70, 70],
      ['RESYNC', 'node_02', 30, 30],
      ['RESYNC', 'node_01', 70, 0],
    ]);
    // node_02's increase to 80 waits for node_01 to confirm its decrease.
    assert.equal(out.length, 3);
  });

  it('refuses an invalid overrides field with a clear error', async () => {
    await nr.load([fleetNode, allocatorNode], flow({ overrides: '{"hub_01":{"reserve":0.9}}' }));
    const a1 = nr.getNode('a1');
    const errors: unknown[] = [];
    a1.on('call:error', (call) => errors.push(call.args[0]));
    await new Promise<void>((resolve) => {
      a1.on('call:error', () => resolve());
      a1.receive({ topic: 'iot/hubs/hub_01/requests', payload: {} });
    });
    assert.match(String(errors[0]), /overrides\.hub_01\.reserve: must be a number in 0\.\.0\.5/);
  });

  it('refuses to work without a fleet', async () => {
    await nr.load([fleetNode, allocatorNode], [{ id: 'a1', type: 'wpt-dlm-allocator', wires: [[], []] }]);
    const a1 = nr.getNode('a1');
    const err = await new Promise<unknown>((resolve) => {
      a1.on('call:error', (call) => resolve(call.args[0]));
      a1.receive({ payload: 1 });
    });
    assert.match(String(err), /no wpt-fleet/);
  });
});

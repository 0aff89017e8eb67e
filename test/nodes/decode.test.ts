import assert from 'node:assert/strict';
import { nr } from '../helpers/node-red';

const fleetNode = require('../../nodes/wpt-fleet/wpt-fleet');
const decodeNode = require('../../nodes/wpt-decode/wpt-decode');

const flow = [
  { id: 'f1', type: 'wpt-fleet', name: 'fleet' },
  { id: 'v1', type: 'wpt-decode', fleet: 'f1', wires: [['ok'], ['bad']] },
  { id: 'ok', type: 'helper' },
  { id: 'bad', type: 'helper' },
];

function next(id: string): Promise<Record<string, unknown>> {
  return new Promise((resolve) => nr.getNode(id).on('input', resolve));
}

describe('node: wpt-decode', () => {
  before(() => nr.startServer());
  after(() => nr.stopServer());
  afterEach(() => nr.unload());

  it('passes a valid message on, normalised, with its kind and ids', async () => {
    await nr.load([fleetNode, decodeNode], flow);
    const out = next('ok');
    nr.getNode('v1').receive({
      topic: 'iot/hubs/hub_01/nodes/node_02/telemetry',
      payload: Buffer.from(
        '{"voltage":8.1,"current":0.02,"power_kw":21.9,"power_limit_kw":46.67,"is_occupied":false,"connected_vehicle_id":"n/a","current_vehicle_soc":0,"timestamp":"2026-11-26T07:13:45.696165Z","extra":1}',
      ),
    });
    const msg = await out;
    const wpt = msg.wpt as { kind: string; hubId: string; nodeId: string; ts: number };
    assert.equal(wpt.kind, 'nodeTelemetry');
    assert.equal(wpt.hubId, 'hub_01');
    assert.equal(wpt.nodeId, 'node_02');
    assert.equal(wpt.ts, Date.parse('2026-11-26T07:13:45.696Z'));
    const payload = msg.payload as Record<string, unknown>;
    assert.equal(payload.connected_vehicle_id, null);
    assert.equal(payload.current_vehicle_soc, null);
    assert.equal(payload.power_kw, 21.9);
    assert.ok(!('extra' in payload));
  });

  it('sends a bad message to the second output with field-precise errors, and counts both', async () => {
    await nr.load([fleetNode, decodeNode], flow);
    const bad = next('bad');
    nr.getNode('v1').receive({
      topic: 'iot/hubs/hub_01/status',
      payload: '{"state":"exploded","cpu_temp":200}',
    });
    const msg = await bad;
    const error = msg.error as { message: string; errors: Array<{ path: string }> };
    assert.match(error.message, /HubStatus\.state: must be one of online, offline, maintenance/);
    assert.match(error.message, /HubStatus\.cpu_temp: must be <= 125/);
    const ok = next('ok');
    nr.getNode('v1').receive({ topic: 'iot/hubs/hub_01/status', payload: { state: 'online', cpu_temp: 40 } });
    await ok;
    const fleet = nr.getNode('f1') as unknown as {
      counters: { snapshot(): { byKind: Record<string, { accepted: number; rejected: number }> } };
    };
    assert.deepEqual(
      {
        accepted: fleet.counters.snapshot().byKind.hubStatus?.accepted,
        rejected: fleet.counters.snapshot().byKind.hubStatus?.rejected,
      },
      { accepted: 1, rejected: 1 },
    );
  });

  it('rejects an unknown topic without stopping', async () => {
    await nr.load([fleetNode, decodeNode], flow);
    const bad = next('bad');
    nr.getNode('v1').receive({ topic: 'iot/hubs/a+b/info', payload: '{}' });
    const msg = await bad;
    assert.match((msg.error as { message: string }).message, /topic/);
  });

  it('refuses to work without a fleet', async () => {
    await nr.load([fleetNode, decodeNode], [{ id: 'v2', type: 'wpt-decode', fleet: '', wires: [[], []] }]);
    const node = nr.getNode('v2');
    const errored = new Promise<unknown>((resolve) => node.on('call:error', (c) => resolve(c.args[0])));
    node.receive({ topic: 'iot/hubs/h/info', payload: '{}' });
    assert.match(String(await errored), /fleet/);
  });
});

describe('node: wpt-validate (the first wave name of wpt-decode)', () => {
  before(() => nr.startServer());
  after(() => nr.stopServer());
  afterEach(() => nr.unload());

  it('still loads and decodes, so saved flows keep working', async () => {
    await nr.load(
      [fleetNode, decodeNode],
      [
        { id: 'f1', type: 'wpt-fleet', name: 'fleet' },
        { id: 'v1', type: 'wpt-validate', fleet: 'f1', wires: [['ok'], ['bad']] },
        { id: 'ok', type: 'helper' },
        { id: 'bad', type: 'helper' },
      ],
    );
    const out = next('ok');
    nr.getNode('v1').receive({
      topic: 'iot/hubs/hub_01/status',
      payload: '{"state":"online","cpu_temp":40}',
    });
    const msg = await out;
    assert.equal((msg.wpt as { kind: string }).kind, 'hubStatus');
  });
});

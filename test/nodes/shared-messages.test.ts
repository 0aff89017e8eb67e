// Change lists travel to several wires without a deep copy: wpt-twin freezes and marks them, and
// the package's preRoute hook gives each further wire a shallow copy of the message with the
// same frozen payload. Anything that makes the message an ordinary one (a property a flow added,
// a payload that is not frozen) is deep cloned by Node-RED as usual.
import assert from 'node:assert/strict';
import { nr } from '../helpers/node-red';
import { until } from '../helpers/wait';
import type { NodeAPI } from '../../nodes/lib/node-red';
import {
  SHARED_PAYLOAD,
  freezeList,
  installSharedPayloadHook,
  isShared,
} from '../../nodes/lib/shared-messages';

// Node-RED's message hooks (RED.hooks in a real runtime). The test helper's mock runtime has no
// RED.hooks, so the test installs the hook on the hooks its flows engine runs.
const hooks = require('@node-red/util').hooks as { remove(id: string): void };

const fleetNode = require('../../nodes/wpt-fleet/wpt-fleet');
const twinNode = require('../../nodes/wpt-twin/wpt-twin');

type Msg = Record<string, unknown>;

function collect(id: string): Msg[] {
  const list: Msg[] = [];
  nr.getNode(id).on('input', (m) => list.push(m));
  return list;
}

describe('shared payloads: change lists to several wires without a deep copy', function () {
  this.timeout(20000);
  before(async () => {
    await nr.startServer();
    installSharedPayloadHook({ hooks } as unknown as NodeAPI);
  });
  after(async () => {
    hooks.remove('*.wpt-dlm-shared-payload');
    await nr.stopServer();
  });
  afterEach(() => nr.unload());

  it('gives each wire its own message and the same frozen change list', async () => {
    await nr.load(
      [fleetNode, twinNode],
      [
        { id: 'f', type: 'wpt-fleet', name: 'fleet' },
        { id: 't', type: 'wpt-twin', fleet: 'f', wires: [['a', 'b', 'c'], [], []] },
        { id: 'a', type: 'helper' },
        { id: 'b', type: 'helper' },
        { id: 'c', type: 'helper' },
      ],
    );
    const [a, b, c] = ['a', 'b', 'c'].map(collect) as [Msg[], Msg[], Msg[]];
    nr.getNode('t').receive({
      topic: 'iot/hubs/hub_sh/info',
      payload: Buffer.from(
        JSON.stringify({
          hub_id: 'hub_sh',
          location: { latitude: 44.6, longitude: 10.9 },
          max_grid_capacity_kw: 100,
          ip_address: '10.0.0.1',
          firmware_version: '1.0.0',
        }),
      ),
    });
    await until(() => a.length > 0 && b.length > 0 && c.length > 0, 5000, 'the change list on every wire');
    const [ma, mb, mc] = [a[0]!, b[0]!, c[0]!];
    assert.notEqual(ma, mb, 'each wire has its own message');
    assert.notEqual(mb, mc);
    assert.equal(ma.payload, mb.payload, 'the same change list (no deep copy)');
    assert.equal(mb.payload, mc.payload);
    assert.ok(Object.isFrozen(ma.payload));
    const first = (ma.payload as Array<Record<string, unknown>>)[0]!;
    assert.ok(Object.isFrozen(first), 'each change is frozen');
    assert.throws(() => {
      'use strict';
      (first as { type: string }).type = 'changed';
    }, TypeError);
    // One wire's message changed does not change another's.
    mb.topic = 'mine';
    assert.equal(ma.topic, 'twin/changes');
  });

  it('leaves every other message to the usual deep copy', () => {
    const payload = freezeList([{ type: 'x', nested: { a: 1 } }]);
    assert.ok(Object.isFrozen(payload[0]?.nested), 'the objects a change holds are frozen too');
    const marked = { topic: 'twin/changes', payload, [SHARED_PAYLOAD]: true };
    assert.equal(isShared(marked), true);
    assert.equal(isShared({ ...marked, _msgid: 'm1', _event: 'node:x' }), true);
    assert.equal(isShared({ topic: 'twin/changes', payload }), false, 'not marked');
    assert.equal(isShared({ ...marked, payload: [{ type: 'x' }] }), false, 'payload not frozen');
    assert.equal(
      isShared({ ...marked, extra: { set: 'by a function node' } }),
      false,
      'a property a flow added',
    );
    assert.equal(isShared(null), false);
  });
});

import assert from 'node:assert/strict';
import { decode, isInboundMessage } from '../../core/contract';
import { isTwinChangeList } from '../../core/twin';

describe('core: shape guards for messages between nodes', () => {
  it('recognises a decoded contract message, and nothing else', () => {
    const r = decode('iot/hubs/h/status', { state: 'online', cpu_temp: 30 }, 1000);
    assert.ok(r.ok);
    assert.ok(isInboundMessage(r.msg));
    for (const v of [
      null,
      undefined,
      'x',
      [],
      {},
      { kind: 'hubStatus', ts: 1 },
      { kind: 'nope', ts: 1, data: {} },
      { kind: 'hubStatus', ts: '1', data: {} },
    ]) {
      assert.equal(isInboundMessage(v), false, JSON.stringify(v));
    }
  });

  it('recognises a list of twin changes', () => {
    assert.ok(isTwinChangeList([{ type: 'hub-state', ts: 1 }]));
    assert.ok(isTwinChangeList([]));
    assert.equal(isTwinChangeList([{ type: 1 }]), false);
    assert.equal(isTwinChangeList([null]), false);
    assert.equal(isTwinChangeList({ type: 'hub-state' }), false);
  });
});

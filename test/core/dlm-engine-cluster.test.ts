// The engine's per-hub takeover in cluster mode (issue #14): a hub acquired from a previous
// owner is restored from its stored limits exactly as at a restart (a hint; each node counts at
// max(stored, its max power) until the hub's reports settle it; RESYNC from the reports), other
// hubs untouched; a hub lost is dropped at once (no command, no re-send).
import { strict as assert } from 'node:assert';
import type { RestoredLimit } from '../../core/dlm';
import { Harness, brief } from './dlm-harness';

const A = 'hub_a';
const B = 'hub_b';
const stored = (hubId: string, limits: Record<string, number>): RestoredLimit[] =>
  Object.entries(limits).map(([nodeId, limitKw]) => ({ hubId, nodeId, limitKw }));

describe('core/dlm DlmEngine — cluster takeover (restoreHubs / dropHub)', () => {
  it('restores only the hubs acquired, RESYNCs them from their reports, leaves the others alone', () => {
    const h = new Harness();
    h.quiet = true; // the twin as the new owner has it (it saw every hub's messages)
    h.hub(A, 100, { node_01: 50, node_02: 50 });
    h.hub(B, 100, { node_01: 50, node_02: 50 });
    h.node(B, 'node_01', 'charging', 'v_1');
    h.quiet = false;
    h.atHub.set(
      B,
      new Map([
        ['node_01', 40],
        ['node_02', 0],
      ]),
    );
    h.engine.restoreHubs([B], [...stored(B, { node_01: 40 }), ...stored(A, { node_01: 50 })], h.view, h.now);
    assert.deepEqual(h.engine.hubsManaged(), [B], 'only the hub acquired is managed');
    assert.equal(h.engine.controller(B)?.totalInForceKw(), 100, 'each node at max(stored, max power)');
    assert.deepEqual(h.settle(), [], 'nothing stored is re-sent before the hub reports');
    // The reports re-sent as the hub has them, then the drain probe (restart.ts): no increase yet.
    assert.deepEqual(brief(h.echo(B)), [
      ['node_01', 40, 40, 'RESYNC'],
      ['node_02', 0, 0, 'RESYNC'],
      ['node_01', 40, 39.5, 'RESYNC'],
    ]);
    assert.ok(h.sent.every((c) => c.hubId === B));
  });

  it('drops a hub lost at once: no controller, no command, no wake-up for it', () => {
    const h = new Harness();
    h.quiet = true;
    h.hub(B, 100, { node_01: 50, node_02: 50 });
    h.node(B, 'node_01', 'charging', 'v_1');
    h.quiet = false;
    h.engine.restoreHubs([B], [], h.view, h.now);
    h.echo(B);
    h.settle();
    assert.deepEqual(h.engine.hubsManaged(), [B]);
    h.engine.dropHub(B, h.now);
    assert.deepEqual(h.engine.hubsManaged(), []);
    assert.equal(h.engine.controller(B), undefined);
    const before = h.sent.length;
    h.now += 120_000;
    assert.deepEqual(h.settle(), []);
    assert.equal(h.sent.length, before);
    assert.equal(h.engine.nextWakeMs(), null);
  });

  it('adopts a hub never owned before as a new hub: allocated at once, no restart hold', () => {
    const h = new Harness();
    h.quiet = true;
    h.hub(B, 100, { node_01: 50, node_02: 50 });
    h.node(B, 'node_01', 'charging', 'v_1');
    h.quiet = false;
    h.engine.adoptHubs([B], h.view, h.now);
    assert.deepEqual(h.engine.hubsManaged(), [B]);
    h.echo(B);
    h.settle();
    assert.equal(h.engine.controller(B)?.held(), null);
    assert.equal(h.atHub.get(B)?.get('node_01'), 50, 'the vehicle gets its power without waiting');
  });
});

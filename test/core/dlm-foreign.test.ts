// Two orchestrators on one fleet (core/dlm/foreign.ts): DLM events that claim to be an
// orchestrator's, for a hub this one allocates, that it did not publish.
import assert from 'node:assert/strict';
import { ForeignDlmEvents, allocationTimeMs } from '../../core/dlm';

const T0 = Date.UTC(2026, 11, 1, 8, 0, 0);
const ev = (hubId: string, allocationId: string | null, claimedSource: string | null = 'wpt-dlm') => ({
  hubId,
  allocationId,
  claimedSource,
});

describe('core/dlm: foreign orchestrator events', () => {
  it('reads the time of an allocation id (hub:ms:seq), hub ids with colons included', () => {
    assert.equal(allocationTimeMs(`h1:${T0}:3`), T0);
    assert.equal(allocationTimeMs(`a:b:${T0}:0`), T0);
    assert.equal(allocationTimeMs('nonsense'), null);
    assert.equal(allocationTimeMs('h:x:1'), null);
  });

  it('raises once for an event not ours, newer than our management of the hub; clears after quiet', () => {
    const f = new ForeignDlmEvents({ quietMs: 60_000, graceMs: 0 });
    f.sent(`h1:${T0 + 1000}:1`);
    // Ours, echoed: nothing.
    assert.equal(f.seen(ev('h1', `h1:${T0 + 1000}:1`), 'wpt-dlm', T0, T0 + 1100), null);
    // Another orchestrator's, allocated after we started managing h1: raised once.
    const r = f.seen(ev('h1', `h1:${T0 + 2000}:7`), 'wpt-dlm', T0, T0 + 2100);
    assert.equal(r?.state, 'raised');
    assert.equal(r?.alarm.kind, 'foreign-orchestrator');
    assert.equal(f.seen(ev('h1', `h1:${T0 + 3000}:8`), 'wpt-dlm', T0, T0 + 3100), null, 'raised once');
    assert.equal(f.list().length, 1);
    assert.deepEqual(f.tick(T0 + 3100 + 59_999), []);
    const cleared = f.tick(T0 + 3100 + 60_000);
    assert.deepEqual(
      cleared.map((e) => [e.state, e.alarm.hubId]),
      [['cleared', 'h1']],
    );
    assert.deepEqual(f.list(), []);
  });

  it('ignores what is not another orchestrator’s, now, for a hub of ours', () => {
    const f = new ForeignDlmEvents({ graceMs: 1000 });
    // Allocated before we managed the hub: the previous owner's in flight, or ours before a restart;
    // or within the grace after it (a clock a little ahead).
    assert.equal(f.seen(ev('h1', `h1:${T0 - 1}:1`), 'wpt-dlm', T0, T0 + 10), null);
    assert.equal(f.seen(ev('h1', `h1:${T0 + 999}:1`), 'wpt-dlm', T0, T0 + 1000), null);
    // A hub we do not allocate.
    assert.equal(f.seen(ev('h2', `h2:${T0 + 5}:1`), 'wpt-dlm', undefined, T0 + 10), null);
    // A hub's own events (another source) and events without an allocation id.
    assert.equal(f.seen(ev('h1', `h1:${T0 + 5}:1`, 'hub'), 'wpt-dlm', T0, T0 + 10), null);
    assert.equal(f.seen(ev('h1', null), 'wpt-dlm', T0, T0 + 10), null);
    assert.deepEqual(f.list(), []);
    // An id without a time claiming our source is foreign (a forged event).
    assert.equal(f.seen(ev('h1', 'forged'), 'wpt-dlm', T0, T0 + 10)?.state, 'raised');
    assert.equal(f.seen(ev('h3', `h3:${T0 + 1000}:1`), 'wpt-dlm', T0, T0 + 1001)?.state, 'raised');
  });

  it('remembers at most maxOwn of its own ids (the oldest forgotten first)', () => {
    const f = new ForeignDlmEvents({ maxOwn: 2, graceMs: 0 });
    for (const i of [1, 2, 3]) f.sent(`h1:${T0 + i}:0`);
    assert.equal(f.seen(ev('h1', `h1:${T0 + 3}:0`), 'wpt-dlm', T0, T0 + 10), null);
    assert.equal(f.seen(ev('h1', `h1:${T0 + 2}:0`), 'wpt-dlm', T0, T0 + 10), null);
    assert.equal(f.seen(ev('h1', `h1:${T0 + 1}:0`), 'wpt-dlm', T0, T0 + 10)?.state, 'raised');
  });
});

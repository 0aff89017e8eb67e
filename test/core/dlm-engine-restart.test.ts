// The engine after a restart (issue 9, "Σ ≤ C by what the hub reports"): the limits restored
// from storage are only a hint — the run before may have sent limits it never stored — so
// each node counts at max(stored, its max power) until the hub's reports settle it, nothing
// stored is re-sent before the hub reports it, decreases go first, and no increase goes
// before the hub has settled. The hub applies every command as it goes on the wire; Σ of what
// it applies is checked at every message.
import { strict as assert } from 'node:assert';
import type { DlmCommand, RestoredLimit } from '../../core/dlm';
import { Harness, brief } from './dlm-harness';

const HUB = 'hub_01';

/** A harness whose hub asserts Σ applied ≤ C at every message it receives. */
function watched(capacityKw: number): Harness {
  const h = new Harness();
  const record = h.record.bind(h);
  h.record = (cmds: DlmCommand[]): DlmCommand[] => {
    for (const c of cmds) {
      record([c]);
      const sum = [...(h.atHub.get(c.hubId)?.values() ?? [])].reduce((a, b) => a + b, 0);
      assert.ok(
        sum <= capacityKw + 1e-9,
        `Σ ${sum} kW > C ${capacityKw} at ${c.nodeId} → ${c.newLimitKw} (${c.reason})`,
      );
    }
    return cmds;
  };
  return h;
}

/** The twin as restored before the engine starts, and what the hub applies (the truth). */
function before(h: Harness, capacityKw: number, charging: string[], atHub: Record<string, number>): void {
  h.quiet = true;
  h.hub(HUB, capacityKw, { node_01: 50, node_02: 50, node_03: 50, node_04: 50 });
  for (const n of charging) h.node(HUB, n, 'charging', `v_${n}`);
  h.quiet = false;
  h.atHub.set(HUB, new Map(Object.entries(atHub)));
}

const stored = (limits: Record<string, number>): RestoredLimit[] =>
  Object.entries(limits).map(([nodeId, limitKw]) => ({ hubId: HUB, nodeId, limitKw }));

const increases = (cmds: DlmCommand[]) => cmds.filter((c) => c.newLimitKw > c.originalLimitKw);

describe('core/dlm DlmEngine — restart', () => {
  it('stored limits lower than what the hub applied (events never stored): no Σ > C at any message; raised once the hub drained', () => {
    const h = watched(110);
    // The run before gave node_01/02 50 kW (stored), then 0 and node_03/04 50 kW (not stored).
    before(h, 110, ['node_03', 'node_04'], { node_01: 0, node_02: 0, node_03: 50, node_04: 50 });
    h.engine.restore(stored({ node_01: 50, node_02: 50 }), h.view, h.now);
    const ctl = h.engine.controller(HUB);
    assert.equal(ctl?.totalInForceKw(), 200, 'every node at its max power until the hub settles it');
    // Nothing stored is re-sent; the allocation's decreases to 0 wait for the nodes' reports.
    assert.deepEqual(h.settle(), []);
    // The reports are adopted and re-sent as the hub has them: no older limit, nothing to lower.
    assert.deepEqual(brief(h.echo(HUB)), [
      ['node_01', 0, 0, 'RESYNC'],
      ['node_02', 0, 0, 'RESYNC'],
      ['node_03', 50, 50, 'RESYNC'],
      ['node_04', 50, 50, 'RESYNC'],
    ]);
    assert.equal(ctl?.held(), 'restart');
    // A vehicle at node_01: node_03/04 go down at once (below what the hub reported), node_01 waits.
    h.request(HUB, 'node_01', 'v_node_01', 20);
    h.node(HUB, 'node_01', 'charging', 'v_node_01');
    const cmds = h.settle();
    assert.deepEqual(increases(cmds), [], 'no increase before the hub settled');
    assert.deepEqual(
      cmds.map((c) => c.nodeId),
      ['node_03', 'node_04'],
    );
    // The hub's report of a decrease shows it applied everything sent before: the nodes settle
    // at their reports, then node_01 gets its share.
    h.echo(HUB);
    const raised = [...h.echo(HUB), ...h.settle()];
    assert.deepEqual(
      raised.map((c) => [c.nodeId, c.reason]),
      [['node_01', 'VEHICLE_CONNECTED']],
    );
    assert.equal(ctl?.held(), null);
    assert.ok(Math.abs((h.atHub.get(HUB)?.get('node_01') ?? 0) - 110 / 3) < 0.002);
  });

  it('stored limits higher than what the hub applied (its 0 never stored): no older limit re-sent; a probe shows the drain, then the increase', () => {
    const h = watched(100);
    before(h, 100, ['node_02', 'node_03'], { node_01: 0, node_02: 50, node_03: 0, node_04: 0 });
    h.engine.restore(stored({ node_01: 50, node_02: 50 }), h.view, h.now);
    // node_01's stored 50 kW is not re-sent: the hub has it at 0; node_03's 50 kW waits.
    assert.deepEqual(h.settle(), []);
    // Every report matches what the hub had: none can show that what the run before sent has
    // arrived. With node_03's increase waiting, node_02 is lowered by minChangeKw (0.5 kW): the
    // hub's report of it does.
    assert.deepEqual(brief(h.echo(HUB)), [
      ['node_01', 0, 0, 'RESYNC'],
      ['node_02', 50, 50, 'RESYNC'],
      ['node_03', 0, 0, 'RESYNC'],
      ['node_04', 0, 0, 'RESYNC'],
      ['node_02', 50, 49.5, 'RESYNC'],
    ]);
    assert.equal(h.engine.controller(HUB)?.held(), 'restart');
    h.echo(HUB);
    const raised = [...h.echo(HUB), ...h.settle()];
    assert.deepEqual(
      raised.map((c) => [c.nodeId, c.originalLimitKw, c.newLimitKw]),
      [
        ['node_02', 49.5, 50],
        ['node_03', 0, 50],
      ],
    );
    assert.equal(h.engine.controller(HUB)?.held(), null);
  });

  it('a hub at 0 everywhere: nothing can show the drain; increases wait a delivery window of reports', () => {
    const h = watched(100);
    before(h, 100, ['node_02'], { node_01: 0, node_02: 0, node_03: 0, node_04: 0 });
    h.engine.restore(stored({ node_01: 50 }), h.view, h.now);
    assert.deepEqual(h.settle(), []);
    assert.deepEqual(increases(h.echo(HUB)), []);
    h.keepAlive(HUB);
    assert.deepEqual(increases(h.advance(29_000)), []);
    assert.equal(h.engine.controller(HUB)?.held(), 'restart');
    assert.deepEqual(brief(h.advance(4000)), [['node_02', 0, 50, 'RESYNC']]);
    assert.deepEqual(h.engine.alarms(), [], 'settled before the alarm');
  });

  it('the hub reporting late: only decreases to 0 before its reports; settled by them, then raised', () => {
    const h = watched(110);
    // node_01's vehicle arrived while we were down: its limit never went out.
    before(h, 110, ['node_01', 'node_03', 'node_04'], { node_01: 0, node_02: 0, node_03: 50, node_04: 50 });
    h.engine.restore(stored({ node_01: 50, node_02: 50, node_03: 0 }), h.view, h.now);
    assert.deepEqual(h.settle(), []);
    // Hub heartbeats but no node report for 8 s: node_02's decrease to 0 waits for its report
    // a re-send period (5 s), then goes (it cannot raise the hub); nothing else (node_01's
    // 36.666 kW could raise the hub; node_03/04's decreases too: the hub may be below them).
    for (let t = 0; t < 4; t++) {
      h.status(HUB, 'online');
      assert.deepEqual(brief(h.advance(2000)), t === 2 ? [['node_02', 50, 0, 'RESYNC']] : []);
    }
    // The reports come: node_01 at 0 (adopted), node_03/04 at 50 go down, node_01 waits.
    const down = h.echo(HUB);
    assert.deepEqual(increases(down), []);
    assert.deepEqual(
      down.filter((c) => c.newLimitKw < c.originalLimitKw).map((c) => c.nodeId),
      ['node_03', 'node_04'],
    );
    h.echo(HUB);
    assert.deepEqual(
      [...h.echo(HUB), ...h.settle()].map((c) => [c.nodeId, c.originalLimitKw]),
      [['node_01', 0]],
    );
    assert.equal(h.engine.controller(HUB)?.held(), null);
  });

  it('the hub never reporting: no increase, alarm hub-limits-unknown; cleared once it reports', () => {
    const h = watched(100);
    before(h, 100, ['node_01'], { node_01: 30, node_02: 20, node_03: 0, node_04: 0 });
    h.engine.restore(stored({ node_01: 30, node_02: 20 }), h.view, h.now);
    const restoredAt = h.now;
    // Heartbeats keep the hub available; no node ever reports.
    const sent: DlmCommand[] = [...h.settle()];
    for (let t = 0; t < 35; t++) {
      h.status(HUB, 'online');
      sent.push(...h.advance(2000));
    }
    // Only node_02's decrease to 0 (it cannot raise the hub), after a re-send period, then its
    // re-sends (unconfirmed).
    assert.deepEqual(increases(sent), []);
    assert.ok(sent.length > 0 && sent.every((c) => c.nodeId === 'node_02' && c.newLimitKw === 0));
    assert.equal((sent[0] as DlmCommand).ts - restoredAt, 5000);
    assert.equal(h.engine.controller(HUB)?.held(), 'resync');
    assert.deepEqual(h.engine.alarms(), [
      {
        kind: 'hub-limits-unknown',
        hubId: HUB,
        sinceMs: restoredAt,
        nodes: ['node_01', 'node_02', 'node_03', 'node_04'],
      },
    ]);
    const raised = h.engine.takeAlarmEvents();
    assert.deepEqual(
      raised.map((e) => [e.state, e.alarm.kind, e.ts - restoredAt]),
      [['raised', 'hub-limits-unknown', 60_000]],
    );
    // It reports at last (present all along: a delivery window has passed): settled, node_01
    // re-sent as the hub has it, then raised to its max.
    const after = [...h.echo(HUB), ...h.echo(HUB), ...h.settle()];
    assert.deepEqual(brief(after.filter((c) => c.nodeId === 'node_01')), [
      ['node_01', 30, 30, 'RESYNC'],
      ['node_01', 30, 50, 'RESYNC'],
    ]);
    assert.deepEqual(h.engine.alarms(), []);
    assert.deepEqual(
      h.engine.takeAlarmEvents().map((e) => [e.state, e.alarm.kind]),
      [['cleared', 'hub-limits-unknown']],
    );
  });

  it('restore of a hub not yet known: stored limits kept as a hint; the allocation once it is', () => {
    const h = new Harness();
    h.engine.restore([{ hubId: 'hub_07', nodeId: 'node_01', limitKw: 11 }], h.view, h.now);
    assert.deepEqual(h.settle(), []);
    h.hub('hub_07', 100, { node_01: 50 });
    // Nothing stored is re-sent; the decrease to 0 (the node is idle) waits for its report…
    assert.deepEqual(h.sent, []);
    // …which shows it at 0 already: adopted and re-sent as the hub has it.
    assert.deepEqual(brief(h.echo('hub_07')), [['node_01', 0, 0, 'RESYNC']]);
  });
});

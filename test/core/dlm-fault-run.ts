// One run of the engine against a hub behind QoS 1 (see dlm-engine-faults.test.ts), for the
// property and for replaying a counterexample by hand.
import { strict as assert } from 'node:assert';
import { commandToNotification } from '../../core/dlm';
import type { DlmCommand } from '../../core/dlm';
import { SimHub } from './dlm-sim-hub';
import { Harness } from './dlm-harness';

export type FaultOp =
  | { k: 'request' | 'leave' | 'fault' | 'repair' | 'maintenance'; node: number; soc: number }
  | { k: 'capacity'; kw: number }
  | { k: 'step'; ms: number }
  | { k: 'deliver'; n: number }
  | { k: 'reportsLost' }
  | { k: 'hubDown'; clean: boolean; announce: boolean }
  | { k: 'hubUp' }
  | { k: 'ourDown' }
  | { k: 'ourUp' }
  // The orchestrator killed and started again; its last `lost` commands never stored.
  | { k: 'restart'; lost: number };

export const NODES = ['n1', 'n2', 'n3', 'n4'];
const MAX = [78, 50, 43.3, 22];
const milli = (kw: number) => Math.round(kw * 1000);

export function runFaults(
  cap0: number,
  minChangeKw: number,
  float32: boolean,
  ops: readonly FaultOp[],
): Harness {
  const h = new Harness({ policy: 'soc-priority', minChangeKw, resendS: 2, resendMaxS: 8 });
  let capacity = cap0;
  let hubOk = true;
  let ourUp = true;
  let lostReports = false;
  const hub = new SimHub((_m, sim) => {
    if (!hubOk && sim.quiet() && [...sim.applied.values()].every((v) => v >= 0)) {
      const ctl = h.engine.controller('hub_01');
      if (ctl && ctl.totalInForceKw() <= capacity + 1e-9 && milli(sim.sum()) <= milli(capacity)) hubOk = true;
    }
    if (hubOk) {
      let s = 0;
      for (const v of sim.applied.values()) s += milli(v);
      assert.ok(s <= milli(capacity), `the hub at Σ ${s / 1000} > C ${capacity}`);
    }
  });
  // Our commands go on the wire (when our broker connection is up) to the simulated hub.
  const publish = (cmds: DlmCommand[]) => {
    for (const c of cmds) {
      const n = JSON.parse(JSON.stringify(commandToNotification(c, 'soc-priority'))) as { new_limit: number };
      assert.ok(n.new_limit <= c.newLimitKw, 'never rounded up');
      if (ourUp) hub.publish({ nodeId: c.nodeId, kw: n.new_limit });
    }
  };
  const sentBefore = () => h.sent.length;
  const flush = (from: number) => publish(h.sent.slice(from));
  const released = () => {
    const ctl = h.engine.controller('hub_01');
    const last = h.engine.lastAllocation('hub_01');
    // A hub reporting a hair above what it was sent (float32) makes increases go trimmed
    // by a step, and the step waits: only exact echoes are held to this.
    if (float32 || !ctl || !last || !ourUp || h.engine.brokerDownSinceMs() !== null) return;
    if (last.result.totalKw > ctl.capacityKw + 1e-9) return;
    if (ctl.unconfirmed().length === 0 && ctl.held() === null)
      assert.deepEqual([...ctl.pendingIncreases()], [], 'an increase waits although everything is confirmed');
  };
  const report = () => {
    if (!hub.connected) return;
    for (const id of NODES) {
      const r = hub.report(id) as number;
      if (lostReports || !ourUp) continue;
      const from = sentBefore();
      h.telemetry('hub_01', id, undefined, float32 ? Math.fround(r) : r);
      flush(from);
      released();
    }
    lostReports = false;
  };
  const run = (f: () => unknown) => {
    const from = sentBefore();
    f();
    flush(from);
  };

  run(() => h.hub('hub_01', capacity, Object.fromEntries(NODES.map((id, i) => [id, MAX[i] as number]))));
  // What reaches us through the broker: only while our connection is up, and from the
  // hub only while it is connected.
  // Our broker connection is back: the retained hub status is delivered again, then the
  // allocator node tells the engine.
  const back = () => {
    ourUp = true;
    run(() => h.status('hub_01', hub.connected ? 'online' : 'offline'));
    run(() => h.engine.brokerUp(h.view, h.now));
  };
  const fromApp = (f: () => unknown) => ourUp && run(f);
  const fromHub = (f: () => unknown) => ourUp && hub.connected && run(f);
  for (const op of ops) {
    const id = 'node' in op ? (NODES[op.node] as string) : '';
    switch (op.k) {
      case 'request':
        fromApp(() => h.request('hub_01', id, `v_${id}`, op.soc));
        fromHub(() => h.node('hub_01', id, 'charging', `v_${id}`));
        break;
      case 'leave':
      case 'repair':
        fromHub(() => h.node('hub_01', id, 'idle'));
        break;
      case 'fault':
        fromHub(() => h.node('hub_01', id, 'faulted'));
        break;
      case 'maintenance': // an operator, through the REST API
        run(() =>
          h.changes(h.twin.setNodeMaintenance('hub_01', id, !h.twin.node('hub_01', id)?.maintenance, h.now)),
        );
        break;
      case 'capacity':
        if (!ourUp || !hub.connected) break;
        if (op.kw < capacity) hubOk = false;
        capacity = op.kw;
        run(() => h.info('hub_01', op.kw));
        break;
      case 'step':
        // A connected hub gets what is queued for it and reports; then time passes.
        hub.deliver();
        report();
        run(() => h.advance(op.ms));
        break;
      case 'deliver':
        hub.deliver(op.n);
        break;
      case 'reportsLost':
        lostReports = true;
        break;
      case 'hubDown':
        if (op.announce) fromHub(() => h.status('hub_01', 'offline')); // its last will
        hub.disconnect(op.clean);
        break;
      case 'hubUp':
        if (!hub.connected) {
          hub.reconnect();
          fromHub(() => h.status('hub_01', 'online'));
        }
        break;
      case 'ourDown':
        if (ourUp) h.engine.brokerDown(h.now);
        ourUp = false;
        break;
      case 'ourUp':
        if (!ourUp) back();
        break;
      case 'restart': {
        const stored = new Map<string, number>();
        for (const c of h.sent.slice(0, Math.max(0, h.sent.length - op.lost)))
          stored.set(c.nodeId, c.newLimitKw);
        h.restart([...stored].map(([nodeId, limitKw]) => ({ hubId: 'hub_01', nodeId, limitKw })));
        if (!ourUp) h.engine.brokerDown(h.now);
        break;
      }
    }
  }
  // Everything comes back; the hub keeps reporting until nothing moves.
  if (!ourUp) back();
  if (!hub.connected) {
    hub.reconnect();
    run(() => h.status('hub_01', 'online'));
  }
  for (let i = 0; i < 40; i++) {
    hub.deliver();
    report();
    run(() => h.advance(2000));
  }
  // Round trips without time passing (a report may release an increase that needs its echo).
  for (let i = 0; i < 4; i++) {
    hub.deliver();
    report();
  }
  const ctl = h.engine.controller('hub_01');
  assert.ok(ctl);
  assert.deepEqual(ctl.unconfirmed(), [], 'every limit confirmed');
  assert.equal(ctl.held(), null);
  // A float32 echo a hair above what was sent leaves a trimmed increase one step short.
  const waiting = [...ctl.pendingIncreases()].filter(
    ([id, kw]) => !float32 || kw - (ctl.published().get(id) ?? 0) > 0.0011,
  );
  assert.deepEqual(waiting, [], 'no increase waits');
  for (const [nodeId, kw] of ctl.published())
    assert.equal(hub.applied.get(nodeId) ?? 0, kw, `${nodeId} applied`);
  const last = h.engine.lastAllocation('hub_01');
  assert.ok(last);
  const published = [...ctl.published().values()].reduce((a, b) => a + milli(b), 0);
  const demand = h.twin
    .nodesOf('hub_01')
    .filter((n) => n.state !== 'faulted' && !n.maintenance && (n.state === 'charging' || n.assignedVehicleId))
    .reduce((a, n) => a + milli(n.maxPowerKw ?? 0), 0);
  const target = Math.min(milli(capacity), demand);
  assert.equal(milli(last.result.totalKw), target, 'the allocation gives min(C, Σ demand)');
  const slack = (minChangeKw > 0 ? NODES.length * milli(minChangeKw) : 0) + (float32 ? NODES.length : 0);
  assert.ok(published <= milli(capacity));
  assert.ok(published >= target - slack, `Σ published ${published} < ${target} − ${slack}: stranded`);
  return h;
}

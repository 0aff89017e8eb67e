// Property: the controller against a simulated hub behind MQTT QoS 1 — see dlm-sim-hub.ts for
// the fault model (losses and re-deliveries across disconnections, reports lost or repeated,
// our own broker connection going down) — with exact echoes.
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { allocate, HubLimitController, WIRE_RESOLUTION_KW } from '../../core/dlm';
import type { AllocInput, DlmCommand, Policy } from '../../core/dlm';
import { SimHub } from './dlm-sim-hub';

const EPS = 1e-9;

function sum(m: Map<string, number>): number {
  let s = 0;
  for (const v of m.values()) s += v;
  return s;
}

describe('core/dlm HubLimitController — property against a hub behind QoS 1', () => {
  // ---- property: a simulated hub behind MQTT QoS 1 (see dlm-sim-hub.ts for the fault model) ----
  type Op =
    | {
        k: 'alloc';
        nodes: Array<{ id: number; max: number; soc: number | null; critical: boolean }>;
        policy: Policy;
      }
    | { k: 'deliver'; n: number }
    | { k: 'echo' }
    | { k: 'ack' }
    | { k: 'report'; id: number; drop: boolean; dup: boolean }
    | { k: 'receive'; n: number }
    | { k: 'advance'; ms: number }
    | { k: 'capacity'; kw: number }
    | { k: 'hubDown'; clean: boolean; visible: boolean }
    | { k: 'hubUp' }
    | { k: 'ourDown' }
    | { k: 'ourUp' };

  const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    w(
      6,
      fc.record({
        k: fc.constant('alloc' as const),
        nodes: fc.uniqueArray(
          fc.record({
            id: fc.integer({ min: 0, max: 5 }),
            max: fc.oneof(fc.double({ min: 0, max: 120, noNaN: true }), fc.constantFrom(0, 1e-9, 22, 50, 78)),
            soc: fc.option(fc.integer({ min: 0, max: 100 }), { nil: null }),
            critical: fc.boolean(),
          }),
          { selector: (n) => n.id, maxLength: 6 },
        ),
        policy: fc.constantFrom<Policy>('equal', 'soc-priority'),
      }),
    ),
    w(6, fc.record({ k: fc.constant('deliver' as const), n: fc.integer({ min: 1, max: 4 }) })),
    w(2, fc.constant({ k: 'ack' as const })),
    w(5, fc.constant({ k: 'echo' as const })),
    w(
      8,
      fc.record({
        k: fc.constant('report' as const),
        id: fc.integer({ min: 0, max: 5 }),
        drop: fc.boolean(),
        dup: fc.boolean(),
      }),
    ),
    w(6, fc.record({ k: fc.constant('receive' as const), n: fc.integer({ min: 1, max: 4 }) })),
    w(2, fc.record({ k: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 6000 }) })),
    w(
      1,
      fc.record({
        k: fc.constant('capacity' as const),
        kw: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.constant(140)),
      }),
    ),
    w(2, fc.record({ k: fc.constant('hubDown' as const), clean: fc.boolean(), visible: fc.boolean() })),
    w(3, fc.constant({ k: 'hubUp' as const })),
    w(1, fc.constant({ k: 'ourDown' as const })),
    w(2, fc.constant({ k: 'ourUp' as const })),
  );

  it('property: against a hub behind QoS 1 — never above what is counted, Σ ≤ C at every message the hub applies, increases on the first confirming report, nothing stranded', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 50, max: 300 }),
        fc.constantFrom(0, 0.5, 2),
        fc.array(opArb, { minLength: 10, maxLength: 100 }),
        (cap0, minChangeKw, ops) => {
          const c = new HubLimitController('h', {
            capacityKw: cap0,
            minChangeKw,
            resendS: 2,
            resendMaxS: 8,
            deliveryWindowS: 30,
          });
          let now = 0;
          let ourUp = true;
          let hubVisible = false; // the hub is away and we know it (status offline / stale)
          let targetsFit = true; // the last apply was for the current C
          let lastNodes: AllocInput[] = [];
          let lastPolicy: Policy = 'equal';
          const reports: Array<[string, number]> = []; // hub → us, in order
          // Until a capacity drop is absorbed (Σ in force ≤ C, and no message sent before it
          // can still arrive), the hub may be above the new C; the controller only sends
          // decreases meanwhile (checked at every command below).
          let hubOk = true;
          const hub = new SimHub((_m, h) => {
            if (!h.replaying()) {
              const inForce = c.inForce();
              for (const [id, v] of h.applied)
                assert.ok(
                  v <= (inForce.get(id) ?? 0) + EPS,
                  `hub ${id} at ${v} above in force ${inForce.get(id)}`,
                );
            }
            if (
              !hubOk &&
              h.quiet() &&
              c.totalInForceKw() <= c.capacityKw + EPS &&
              h.sum() <= c.capacityKw + EPS
            )
              hubOk = true;
            if (hubOk) assert.ok(h.sum() <= c.capacityKw + EPS, `hub at ${h.sum()} > C ${c.capacityKw}`);
          });
          const publish = (cmds: DlmCommand[], before: number) => {
            let prev = before;
            for (const cmd of cmds) {
              const total = cmd.totalGridLoadKw;
              if (prev > c.capacityKw + EPS) assert.ok(total <= prev + EPS, 'Σ in force grew while above C');
              else assert.ok(total <= c.capacityKw + EPS, `Σ in force ${total} > C ${c.capacityKw}`);
              assert.equal(cmd.availableCapacityKw, Math.max(0, c.capacityKw - total));
              assert.equal(
                cmd.newLimitKw,
                Math.floor(cmd.newLimitKw * 1000 + 1e-6) / 1000,
                'at the resolution',
              );
              prev = total;
              if (ourUp) hub.publish({ nodeId: cmd.nodeId, kw: cmd.newLimitKw });
            }
          };
          const run = (f: () => DlmCommand[]) => {
            const before = c.totalInForceKw();
            publish(f(), before);
          };
          // Released on the very report that makes room: once every limit is confirmed and
          // nothing holds the hub, no increase of a target within C may still wait.
          const releasedOnConfirmation = () => {
            if (targetsFit && c.unconfirmed().length === 0 && c.held() === null)
              assert.deepEqual(
                [...c.pendingIncreases()],
                [],
                'an increase waits although everything is confirmed',
              );
          };
          const alloc = (nodes: AllocInput[], policy: Policy) => {
            lastNodes = nodes;
            lastPolicy = policy;
            const t = allocate(c.capacityKw, nodes, { policy, reserve: 0, resolutionKw: WIRE_RESOLUTION_KW });
            // The controller's targets are the last allocation it was given: one computed while
            // the hub is away is not applied, so it does not make them fit the current C.
            if (ourUp && !hubVisible) {
              targetsFit = true;
              run(() => c.apply(t, 'REBALANCE', now));
            }
          };

          let hubDownSince = 0;
          const receive = (n: number) => {
            for (let i = 0; i < n && reports.length > 0; i++) {
              const [id, r] = reports.shift() as [string, number];
              if (!ourUp || hubVisible) continue;
              run(() => c.confirm(id, r, now));
              releasedOnConfirmation();
            }
          };
          for (const op of ops) {
            switch (op.k) {
              case 'alloc':
                alloc(
                  op.nodes.map((n) => ({
                    nodeId: `n${n.id}`,
                    maxPowerKw: n.max,
                    soc: n.soc,
                    critical: n.critical,
                  })),
                  op.policy,
                );
                break;
              case 'deliver':
                hub.deliver(op.n);
                break;
              case 'ack':
                hub.ack();
                break;
              case 'echo':
                // A hub that echoes at once: applies what it got, reports every node, we read it.
                hub.deliver();
                for (let i = 0; i < 6; i++) {
                  const r = hub.report(`n${i}`);
                  if (r !== null && (hub.applied.has(`n${i}`) || c.published().has(`n${i}`)))
                    reports.push([`n${i}`, r]);
                }
                receive(reports.length);
                break;
              case 'report': {
                const r = hub.report(`n${op.id}`);
                if (r !== null && !op.drop) {
                  reports.push([`n${op.id}`, r]);
                  if (op.dup) reports.push([`n${op.id}`, r]);
                }
                break;
              }
              case 'receive':
                receive(op.n);
                break;
              case 'advance':
                // Time passes: what a connected hub was sent is delivered, what it reported
                // reaches us while we are connected (delivery takes less than a step).
                hub.deliver();
                receive(reports.length);
                now += op.ms;
                // A hub silent for stale_after_s (10 s) is seen as away: suspended, RESYNCed when back.
                if (!hub.connected && now - hubDownSince > 10_000) hubVisible = true;
                if (ourUp && !hubVisible) run(() => c.tick(now));
                break;
              case 'capacity':
                if (op.kw < c.capacityKw) hubOk = false;
                c.setCapacity(op.kw);
                targetsFit = false;
                break;
              case 'hubDown':
                if (hub.connected) hubDownSince = now;
                hub.disconnect(op.clean);
                hubVisible ||= op.visible;
                break;
              case 'hubUp':
                hub.reconnect();
                if (hubVisible && ourUp) run(() => c.resync(now));
                hubVisible = false;
                break;
              case 'ourDown':
                ourUp = false;
                reports.length = 0;
                break;
              case 'ourUp':
                if (!ourUp && !hubVisible) run(() => c.resync(now));
                ourUp = true;
                break;
            }
          }

          // Everything comes back; the hub reports every node until nothing moves.
          hub.reconnect();
          if (!ourUp || hubVisible) {
            ourUp = true;
            hubVisible = false;
            run(() => c.resync(now));
          }
          alloc(lastNodes, lastPolicy);
          const ids = () => [...new Set([...c.published().keys(), ...hub.applied.keys()])];
          for (let round = 0; round < 12; round++) {
            hub.deliver();
            for (const id of ids()) {
              run(() => c.confirm(id, hub.report(id) as number, now));
              releasedOnConfirmation();
            }
            now += 8000;
            run(() => c.tick(now));
          }
          assert.equal(hub.pending(), 0, 'nothing left to deliver');
          for (const [id, kw] of hub.applied) assert.ok(kw <= (c.inForce().get(id) ?? 0) + EPS);
          assert.deepEqual(c.unconfirmed(), [], 'every limit confirmed');
          assert.equal(c.held(), null);
          assert.deepEqual([...c.pendingIncreases()], [], 'no increase waits');
          for (const [id, kw] of c.published())
            assert.equal(hub.applied.get(id) ?? 0, kw, `hub ${id} at its limit`);
          // Nothing stranded: Σ published is the allocation's Σ (exactly, without hysteresis).
          const t = allocate(c.capacityKw, lastNodes, {
            policy: lastPolicy,
            reserve: 0,
            resolutionKw: WIRE_RESOLUTION_KW,
          });
          const published = sum(c.published());
          if (minChangeKw === 0)
            assert.ok(Math.abs(published - t.totalKw) <= EPS, `Σ ${published} ≠ ${t.totalKw}`);
          else assert.ok(published >= t.totalKw - lastNodes.length * minChangeKw - EPS);
          assert.ok(published <= c.capacityKw + EPS);
        },
      ),
      { numRuns: Number(process.env.DLM_FC_RUNS ?? 1000) },
    );
  });
});

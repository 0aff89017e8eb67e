// HubCustody (core/dlm/custody.ts): in cluster mode the DLM engine manages exactly the hubs
// taken over under an open fence — restored from the stored limits (or adopted when never
// owned before), dropped at once when the fence closes, and no command leaves for any other hub.
import { strict as assert } from 'node:assert';
import { HubCustody, type DlmCommand, type HubLeases, type RestoredLimit } from '../../core/dlm';
import type { TwinChange } from '../../core/twin';
import { Harness } from './dlm-harness';

class FakeLeases implements HubLeases {
  /** Hubs held with an open fence, with their epoch. */
  readonly held = new Map<string, number>();
  stored: RestoredLimit[] = [];
  failWith: Error | null = null;
  /** When set, storedLimits waits for it (a slow read). */
  gate: Promise<void> | null = null;
  readonly reads: string[][] = [];
  mayPublish(hubId: string): boolean {
    return this.held.has(hubId);
  }
  epochOf(hubId: string): number | undefined {
    return this.held.get(hubId);
  }
  ownedHubs(): string[] {
    return [...this.held.keys()].sort();
  }
  async storedLimits(hubIds: readonly string[]): Promise<RestoredLimit[]> {
    this.reads.push([...hubIds]);
    if (this.gate) await this.gate;
    if (this.failWith) throw this.failWith;
    return this.stored.filter((l) => hubIds.includes(l.hubId));
  }
}

function setup(): { h: Harness; leases: FakeLeases; custody: HubCustody } {
  const h = new Harness();
  h.quiet = true; // the twin as the instance has it: it saw every hub's info
  for (const hubId of ['hub_a', 'hub_b', 'hub_c']) {
    h.hub(hubId, 100, { node_01: 50, node_02: 50 });
    h.node(hubId, 'node_01', 'charging', `v_${hubId}`);
  }
  h.quiet = false;
  const leases = new FakeLeases();
  return { h, leases, custody: new HubCustody(h.engine, leases) };
}

const cmd = (hubId: string, nodeId: string): DlmCommand => ({ hubId, nodeId }) as unknown as DlmCommand;

describe('core/dlm HubCustody (cluster mode)', () => {
  it('takes over the hubs owned: restores those stored or owned before, adopts those never owned', async () => {
    const { h, leases, custody } = setup();
    leases.held.set('hub_a', 3); // owned before, limits stored
    leases.held.set('hub_b', 1); // never owned, nothing stored: a new hub
    leases.held.set('hub_c', 1); // epoch 1 but a limit stored (sent by a single instance before)
    leases.stored = [
      { hubId: 'hub_a', nodeId: 'node_01', limitKw: 40 },
      { hubId: 'hub_c', nodeId: 'node_01', limitKw: 30 },
    ];
    const fresh = custody.reconcile(h.now);
    assert.deepEqual(fresh, ['hub_a', 'hub_b', 'hub_c']);
    const done = await custody.takeOver(fresh, h.view, () => h.now);
    assert.deepEqual(done, { hubs: 3, limits: 2 });
    assert.deepEqual(h.engine.hubsManaged(), ['hub_a', 'hub_b', 'hub_c']);
    // Restored as at a restart: every node counts at max(stored, max power) until reports settle it.
    assert.equal(h.engine.controller('hub_a')?.totalInForceKw(), 100);
    assert.equal(h.engine.controller('hub_c')?.totalInForceKw(), 100);
    assert.notEqual(h.engine.controller('hub_a')?.held(), null, 'a restored hub waits for its reports');
    assert.equal(h.engine.controller('hub_b')?.held(), null, 'an adopted hub is allocated at once');
    assert.equal(custody.managedSince('hub_a'), h.now);
    assert.equal(custody.epochOf('hub_a'), 3);
    assert.deepEqual(custody.reconcile(h.now), [], 'nothing left to take over');
  });

  it('drops a hub at once when its fence closes, and takes it over again when it is owned again', async () => {
    const { h, leases, custody } = setup();
    leases.held.set('hub_a', 2);
    leases.held.set('hub_b', 2);
    await custody.takeOver(custody.reconcile(h.now), h.view, () => h.now);
    leases.held.delete('hub_a');
    assert.deepEqual(custody.reconcile(h.now), []);
    assert.equal(custody.manages('hub_a'), false);
    assert.equal(custody.epochOf('hub_a'), null);
    assert.deepEqual(h.engine.hubsManaged(), ['hub_b'], 'the engine no longer manages the hub lost');
    leases.held.set('hub_a', 4);
    assert.deepEqual(custody.reconcile(h.now), ['hub_a']);
  });

  it('does not offer a hub twice while its limits are being read', async () => {
    const { h, leases, custody } = setup();
    leases.held.set('hub_a', 2);
    let open!: () => void;
    leases.gate = new Promise((r) => (open = r));
    const pending = custody.takeOver(custody.reconcile(h.now), h.view, () => h.now);
    assert.deepEqual(custody.reconcile(h.now), [], 'being restored');
    open();
    await pending;
    assert.equal(custody.manages('hub_a'), true);
    assert.deepEqual(leases.reads, [['hub_a']]);
  });

  it('leaves out a hub lost while its limits were read', async () => {
    const { h, leases, custody } = setup();
    leases.held.set('hub_a', 2);
    leases.held.set('hub_b', 2);
    let open!: () => void;
    leases.gate = new Promise((r) => (open = r));
    const pending = custody.takeOver(custody.reconcile(h.now), h.view, () => h.now);
    leases.held.delete('hub_a');
    open();
    assert.deepEqual(await pending, { hubs: 1, limits: 0 });
    assert.deepEqual(h.engine.hubsManaged(), ['hub_b']);
  });

  it('manages nothing when the stored limits cannot be read, and offers the hubs again', async () => {
    const { h, leases, custody } = setup();
    leases.held.set('hub_a', 2);
    leases.failWith = new Error('connection refused');
    await assert.rejects(
      custody.takeOver(custody.reconcile(h.now), h.view, () => h.now),
      /connection refused/,
    );
    assert.equal(custody.manages('hub_a'), false);
    assert.deepEqual(h.engine.hubsManaged(), []);
    assert.deepEqual(custody.reconcile(h.now), ['hub_a'], 'the next cycle tries again');
  });

  it('fences each batch: commands only for hubs managed with an open fence, in order', async () => {
    const { h, leases, custody } = setup();
    leases.held.set('hub_a', 2);
    leases.held.set('hub_b', 2);
    await custody.takeOver(custody.reconcile(h.now), h.view, () => h.now);
    leases.held.delete('hub_b'); // its lease may be gone: the cycle has not run yet
    const batch = [
      cmd('hub_a', 'node_02'),
      cmd('hub_b', 'node_01'),
      cmd('hub_c', 'node_01'),
      cmd('hub_a', 'node_01'),
    ];
    const out = custody.fence(batch, h.now);
    assert.deepEqual(
      out.map((c) => `${c.hubId}/${c.nodeId}`),
      ['hub_a/node_02', 'hub_a/node_01'],
    );
    assert.equal(custody.manages('hub_b'), false, 'dropped at the fence');
    assert.deepEqual(h.engine.hubsManaged(), ['hub_a']);
  });

  it('keeps the changes of the hubs managed and those of no hub', async () => {
    const { h, leases, custody } = setup();
    leases.held.set('hub_a', 2);
    await custody.takeOver(custody.reconcile(h.now), h.view, () => h.now);
    const changes = [
      { type: 'hub-status', hubId: 'hub_a' },
      { type: 'hub-status', hubId: 'hub_b' },
      { type: 'vehicle-upserted', vehicleId: 'v_1' },
    ] as unknown as TwinChange[];
    assert.deepEqual(
      custody.ownChanges(changes).map((c) => (c as { hubId?: string }).hubId ?? c.type),
      ['hub_a', 'vehicle-upserted'],
    );
  });

  it('completes no takeover after close', async () => {
    const { h, leases, custody } = setup();
    leases.held.set('hub_a', 2);
    let open!: () => void;
    leases.gate = new Promise((r) => (open = r));
    const pending = custody.takeOver(custody.reconcile(h.now), h.view, () => h.now);
    custody.close();
    open();
    assert.equal(await pending, null);
    assert.deepEqual(h.engine.hubsManaged(), []);
  });
});

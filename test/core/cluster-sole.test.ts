// SoleOrchestrator (core/cluster/sole.ts): only evidence of another holder stops a single
// instance; a database that cannot tell leaves it allocating (an outage never stops the DLM),
// and a standby that saw another holder stays one until it gets the lock.
import { strict as assert } from 'node:assert';
import { SoleOrchestrator, type LockAttempt, type SoleChange, type SoleLockPort } from '../../core/cluster';

class FakeLock implements SoleLockPort {
  answers: LockAttempt[] = [];
  alive = false;
  tries = 0;
  async tryAcquire(): Promise<LockAttempt> {
    this.tries++;
    await new Promise((r) => setImmediate(r));
    const a = this.answers.shift() ?? { kind: 'error', message: 'no answer' };
    this.alive = a.kind === 'held';
    return a;
  }
  async check(): Promise<boolean> {
    return this.alive;
  }
  async release(): Promise<void> {
    this.alive = false;
  }
}

function setup(): { port: FakeLock; sole: SoleOrchestrator; changes: string[] } {
  const port = new FakeLock();
  const changes: string[] = [];
  const sole = new SoleOrchestrator(port, (c: SoleChange) =>
    changes.push(`${c.from}>${c.to}${c.holder ? ` (${c.holder})` : ''}${c.error ? ` [${c.error}]` : ''}`),
  );
  return { port, sole, changes };
}

describe('core/cluster SoleOrchestrator', () => {
  it('allocates with the lock; checks it without taking it again', async () => {
    const { port, sole, changes } = setup();
    assert.equal(sole.mayAllocate(), false, 'not before the first round');
    port.answers.push({ kind: 'held' });
    await sole.cycle();
    await sole.cycle();
    assert.equal(sole.state, 'sole');
    assert.equal(sole.mayAllocate(), true);
    assert.equal(port.tries, 1);
    assert.deepEqual(changes, ['starting>sole']);
  });

  it('stands by while another holds the lock, and takes over when it is free', async () => {
    const { port, sole, changes } = setup();
    port.answers.push(
      { kind: 'other', holder: 'wpt-dlm a' },
      { kind: 'other', holder: 'wpt-dlm a' },
      { kind: 'held' },
    );
    await sole.cycle();
    assert.equal(sole.mayAllocate(), false);
    assert.equal(sole.holder, 'wpt-dlm a');
    await sole.cycle();
    await sole.cycle();
    assert.equal(sole.state, 'sole');
    assert.equal(sole.holder, null);
    assert.deepEqual(changes, ['starting>standby (wpt-dlm a)', 'standby>sole']);
  });

  it('allocates when the database cannot tell at start, and stops when it tells of another holder', async () => {
    const { port, sole, changes } = setup();
    port.answers.push({ kind: 'error', message: 'ECONNREFUSED' }, { kind: 'other', holder: 'wpt-dlm b' });
    await sole.cycle();
    assert.equal(sole.state, 'unsure');
    assert.equal(sole.mayAllocate(), true, 'a PostgreSQL outage never stops the DLM');
    await sole.cycle();
    assert.equal(sole.mayAllocate(), false);
    assert.deepEqual(changes, ['starting>unsure [ECONNREFUSED]', 'unsure>standby (wpt-dlm b)']);
  });

  it('keeps allocating when the lock connection is lost, and takes the lock back when it can', async () => {
    const { port, sole, changes } = setup();
    port.answers.push({ kind: 'held' });
    await sole.cycle();
    port.alive = false; // the connection that held it dropped
    port.answers.push({ kind: 'error', message: 'timeout' }, { kind: 'held' });
    await sole.cycle();
    assert.equal(sole.state, 'unsure');
    assert.equal(sole.mayAllocate(), true);
    await sole.cycle();
    assert.equal(sole.state, 'sole');
    assert.deepEqual(changes, [
      'starting>sole',
      'sole>unsure [the connection that held the lock was lost]',
      'unsure>sole',
    ]);
  });

  it('a standby stays one when the database cannot tell (it saw another holder)', async () => {
    const { port, sole } = setup();
    port.answers.push({ kind: 'other', holder: null }, { kind: 'error', message: 'down' });
    await sole.cycle();
    await sole.cycle();
    assert.equal(sole.state, 'standby');
    assert.equal(sole.mayAllocate(), false);
  });

  it('never runs two rounds at once', async () => {
    const { port, sole } = setup();
    port.answers.push({ kind: 'held' }, { kind: 'other', holder: 'x' });
    await Promise.all([sole.cycle(), sole.cycle(), sole.cycle()]);
    assert.equal(port.tries, 1);
    assert.equal(sole.state, 'sole');
  });
});

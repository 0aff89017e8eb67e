// The sole-orchestrator lock on the real PostgreSQL (adapters/postgres/sole-lock.ts driven by
// core/cluster/sole.ts): one holder per database; a second is told who holds it; the lock goes
// with its session (released, or its backend terminated as when a process dies) and a standby
// takes it; cluster instances hold it together (shared), never beside a single instance; two
// databases of one server never meet; an unreachable server is an error, not another holder.
import assert from 'node:assert/strict';
import pg from 'pg';
import { createTestDatabase } from '../helpers/services';
import { freePort } from '../../runtime/free-port';
import { pgSoleLock } from '../../adapters/postgres';
import { SoleOrchestrator, type SoleChange, type SoleLockPort } from '../../core/cluster';

describe('integration: PostgreSQL sole-orchestrator lock', function () {
  this.timeout(30000);
  let url: string;
  let otherUrl: string;
  const ports: SoleLockPort[] = [];
  const lock = (name: string, connectionString = url, shared = false): SoleLockPort => {
    const p = pgSoleLock({ connection: { connectionString }, name, shared });
    ports.push(p);
    return p;
  };
  /** Ends the sessions of an application name, as PostgreSQL does when their process dies. */
  const terminate = async (name: string): Promise<number> => {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      const r = await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
        [name],
      );
      return r.rowCount ?? 0;
    } finally {
      await admin.end();
    }
  };

  before(async () => {
    url = await createTestDatabase('wpt_sole');
    otherUrl = await createTestDatabase('wpt_sole');
  });
  afterEach(async () => {
    await Promise.all(ports.splice(0).map((p) => p.release()));
  });

  it('gives the lock to one session; a second is told who holds it', async () => {
    const a = lock('wpt-dlm orchestrator-a');
    const b = lock('wpt-dlm orchestrator-b');
    assert.deepEqual(await a.tryAcquire(), { kind: 'held' });
    assert.deepEqual(await a.tryAcquire(), { kind: 'held' }, 'held: a no-op');
    assert.equal(await a.check(), true);
    const other = await b.tryAcquire();
    assert.equal(other.kind, 'other');
    assert.match((other as { holder: string }).holder, /^wpt-dlm orchestrator-a from \S+ since \d{4}-/);
    assert.equal(await b.check(), false);
  });

  it('goes with its session: released, or its backend ended, the standby takes it', async () => {
    const a = lock('wpt-dlm sole-a');
    const b = lock('wpt-dlm sole-b');
    assert.equal((await a.tryAcquire()).kind, 'held');
    assert.equal((await b.tryAcquire()).kind, 'other');
    await a.release();
    assert.equal((await b.tryAcquire()).kind, 'held', 'released');
    assert.equal((await a.tryAcquire()).kind, 'other');
    assert.equal(await terminate('wpt-dlm sole-b'), 1);
    assert.equal(await b.check(), false, 'the holder learns its lock is gone');
    assert.equal((await a.tryAcquire()).kind, 'held', 'its backend ended');
  });

  it('is freed by PostgreSQL when its holder goes silent (idle_session_timeout), a standby takes it', async () => {
    const silent = pgSoleLock({
      connection: { connectionString: url },
      name: 'wpt-dlm silent',
      idleTimeoutMs: 1000,
    });
    ports.push(silent);
    const b = lock('wpt-dlm waiting');
    assert.equal((await silent.tryAcquire()).kind, 'held');
    assert.equal((await b.tryAcquire()).kind, 'other');
    // No check from the holder (its host is gone): its session ends after the idle timeout.
    await new Promise((r) => setTimeout(r, 1800));
    assert.equal((await b.tryAcquire()).kind, 'held');
  });

  it('belongs to one database: the same key in another database of the server is free', async () => {
    const a = lock('wpt-dlm db-a');
    const c = lock('wpt-dlm db-c', otherUrl);
    assert.equal((await a.tryAcquire()).kind, 'held');
    assert.equal((await c.tryAcquire()).kind, 'held');
  });

  it('is held shared by cluster instances together, never beside a single instance', async () => {
    const m1 = lock('wpt-dlm cluster m1', url, true);
    const m2 = lock('wpt-dlm cluster m2', url, true);
    assert.equal((await m1.tryAcquire()).kind, 'held');
    assert.equal((await m2.tryAcquire()).kind, 'held', 'cluster instances share it');
    const single = lock('wpt-dlm single');
    const refused = await single.tryAcquire();
    assert.equal(refused.kind, 'other');
    assert.match(
      (refused as { holder: string }).holder,
      /^wpt-dlm cluster m1 from \S+ since \S+, wpt-dlm cluster m2 from /,
      'a single instance is told which cluster instances hold it',
    );
    await m1.release();
    await m2.release();
    assert.equal((await single.tryAcquire()).kind, 'held');
    const m3 = lock('wpt-dlm cluster m3', url, true);
    const waits = await m3.tryAcquire();
    assert.equal(waits.kind, 'other', 'no cluster instance beside a single instance');
    assert.match((waits as { holder: string }).holder, /^wpt-dlm single /);
  });

  it('reports an unreachable server as an error, not as another holder', async () => {
    const u = new URL(url);
    u.port = String(await freePort());
    const r = await lock('wpt-dlm nowhere', u.toString()).tryAcquire();
    assert.equal(r.kind, 'error');
    assert.match((r as { message: string }).message, /ECONNREFUSED|connect/);
  });

  it('SoleOrchestrator: a standby takes over when the holder dies; the holder, back, stands by', async () => {
    const seen: Record<string, string[]> = { a: [], b: [] };
    const track = (k: string) => (c: SoleChange) => seen[k]!.push(`${c.from}>${c.to}`);
    const a = new SoleOrchestrator(lock('wpt-dlm orch-a'), track('a'));
    const b = new SoleOrchestrator(lock('wpt-dlm orch-b'), track('b'));
    await a.cycle();
    await b.cycle();
    assert.equal(a.state, 'sole');
    assert.equal(b.state, 'standby');
    assert.match(b.holder ?? '', /^wpt-dlm orch-a /);
    assert.equal(b.mayAllocate(), false);
    await b.cycle();
    assert.equal(b.state, 'standby', 'still held');
    await terminate('wpt-dlm orch-a');
    await b.cycle();
    assert.equal(b.state, 'sole');
    await a.cycle();
    assert.equal(a.state, 'standby');
    assert.deepEqual(seen, {
      a: ['starting>sole', 'sole>unsure', 'unsure>standby'],
      b: ['starting>standby', 'standby>sole'],
    });
  });
});

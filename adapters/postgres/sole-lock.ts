// The sole-orchestrator lock (core/cluster/sole.ts) on PostgreSQL: a session advisory lock of
// this database, held on a connection of its own. PostgreSQL frees it when that session ends
// — the process exits or is killed, or the connection is lost — so a standby takes over
// without anyone cleaning up. Advisory locks belong to the database they are taken in: two
// fleets in two databases of one server never meet. The holder is named by its connection's
// application name, which a standby reads from pg_stat_activity to say who it waits for.
//
// The instances of a cluster hold the same lock shared (`shared: true`): any number of them
// together, never beside a single instance — a single instance started on a cluster's database
// (WPT_CLUSTER forgotten) stands by, and a cluster instance does not join while a single one
// holds the database.
import pg from 'pg';
import type { LockAttempt, SoleLockPort } from '../../core/cluster';

/** The lock's key: one constant bigint, distinct from MIGRATION_LOCK_KEY. */
export const SOLE_LOCK_KEY = '7301958146120395002';

/** How long a statement of the lock may take before the database counts as unreachable. */
const QUERY_TIMEOUT_MS = 5000;

export interface SoleLockOptions {
  /** How to connect: the options of the fleet's pool (`pool.options`). */
  connection: pg.ClientConfig;
  /** This instance's name, shown to a standby (application_name, up to 63 bytes). */
  name: string;
  /** Take the lock shared (cluster instances) rather than exclusive (a single instance). */
  shared?: boolean;
  /**
   * PostgreSQL ends the lock's session when it sent nothing for this long (idle_session_timeout,
   * PostgreSQL 14+; default 10 s): a holder whose host died without closing its connection
   * frees the lock in seconds, not after TCP keepalive (hours by default). The holder checks its
   * lock (a statement) well within it: keep it several times the check period.
   */
  idleTimeoutMs?: number;
}

export function pgSoleLock(opts: SoleLockOptions): SoleLockPort {
  let client: pg.Client | null = null;
  let held = false;

  const drop = async (): Promise<void> => {
    const c = client;
    client = null;
    held = false;
    await c?.end().catch(() => {});
  };
  const query = <R extends pg.QueryResultRow>(c: pg.Client, text: string, values?: unknown[]) =>
    c.query<R>({ text, values, query_timeout: QUERY_TIMEOUT_MS } as pg.QueryConfig);

  return {
    async tryAcquire(): Promise<LockAttempt> {
      if (held && client) return { kind: 'held' };
      await drop();
      const c = new pg.Client({
        ...opts.connection,
        application_name: opts.name.slice(0, 63),
        // A dead peer is noticed by TCP too, not only by the next statement.
        keepAlive: true,
        connectionTimeoutMillis: QUERY_TIMEOUT_MS,
      });
      // A connection lost while idle: the lock went with it.
      c.on('error', () => {
        if (client === c) held = false;
      });
      c.on('end', () => {
        if (client === c) held = false;
      });
      client = c;
      try {
        await c.connect();
        // Best effort: an older server without the setting keeps the lock until TCP gives up.
        await query(
          c,
          `SET idle_session_timeout = ${Math.max(1000, Math.round(opts.idleTimeoutMs ?? 10_000))}`,
        ).catch(() => {});
        const fn = opts.shared ? 'pg_try_advisory_lock_shared' : 'pg_try_advisory_lock';
        const r = await query<{ ok: boolean }>(c, `SELECT ${fn}($1::bigint) AS ok`, [SOLE_LOCK_KEY]);
        if (r.rows[0]?.ok === true) {
          held = true;
          return { kind: 'held' };
        }
        const who = await query<{ name: string | null; addr: string | null; since: Date | null }>(
          c,
          `SELECT a.application_name AS name, host(a.client_addr) AS addr, a.backend_start AS since
             FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted
              AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND l.classid = ($1::bigint >> 32)::oid AND l.objid = ($1::bigint & 4294967295)::oid
              AND l.objsubid = 1
            ORDER BY a.backend_start
            LIMIT 4`,
          [SOLE_LOCK_KEY],
        );
        await drop();
        // Cluster instances hold it together: up to four are named.
        const holder =
          who.rows
            .map((row) =>
              [
                row.name || 'a session',
                row.addr ? `from ${row.addr}` : '',
                row.since ? `since ${row.since.toISOString()}` : '',
              ]
                .filter(Boolean)
                .join(' '),
            )
            .join(', ') || null;
        return { kind: 'other', holder };
      } catch (err) {
        await drop();
        return { kind: 'error', message: err instanceof Error ? err.message : String(err) };
      }
    },

    async check(): Promise<boolean> {
      const c = client;
      if (!held || !c) return false;
      try {
        await query(c, 'SELECT 1');
        return held && client === c;
      } catch {
        await drop();
        return false;
      }
    },

    release: drop,
  };
}

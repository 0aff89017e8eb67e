// Schema migrations: run at start, idempotent, versioned in `schema_migrations`, serialised
// across concurrent starters (several instances, redeploys) with a session advisory lock,
// each migration in its own transaction.
import type pg from 'pg';
import { MIGRATIONS, type Migration } from './migrations/index';

/** Advisory lock key shared by every instance of this package (any constant bigint). */
export const MIGRATION_LOCK_KEY = '7301958146120395001';

/** Client-side cap for one migration statement or the wait for another starter's lock. */
export const MIGRATION_QUERY_TIMEOUT_MS = 60 * 60 * 1000;

export interface MigrateResult {
  /** Ids applied by this call, in order (empty when the schema was already current). */
  applied: string[];
  /** Latest applied migration id after this call. */
  current: string;
}

export async function migrate(
  pool: pg.Pool,
  log: (line: string) => void = () => {},
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<MigrateResult> {
  const ordered = [...migrations].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (let i = 1; i < ordered.length; i++) {
    if (ordered[i]?.id === ordered[i - 1]?.id) throw new Error(`duplicate migration id ${ordered[i]?.id}`);
  }
  const client = await pool.connect();
  // The pool's client-side query timeout is sized for ordinary queries, not for migrations.
  const q = <R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]) =>
    client.query<R>({ text, values, query_timeout: MIGRATION_QUERY_TIMEOUT_MS } as pg.QueryConfig);
  let broken: Error | undefined;
  try {
    // Waiting for another starter may take as long as its migrations: no statement timeout here.
    await q('SET statement_timeout = 0');
    await q('SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
    try {
      await q(`CREATE TABLE IF NOT EXISTS schema_migrations (
        id         text PRIMARY KEY,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const done = new Set(
        (await q<{ id: string }>('SELECT id FROM schema_migrations')).rows.map((r) => r.id),
      );
      const applied: string[] = [];
      for (const m of ordered) {
        if (done.has(m.id)) continue;
        log(`applying migration ${m.id}`);
        await q('BEGIN');
        try {
          await q(m.sql);
          await q('INSERT INTO schema_migrations (id) VALUES ($1)', [m.id]);
          await q('COMMIT');
        } catch (err) {
          await q('ROLLBACK').catch(() => {});
          throw new Error(`migration ${m.id} failed: ${err instanceof Error ? err.message : String(err)}`, {
            cause: err,
          });
        }
        done.add(m.id);
        applied.push(m.id);
      }
      const all = [...done].sort();
      const current = all[all.length - 1] ?? '';
      if (applied.length) log(`schema at ${current} (${applied.length} migration(s) applied)`);
      return { applied, current };
    } finally {
      await client
        .query('SELECT pg_advisory_unlock($1::bigint)', [MIGRATION_LOCK_KEY])
        .catch((err: Error) => {
          broken = err; // a session that cannot unlock is discarded below, which frees the lock
        });
    }
  } catch (err) {
    broken ??= err instanceof Error ? err : new Error(String(err));
    throw err;
  } finally {
    // Reset the session setting, or discard the connection when anything went wrong.
    if (!broken) await q('RESET statement_timeout').catch((err: Error) => (broken = err));
    client.release(broken ?? undefined);
  }
}

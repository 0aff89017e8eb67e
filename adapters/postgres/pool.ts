// PostgreSQL connection pool with safe defaults: bounded connect/idle/statement timeouts and
// error events handled, so a lost connection never crashes the process (the next query
// simply fails and the caller retries).
import pg from 'pg';

export interface PostgresConfig {
  /** postgres://user:pass@host:port/db?sslmode=… — takes precedence over the fields below. */
  connectionString?: string;
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  /** true: TLS with certificate verification. Unset: whatever the connection string says. */
  ssl?: boolean;
  /** Maximum pool size (default 10). */
  max?: number;
  applicationName?: string;
  /** Connect timeout (default 5000 ms). */
  connectionTimeoutMillis?: number;
  /** Idle clients are closed after this (default 30000 ms). */
  idleTimeoutMillis?: number;
  /** Server-side statement_timeout (default 30000 ms). */
  statementTimeoutMillis?: number;
  /** Called for errors of idle or checked-out clients (default: ignored; the pool replaces the client). */
  onError?: (err: Error) => void;
}

export const POOL_DEFAULTS = {
  max: 10,
  connectionTimeoutMillis: 5000,
  idleTimeoutMillis: 30000,
  statementTimeoutMillis: 30000,
  applicationName: 'wpt-dlm',
} as const;

export function createPool(config: PostgresConfig): pg.Pool {
  const statementTimeout = config.statementTimeoutMillis ?? POOL_DEFAULTS.statementTimeoutMillis;
  const poolConfig: pg.PoolConfig = {
    max: config.max ?? POOL_DEFAULTS.max,
    connectionTimeoutMillis: config.connectionTimeoutMillis ?? POOL_DEFAULTS.connectionTimeoutMillis,
    idleTimeoutMillis: config.idleTimeoutMillis ?? POOL_DEFAULTS.idleTimeoutMillis,
    statement_timeout: statementTimeout,
    // A client-side guard a little above the server's, for a server that stopped answering.
    query_timeout: statementTimeout + 5000,
    idle_in_transaction_session_timeout: Math.max(statementTimeout, 60000),
    application_name: config.applicationName ?? POOL_DEFAULTS.applicationName,
    keepAlive: true,
  };
  if (config.connectionString) poolConfig.connectionString = config.connectionString;
  if (config.host !== undefined) poolConfig.host = config.host;
  if (config.port !== undefined) poolConfig.port = config.port;
  if (config.user !== undefined) poolConfig.user = config.user;
  if (config.password !== undefined) poolConfig.password = config.password;
  if (config.database !== undefined) poolConfig.database = config.database;
  if (config.ssl !== undefined) poolConfig.ssl = config.ssl;

  const pool = new pg.Pool(poolConfig);
  const onError = (err: Error): void => {
    try {
      config.onError?.(err);
    } catch {
      /* a failing logger must not crash the process either */
    }
  };
  // Errors of idle clients are emitted on the pool; without a listener they would crash.
  pool.on('error', onError);
  // Checked-out clients (transactions, migrations) emit errors on themselves.
  pool.on('connect', (client) => {
    client.on('error', onError);
  });
  return pool;
}

export interface HealthResult {
  ok: boolean;
  error?: string;
  latencyMs?: number;
}

/** Runs `SELECT 1`; never throws. A query slower than timeoutMs counts as unhealthy. */
export async function checkHealth(pool: pg.Pool, timeoutMs = 2000): Promise<HealthResult> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  const query = pool.query('SELECT 1');
  query.catch(() => {}); // may settle after the timeout won the race
  try {
    await Promise.race([query, timeout]);
    return { ok: true, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

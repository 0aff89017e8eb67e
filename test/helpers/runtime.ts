// Starts the real runtime (`node dist/runtime/cli.js`) as a child process for end-to-end
// tests, with its own user dir and free ports, and stops it with a signal.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '../../runtime/free-port';
import { createTestDatabase } from './services';

export const ROOT = path.resolve(__dirname, '..', '..');
export const CLI = path.join(ROOT, 'dist', 'runtime', 'cli.js');
export const CAPTURE = path.join(ROOT, 'test', 'fixtures', 'original-hub-capture.txt');

export interface RuntimeHandle {
  proc: ChildProcess;
  url: string;
  port: number;
  mqttUrl: string;
  userDir: string;
  apiToken: string;
  adminUser: string;
  adminPassword: string;
  /**
   * The runtime's PostgreSQL: DATABASE_URL when it was given one (the helper creates a fresh
   * database when DATABASE_URL is set in the test's environment), else its embedded server.
   */
  databaseUrl: string;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Runtimes started by this test process. A test that times out never reaches its `after`:
 * its runtime would live on, connected to a shared broker, and disturb every later test.
 * The global afterAll (mocha-hooks.ts) stops them, and they are killed when this process exits.
 */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export async function stopAllRuntimes(): Promise<void> {
  await Promise.all(
    [...live].map(
      (p) =>
        new Promise<void>((resolve) => {
          if (p.exitCode !== null || p.signalCode !== null) return resolve();
          p.once('exit', () => resolve());
          p.kill('SIGTERM');
          setTimeout(() => p.kill('SIGKILL'), 10000).unref();
        }),
    ),
  );
}

/** User dirs made by this test process: removed after all tests (removeUserDirs), none left in /tmp. */
const userDirs = new Set<string>();

export function makeUserDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wpt-e2e-'));
  fs.chmodSync(dir, 0o711); // the embedded PostgreSQL may run as the postgres user
  userDirs.add(dir);
  return dir;
}

/** Removes every user dir made here (after stopAllRuntimes: nothing uses them any more). */
export function removeUserDirs(): void {
  for (const d of userDirs) fs.rmSync(d, { recursive: true, force: true });
  userDirs.clear();
}

export interface StartOptions {
  userDir?: string;
  env?: Record<string, string | undefined>;
  /** Use the services from the environment (MQTT_URL/DATABASE_URL/INFLUX_URL) when set. */
  inheritServices?: boolean;
  timeoutMs?: number;
}

export async function startRuntime(opts: StartOptions = {}): Promise<RuntimeHandle> {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} missing: run "npm run build" first`);
  const userDir = opts.userDir ?? makeUserDir();
  const port = await freePort();
  const mqttPort = await freePort();
  const apiToken = 'test-token-0123456789abcdef';
  const adminUser = 'operator';
  const adminPassword = 'correct horse battery';
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PORT: String(port),
    WPT_HTTP_HOST: '127.0.0.1',
    WPT_USER_DIR: userDir,
    WPT_MQTT_PORT: String(mqttPort),
    WPT_API_TOKEN: apiToken,
    WPT_ADMIN_USER: adminUser,
    WPT_ADMIN_PASSWORD: adminPassword,
    WPT_LOG_LEVEL: 'info',
  };
  if (opts.inheritServices !== false) {
    for (const k of [
      'MQTT_URL',
      'DATABASE_URL',
      'INFLUX_URL',
      'INFLUX_TOKEN',
      'INFLUX_ORG',
      'INFLUX_BUCKET',
    ]) {
      if (process.env[k]) env[k] = process.env[k];
    }
    // A fresh database per runtime: no state from another test leaks in.
    if (process.env.DATABASE_URL) env.DATABASE_URL = await createTestDatabase('wpt_e2e');
  }
  Object.assign(env, opts.env ?? {});
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];

  const proc = spawn(process.execPath, [CLI], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.timeoutMs ?? 60000);
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`runtime exited with ${proc.exitCode}:\n${out}`);
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`runtime did not become healthy in time:\n${out}`);
    }
    try {
      const r = await fetch(`${url}/api/health`);
      if (r.status === 200) break;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const m = /embedded MQTT broker listening on [^:]+:(\d+)/.exec(out);
  const databaseUrl = env.DATABASE_URL ?? embeddedDatabaseUrl(out, userDir);
  return {
    proc,
    url,
    port,
    mqttUrl: env.MQTT_URL ?? (m ? `mqtt://127.0.0.1:${m[1]}` : `mqtt://127.0.0.1:${mqttPort}`),
    userDir,
    apiToken,
    adminUser,
    adminPassword,
    databaseUrl,
    output: () => out,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode !== null) return proc.exitCode;
      proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), 30000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

/**
 * URL of the embedded PostgreSQL a runtime started: its port from the runtime's log line
 * (`[wpt] embedded PostgreSQL on 127.0.0.1:<port>`), the password from the user dir's
 * `.wpt-secrets.json` (`embeddedPostgresPassword`), user `postgres`, database `wpt`.
 */
export function embeddedDatabaseUrl(output: string, userDir: string): string {
  const ports = [...output.matchAll(/\[wpt\] embedded PostgreSQL on 127\.0\.0\.1:(\d+)/g)];
  const port = ports.at(-1)?.[1];
  if (!port) throw new Error(`the runtime did not say where its embedded PostgreSQL listens:\n${output}`);
  const secrets = JSON.parse(fs.readFileSync(path.join(userDir, '.wpt-secrets.json'), 'utf8')) as {
    embeddedPostgresPassword?: string;
  };
  if (!secrets.embeddedPostgresPassword) throw new Error(`no embeddedPostgresPassword in ${userDir}`);
  return `postgres://postgres:${encodeURIComponent(secrets.embeddedPostgresPassword)}@127.0.0.1:${port}/wpt`;
}

/** PIDs of processes whose command line mentions `needle` (e.g. a data directory). */
export function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(needle) && Number(e) !== process.pid) pids.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return pids;
}

export function readCapture(): Array<{ topic: string; payload: string }> {
  return fs
    .readFileSync(CAPTURE, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const i = l.indexOf(' ');
      return { topic: l.slice(0, i), payload: l.slice(i + 1) };
    });
}

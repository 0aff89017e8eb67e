// A real Mosquitto for tests, on a free port with a config of the test's own (password file and
// acl_file, or anonymous with persistence for the fault tests: stopped and started again on the
// same port), and a way to ask any broker what a client may publish and read, observed from the
// outside (the same probes run against Mosquitto and the embedded broker).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import mqtt, { type MqttClient } from 'mqtt';
import { freePort } from '../../runtime/free-port';
import { until } from './wait';

export function mosquittoBinary(): string | null {
  for (const b of ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto']) {
    if (fs.existsSync(b)) return b;
  }
  const r = spawnSync('sh', ['-c', 'command -v mosquitto'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

export interface Mosquitto {
  url: string;
  port: number;
  log(): string;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

/**
 * Starts Mosquitto with these files; rejects (with its log) when it refuses the configuration.
 * Mosquitto started as root drops to its own user, which could not read the test's files:
 * it then stays root (`user root`).
 */
export async function startMosquitto(files: { passwordFile: string; aclFile: string }): Promise<Mosquitto> {
  const m = await launchMosquitto([
    'allow_anonymous false',
    `password_file ${files.passwordFile}`,
    `acl_file ${files.aclFile}`,
    'persistence false',
  ]);
  return { url: m.url, port: m.port, log: m.log, stop: () => m.close() };
}

/** A Mosquitto a test can stop and start again on the same port with the same configuration. */
export interface MosquittoServer {
  url: string;
  port: number;
  /** Its directory (configuration, persistence file). */
  dir: string;
  /** Everything it printed, over all its starts. */
  log(): string;
  /** Is the process running? */
  running(): boolean;
  /** Stops the process (SIGTERM: it writes its persistence file first); the port and directory stay. */
  halt(): Promise<void>;
  /** Starts it again after `halt()`; resolves once it answers. */
  start(): Promise<void>;
  /** Stops it for good and removes its directory. */
  close(): Promise<void>;
}

/**
 * An anonymous Mosquitto on a free loopback port that keeps sessions, subscriptions and
 * queued QoS 1 messages across a stop and start (`persistence true`, written when it stops),
 * with room for a long queue per client.
 */
export function startPersistentMosquitto(): Promise<MosquittoServer> {
  return launchMosquitto([
    'allow_anonymous true',
    'persistence true',
    'persistence_location {dir}/',
    'max_queued_messages 100000',
  ]);
}

/**
 * Mosquitto with a `listener` on a free loopback port and these lines (`{dir}` is its own
 * temporary directory); rejects, with its log, when it refuses them.
 */
export async function launchMosquitto(lines: string[]): Promise<MosquittoServer> {
  const bin = mosquittoBinary();
  if (!bin) throw new Error('mosquitto is not installed');
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wpt-mosquitto-'));
  const conf = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      ...lines.map((l) => l.replaceAll('{dir}', dir)),
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      ...(process.getuid?.() === 0 ? ['user root'] : []),
      '',
    ].join('\n'),
  );
  let out = '';
  let proc: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const running = () => proc !== undefined && proc.exitCode === null && proc.signalCode === null;
  const listening = async () => {
    const c = await mqtt
      .connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 500 })
      .catch((e: Error) => e);
    if (c instanceof Error) return /not authori|Bad username/i.test(c.message); // it answered
    await c.endAsync();
    return true;
  };
  const halt = async () => {
    if (!proc) return;
    const p = proc;
    if (running()) p.kill('SIGTERM');
    await exited;
    live.delete(p);
    proc = undefined;
  };
  const start = async () => {
    if (running()) return;
    const p = spawn(bin, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc = p;
    live.add(p);
    p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    exited = new Promise<void>((r) => p.once('exit', () => r()));
    try {
      await until(async () => !running() || (await listening()), 10_000, 'mosquitto to listen', {
        every: 50,
      });
    } catch (err) {
      p.kill('SIGKILL');
      await halt();
      throw err;
    }
    if (!running()) {
      await halt();
      throw new Error(`mosquitto refused the configuration (exit ${p.exitCode}):\n${out}`);
    }
  };
  const close = async () => {
    await halt();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await start();
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return { url: `mqtt://127.0.0.1:${port}`, port, dir, log: () => out, running, halt, start, close };
}

/** Lines a test appends to an ACL so that probes can be observed (only `wpt-test/` and `$x/`). */
export const OBSERVER = { username: 'wpt-test-observer', password: 'observer-password' };
export const PROBE_ACL = `
user ${OBSERVER.username}
topic readwrite #
topic read $x/#
pattern read wpt-test/marker/%c
`;

export interface Probe {
  username: string;
  access: 'read' | 'write';
  topic: string;
  /** read: what the client subscribes to (default: topic) */
  filter?: string;
  clientId?: string;
}

export interface Prober {
  /** May the probe's client do it? Observed: a publish reaches the observer / a message reaches the client. */
  allowed(p: Probe): Promise<boolean>;
  /** Can this login connect? */
  connects(username: string | undefined, password: string | undefined): Promise<boolean>;
  close(): Promise<void>;
}

export async function prober(url: string, passwords: Map<string, string>): Promise<Prober> {
  const observer = await mqtt.connectAsync(url, {
    ...OBSERVER,
    clientId: `obs-${process.pid}`,
    reconnectPeriod: 0,
  });
  const seen: Array<{ topic: string; payload: string }> = [];
  observer.on('message', (topic, p) => seen.push({ topic, payload: p.toString() }));
  await observer.subscribeAsync({ '#': { qos: 1 }, '$x/#': { qos: 1 } });
  let n = 0;
  const open = async (username: string, clientId: string): Promise<MqttClient> =>
    mqtt.connectAsync(url, { username, password: passwords.get(username), clientId, reconnectPeriod: 0 });
  /** Waits for a marker on a client's own marker topic: what the observer sent before has arrived. */
  const sync = async (got: string[], clientId: string) => {
    const marker = `marker-${++n}`;
    await observer.publishAsync(`wpt-test/marker/${clientId}`, marker, { qos: 1 });
    await until(() => got.includes(marker), 5000, `marker on ${clientId}`);
  };
  /** A probe that does not settle in 10 s fails, with what it was doing. */
  const limit = <T>(what: string, run: Promise<T>): Promise<T> =>
    Promise.race([
      run,
      new Promise<T>((_, reject) =>
        setTimeout(() => reject(new Error(`probe timed out: ${what}`)), 10_000).unref(),
      ),
    ]);
  return {
    allowed(p) {
      return limit(JSON.stringify(p), probe(p));
    },
    connects(username, password) {
      return limit(`login ${username}`, login(username, password));
    },
    async close() {
      await observer.endAsync();
    },
  };

  async function probe(p: Probe): Promise<boolean> {
    const clientId = p.clientId ?? `probe-${process.pid}-${++n}`;
    const payload = `probe-${process.pid}-${++n}`;
    const client = await open(p.username, clientId);
    try {
      if (p.access === 'write') {
        await client.publishAsync(p.topic, payload, { qos: 2 });
        const marker = `marker-${++n}`;
        await observer.publishAsync('wpt-test/observer', marker, { qos: 1 });
        await until(() => seen.some((m) => m.payload === marker), 5000, 'the observer marker');
        return seen.some((m) => m.payload === payload && m.topic === p.topic);
      }
      const got: string[] = [];
      client.on('message', (_t, m) => got.push(m.toString()));
      await client.subscribeAsync({
        [p.filter ?? p.topic]: { qos: 1 },
        [`wpt-test/marker/${clientId}`]: { qos: 1 },
      });
      await observer.publishAsync(p.topic, payload, { qos: 1 });
      await sync(got, clientId);
      return got.includes(payload);
    } finally {
      await client.endAsync();
    }
  }

  async function login(username: string | undefined, password: string | undefined): Promise<boolean> {
    const c = await mqtt
      .connectAsync(url, {
        ...(username === undefined ? {} : { username }),
        ...(password === undefined ? {} : { password }),
        clientId: `login-${process.pid}-${++n}`,
        reconnectPeriod: 0,
        connectTimeout: 3000,
      })
      .catch(() => null);
    if (!c) return false;
    await c.endAsync();
    return true;
  }
}

// The whole runtime as a user runs it: `node dist/runtime/cli.js` with the shipped flows.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { parseTopic } from '../../core/contract';
import {
  startRuntime,
  processesMentioning,
  readCapture,
  makeUserDir,
  type RuntimeHandle,
} from '../helpers/runtime';
import { freePort } from '../../runtime/free-port';
import { poll } from '../helpers/wait';
import { cmdline, processTree } from '../helpers/processes';
import net from 'node:net';
import os from 'node:os';

type IngestSnapshot = {
  totals: { accepted: number; rejected: number };
  byKind: Record<string, { accepted: number; rejected: number; lastError?: { message: string } }>;
};

async function ingest(rt: RuntimeHandle): Promise<IngestSnapshot> {
  const r = await fetch(`${rt.url}/api/ingest`, { headers: { Authorization: `Bearer ${rt.apiToken}` } });
  assert.equal(r.status, 200);
  return (await r.json()) as IngestSnapshot;
}

function count(s: IngestSnapshot, kind: string, field: 'accepted' | 'rejected'): number {
  return s.byKind[kind]?.[field] ?? 0;
}

describe('e2e: runtime with the shipped flows', function () {
  this.timeout(120000);
  let rt: RuntimeHandle;

  before(async () => {
    rt = await startRuntime();
  });

  after(async () => {
    if (rt) await rt.stop();
    if (rt) fs.rmSync(rt.userDir, { recursive: true, force: true });
  });

  it('loads every node of the package and the shipped flows without errors or warnings', () => {
    const out = rt.output();
    // Node-RED always notes at warn level whether projects are on; that line is not a problem.
    const bad = out
      .split('\n')
      .filter((l) => /\[(warn|error)\]/.test(l) && !/\[warn\] Projects disabled/.test(l));
    assert.deepEqual(bad, [], out);
    assert.match(out, /Started flows/);
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
      'node-red': { nodes: Record<string, string> };
    };
    assert.ok(Object.keys(pkg['node-red'].nodes).length >= 5);
  });

  it('reports each dependency on /api/health without a token', async () => {
    const r = await fetch(`${rt.url}/api/health`);
    assert.equal(r.status, 200);
    const body = (await r.json()) as { status: string; dependencies: Record<string, { state: string }> };
    assert.equal(body.dependencies.mqtt?.state, 'ok');
    assert.equal(body.dependencies.postgres?.state, 'ok');
    assert.equal(body.dependencies.influxdb?.state, process.env.INFLUX_URL ? 'ok' : 'off');
    assert.equal(body.status, 'ok');
  });

  it('refuses the API without the token, with a JSON body', async () => {
    for (const headers of [
      {},
      { Authorization: 'Bearer wrong-token-wrong-token' },
      { 'X-API-Key': 'nope' },
    ]) {
      const r = await fetch(`${rt.url}/api/ingest`, { headers: headers as Record<string, string> });
      assert.equal(r.status, 401);
      const body = (await r.json()) as { status: number; message: string };
      assert.equal(body.status, 401);
      assert.match(body.message, /token/i);
    }
    const ok = await fetch(`${rt.url}/api/ingest`, { headers: { 'X-API-Key': rt.apiToken } });
    assert.equal(ok.status, 200);
  });

  it('protects the editor with a login', async () => {
    const anon = await fetch(`${rt.url}/flows`);
    assert.equal(anon.status, 401);
    const wrong = await fetch(`${rt.url}/auth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        client_id: 'node-red-editor',
        grant_type: 'password',
        scope: '*',
        username: rt.adminUser,
        password: 'wrong',
      }),
    });
    assert.equal(wrong.status, 403);
    const login = await fetch(`${rt.url}/auth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        client_id: 'node-red-editor',
        grant_type: 'password',
        scope: '*',
        username: rt.adminUser,
        password: rt.adminPassword,
      }),
    });
    assert.equal(login.status, 200);
    const { access_token } = (await login.json()) as { access_token: string };
    const flows = await fetch(`${rt.url}/flows`, { headers: { Authorization: `Bearer ${access_token}` } });
    assert.equal(flows.status, 200);
    const body = (await flows.json()) as unknown[] | { flows: unknown[] };
    const list = Array.isArray(body) ? body : body.flows;
    assert.ok(list.some((n) => (n as { type: string }).type === 'wpt-twin'));
    // No secret ends up in the flows.
    const text = JSON.stringify(list);
    assert.ok(!text.includes(rt.apiToken) && !text.includes(rt.adminPassword));
  });

  it('replays the original capture through the broker and counts every message per topic kind', async () => {
    const capture = readCapture();
    const expected: Record<string, number> = {};
    for (const m of capture) {
      const p = parseTopic(m.topic);
      assert.ok(!('error' in p), m.topic);
      expected[p.kind] = (expected[p.kind] ?? 0) + 1;
    }
    // Retained messages of a shared broker may arrive at start: measure from a settled baseline.
    const before = await poll(
      () => ingest(rt),
      () => true,
    );
    const client = await mqtt.connectAsync(rt.mqttUrl, { clientId: `wpt-e2e-${process.pid}` });
    try {
      for (const m of capture) await client.publishAsync(m.topic, m.payload, { qos: 1 });
      // Invalid traffic: counted as rejected, never stops the rest.
      await client.publishAsync('iot/hubs/hub_01/nodes/node_01/telemetry', '{"voltage": "NaN"', { qos: 1 });
      await client.publishAsync(
        'iot/hubs/hub_01/nodes/node_01/telemetry',
        JSON.stringify({ voltage: 1, current: 1, power_kw: 351, power_limit_kw: 10, is_occupied: false }),
        { qos: 1 },
      );
    } finally {
      await client.endAsync();
    }
    // The orchestrator's own allocator publishes dlm/events too, and they are counted like any:
    // every kind but dlmEvent is exact, dlmEvent at least the capture's.
    const total = capture.length;
    const after = await poll(
      () => ingest(rt),
      (s) =>
        s.totals.accepted - before.totals.accepted >= total &&
        s.totals.rejected - before.totals.rejected >= 2,
    );
    for (const [kind, n] of Object.entries(expected)) {
      const got = count(after, kind, 'accepted') - count(before, kind, 'accepted');
      if (kind === 'dlmEvent') assert.ok(got >= n, `${kind}: ${got} < ${n}`);
      else assert.equal(got, n, kind);
    }
    assert.equal(count(after, 'nodeTelemetry', 'rejected') - count(before, 'nodeTelemetry', 'rejected'), 2);
    assert.match(
      after.byKind.nodeTelemetry?.lastError?.message ?? '',
      /NodeTelemetry\.power_kw: must be <= 350/,
    );
  });
});

describe('e2e: start and stop', function () {
  this.timeout(180000);

  it('stops on SIGTERM with nothing left running', async () => {
    const rt = await startRuntime();
    const mqttPort = Number(new URL(rt.mqttUrl).port);
    const code = await rt.stop('SIGTERM');
    assert.equal(code, 0, rt.output());
    assert.match(rt.output(), /stopped/);
    assert.deepEqual(processesMentioning(rt.userDir), [], 'a process of this runtime is still running');
    if (!process.env.MQTT_URL) {
      // The embedded broker's port is free again.
      await new Promise<void>((resolve, reject) => {
        const s = net.createServer().once('error', reject);
        s.listen(mqttPort, '127.0.0.1', () => s.close(() => resolve()));
      });
    }
    fs.rmSync(rt.userDir, { recursive: true, force: true });
  });

  it('says in one line that the embedded broker port is taken', async function () {
    if (process.env.MQTT_URL) {
      console.log('      (MQTT_URL is set: the embedded broker is not used)');
      this.skip();
    }
    const port = await freePort();
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', () => r()));
    try {
      const userDir = makeUserDir();
      await assert.rejects(
        startRuntime({ userDir, env: { WPT_MQTT_PORT: String(port) }, timeoutMs: 30000 }),
        (err: Error) => {
          const lines = err.message.split('\n').filter((l) => l.includes('[wpt]'));
          assert.ok(
            lines.some((l) => /already in use.*MQTT_URL/.test(l)),
            err.message,
          );
          assert.ok(!/\n\s+at /.test(err.message), 'no stack trace');
          return true;
        },
      );
      fs.rmSync(userDir, { recursive: true, force: true });
    } finally {
      blocker.close();
    }
  });

  it('starts again after a crash that left the embedded PostgreSQL running', async function () {
    if (process.env.DATABASE_URL) {
      console.log('      (DATABASE_URL is set: the embedded PostgreSQL is not used)');
      this.skip();
    }
    const userDir = makeUserDir();
    const first = await startRuntime({ userDir });
    // A crash of the launcher and of the database's watchdog together (the watchdog alone
    // would stop the database): no cleanup at all, the database keeps running.
    const watchdog = processTree(first.proc.pid!).find((p) => cmdline(p).includes('wpt-postgres-watchdog'));
    assert.ok(watchdog, 'the database has a watchdog');
    process.kill(watchdog, 'SIGKILL');
    await first.stop('SIGKILL');
    const dataDir = path.join(userDir, 'postgres');
    assert.ok(fs.existsSync(path.join(dataDir, 'postmaster.pid')), 'the crash left postmaster.pid');
    assert.equal(processesMentioning(dataDir).length > 0, true, 'the crash left PostgreSQL running');
    const second = await startRuntime({ userDir });
    const health = (await (await fetch(`${second.url}/api/health`)).json()) as {
      dependencies: { postgres: { state: string } };
    };
    assert.equal(health.dependencies.postgres.state, 'ok');
    assert.equal(await second.stop('SIGINT'), 0, second.output());
    assert.deepEqual(processesMentioning(dataDir), []);
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  it('generates the editor password and the API token on first start, prints them once, keeps only hashes', async () => {
    const userDir = makeUserDir();
    const rt = await startRuntime({
      userDir,
      env: { WPT_API_TOKEN: undefined, WPT_ADMIN_PASSWORD: undefined },
    });
    const out = rt.output();
    const pw = /Editor login \(shown once\): \S+ \/ (\S+)/.exec(out)?.[1];
    const token = /API token \(shown once\): (\S+)/.exec(out)?.[1];
    assert.ok(pw && token, out);
    const secrets = fs.readFileSync(path.join(userDir, '.wpt-secrets.json'), 'utf8');
    assert.ok(!secrets.includes(pw) && !secrets.includes(token), 'only hashes are kept');
    assert.equal(
      (await fetch(`${rt.url}/api/ingest`, { headers: { Authorization: `Bearer ${token}` } })).status,
      200,
    );
    assert.equal(await rt.stop(), 0);
    const again = await startRuntime({
      userDir,
      env: { WPT_API_TOKEN: undefined, WPT_ADMIN_PASSWORD: undefined },
    });
    assert.doesNotMatch(again.output(), /shown once/);
    assert.equal(
      (await fetch(`${again.url}/api/ingest`, { headers: { Authorization: `Bearer ${token}` } })).status,
      200,
    );
    await again.stop();
    fs.rmSync(userDir, { recursive: true, force: true });
  });
});

describe('e2e: a broker that needs a login', function () {
  this.timeout(60000);

  it('connects with MQTT_USERNAME/MQTT_PASSWORD and never prints the password', async () => {
    const { Aedes } = await import('aedes');
    const broker = await Aedes.createBroker({
      authenticate: (_client, username, password, cb) => {
        const ok = username === 'wpt-user' && password?.toString() === 'broker-s3cret-pw';
        const err = ok ? null : Object.assign(new Error('bad login'), { returnCode: 4 });
        cb(err as never, ok);
      },
    });
    const port = await freePort();
    const server = net.createServer(broker.handle);
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
    const userDir = makeUserDir();
    try {
      for (const env of [
        {
          MQTT_URL: `mqtt://127.0.0.1:${port}`,
          MQTT_USERNAME: 'wpt-user',
          MQTT_PASSWORD: 'broker-s3cret-pw',
        },
        {
          MQTT_URL: `mqtt://wpt-user:broker-s3cret-pw@127.0.0.1:${port}`,
          MQTT_USERNAME: undefined,
          MQTT_PASSWORD: undefined,
        },
      ]) {
        const rt = await startRuntime({ userDir, env });
        const h = (await (await fetch(`${rt.url}/api/health`)).json()) as {
          dependencies: { mqtt: { state: string } };
        };
        assert.equal(h.dependencies.mqtt.state, 'ok');
        await rt.stop();
        assert.ok(!rt.output().includes('broker-s3cret-pw'), 'the password was printed');
        assert.ok(!fs.readFileSync(path.join(userDir, 'flows.json'), 'utf8').includes('broker-s3cret-pw'));
      }
    } finally {
      await new Promise<void>((r) => broker.close(() => r()));
      server.close();
      fs.rmSync(userDir, { recursive: true, force: true });
    }
  });
});

describe('e2e: demo mode', function () {
  this.timeout(60000);

  it('runs a simulated fleet that the orchestrator sees', async () => {
    const rt = await startRuntime({ env: { WPT_DEMO: '1' } });
    try {
      const end = Date.now() + 20000;
      let hubs: Array<{ hub_id: string; nodes: unknown[] }> = [];
      while (Date.now() < end) {
        const r = await fetch(`${rt.url}/api/hubs`, { headers: { Authorization: `Bearer ${rt.apiToken}` } });
        hubs = ((await r.json()) as { items: typeof hubs }).items;
        if (hubs.length >= 3 && hubs.every((h) => h.nodes.length === 4)) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.equal(hubs.length, 3, JSON.stringify(hubs.map((h) => h.hub_id)));
      assert.ok(hubs.every((h) => h.nodes.length === 4));
    } finally {
      assert.equal(await rt.stop(), 0, rt.output());
      fs.rmSync(rt.userDir, { recursive: true, force: true });
    }
  });
});

describe('e2e: the embedded broker binds to loopback', function () {
  this.timeout(60000);

  function externalAddress(): string | undefined {
    for (const list of Object.values(os.networkInterfaces())) {
      for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
    }
    return undefined;
  }
  const connects = (host: string, port: number) =>
    new Promise<boolean>((resolve) => {
      const s = net.connect(port, host);
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });

  it('is not reachable from another address unless WPT_MQTT_BIND says so', async function () {
    const ext = externalAddress();
    if (process.env.MQTT_URL || !ext) {
      console.log(
        `      (${process.env.MQTT_URL ? 'MQTT_URL is set: no embedded broker' : 'no non-loopback address on this machine'})`,
      );
      this.skip();
    }
    const rt = await startRuntime();
    const port = Number(new URL(rt.mqttUrl).port);
    assert.equal(await connects('127.0.0.1', port), true);
    assert.equal(await connects(ext!, port), false, `the broker answered on ${ext}`);
    await rt.stop();
    const open = await startRuntime({ env: { WPT_MQTT_BIND: '0.0.0.0' } });
    assert.equal(await connects(ext!, Number(new URL(open.mqttUrl).port)), true);
    await open.stop();
    fs.rmSync(rt.userDir, { recursive: true, force: true });
    fs.rmSync(open.userDir, { recursive: true, force: true });
  });
});

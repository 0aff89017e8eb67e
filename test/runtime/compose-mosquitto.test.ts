// The compose deployment's Mosquitto (docker/mosquitto: entrypoint, config, aclfile) run here
// with a real Mosquitto, its container paths moved to a temp dir: the orchestrator's account
// from MQTT_USERNAME/MQTT_PASSWORD gets the ACL's orchestrator rules, the health check works,
// a hub account added as docker/README.md says works after a reload and survives a restart.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import mqtt from 'mqtt';
import { freePort } from '../../runtime/free-port';
import { mosquittoBinary } from '../helpers/mosquitto';
import { until } from '../helpers/wait';

const DOCKER = path.resolve(__dirname, '..', '..', 'docker', 'mosquitto');

describe('runtime: the compose Mosquitto (docker/mosquitto)', function () {
  this.timeout(60000);
  let dir: string;
  let proc: ChildProcess | undefined;
  let port: number;
  const tools = () => {
    const bin = mosquittoBinary();
    const passwd = spawnSync('sh', ['-c', 'command -v mosquitto_passwd'], { encoding: 'utf8' }).stdout.trim();
    const sub = spawnSync('sh', ['-c', 'command -v mosquitto_sub'], { encoding: 'utf8' }).stdout.trim();
    return bin && passwd && sub ? { bin, passwd, sub } : null;
  };

  before(function () {
    if (!tools()) {
      console.log('      (mosquitto, mosquitto_passwd or mosquitto_sub not installed)');
      return this.skip();
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wpt-compose-mq-'));
    fs.chmodSync(dir, 0o711); // Mosquitto drops to its own user, which must reach the data dir
  });
  after(() => {
    proc?.kill('SIGKILL');
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the entrypoint as the container would, with its paths moved into `dir`. */
  async function runEntrypoint(): Promise<void> {
    const t = tools()!;
    const data = path.join(dir, 'data');
    const conf = path.join(dir, 'mosquitto.conf');
    fs.writeFileSync(
      conf,
      fs
        .readFileSync(path.join(DOCKER, 'mosquitto.conf'), 'utf8')
        .replace(/^listener 1883$/m, `listener ${port} 127.0.0.1`)
        .replaceAll('/mosquitto/data', data),
    );
    const isRoot = process.getuid?.() === 0;
    const script = fs
      .readFileSync(path.join(DOCKER, 'entrypoint.sh'), 'utf8')
      .replaceAll('/mosquitto/data', data)
      .replaceAll('/mosquitto/config/mosquitto.conf', conf)
      .replaceAll('/wpt/aclfile', path.join(DOCKER, 'aclfile'))
      .replaceAll('/usr/sbin/mosquitto', t.bin)
      .replace(/^chown .*$/m, isRoot ? '$&' : ':');
    const file = path.join(dir, 'entrypoint.sh');
    fs.writeFileSync(file, script);
    proc = spawn('sh', [file], {
      env: { PATH: process.env.PATH, MQTT_USERNAME: 'wpt', MQTT_PASSWORD: 'orchestrator-pw-1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    await until(
      async () => {
        assert.equal(proc!.exitCode, null, out);
        const c = await mqtt
          .connectAsync(`mqtt://127.0.0.1:${port}`, {
            username: 'wpt',
            password: 'orchestrator-pw-1',
            reconnectPeriod: 0,
            connectTimeout: 500,
          })
          .catch(() => null);
        await c?.endAsync();
        return c !== null;
      },
      15000,
      `the compose mosquitto (${out})`,
    );
  }

  const login = (username: string, password: string) =>
    mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      username,
      password,
      reconnectPeriod: 0,
      connectTimeout: 3000,
    });

  it('gives MQTT_USERNAME the orchestrator rules, passes its health check, keeps added accounts', async () => {
    port = await freePort();
    await runEntrypoint();
    const t = tools()!;
    // The compose health check: the orchestrator reads $SYS/broker/uptime.
    const health = spawnSync(
      t.sub,
      [
        '-h',
        '127.0.0.1',
        '-p',
        String(port),
        '-u',
        'wpt',
        '-P',
        'orchestrator-pw-1',
        '-t',
        '$SYS/broker/uptime',
        '-C',
        '1',
        '-W',
        '5',
      ],
      { encoding: 'utf8' },
    );
    assert.equal(health.status, 0, health.stderr);
    // The orchestrator publishes DLM events (the ACL's wpt-orchestrator rules, renamed).
    const observer = await login('wpt', 'orchestrator-pw-1');
    const seen: string[] = [];
    observer.on('message', (topic) => seen.push(topic));
    await observer.subscribeAsync('iot/hubs/#', { qos: 1 });
    await observer.publishAsync('iot/hubs/hub_C/dlm/events', '{}', { qos: 2 });
    await until(() => seen.includes('iot/hubs/hub_C/dlm/events'), 5000, 'the orchestrator event');
    // A hub account, added as docker/README.md says, works after a reload (SIGHUP).
    const pw = path.join(dir, 'data', 'passwd');
    assert.equal(spawnSync(t.passwd, ['-b', pw, 'hubs/hub_C', 'hub-c-password']).status, 0);
    proc!.kill('SIGHUP');
    await until(
      async () => {
        const c = await login('hubs/hub_C', 'hub-c-password').catch(() => null);
        await c?.endAsync();
        return c !== null;
      },
      5000,
      'the hub account after a reload',
    );
    const hub = await login('hubs/hub_C', 'hub-c-password');
    await hub.publishAsync('iot/hubs/hub_C/status', '{"state":"online"}', { qos: 2 });
    await hub.publishAsync('iot/hubs/hub_D/status', '{"state":"online"}', { qos: 2 });
    await until(() => seen.includes('iot/hubs/hub_C/status'), 5000, 'the hub status');
    assert.ok(!seen.includes('iot/hubs/hub_D/status'), 'hub_C spoke as hub_D');
    await hub.endAsync();
    await observer.endAsync();
    // A restart (the entrypoint again) keeps the hub's account.
    proc!.kill('SIGTERM');
    await new Promise((r) => proc!.once('exit', r));
    await runEntrypoint();
    const again = await login('hubs/hub_C', 'hub-c-password');
    await again.endAsync();
  });

  // docker/README.md › Two instances (cluster mode): app and orchestrator-b log in with the one
  // orchestrator account, each with its own client id and persistent session, and share vehicle
  // telemetry through $share (docs/scaling.md, MQTT in cluster mode).
  it('two orchestrator sessions on one account: both stay connected, $share splits vehicle telemetry', async () => {
    if (proc?.exitCode !== null || !proc) {
      port = await freePort();
      await runEntrypoint();
    }
    const t = tools()!;
    const pw = path.join(dir, 'data', 'passwd');
    for (const [user, pass] of [
      ['vehicles/ev_S', 'ev-s-password'],
      ['hubs/hub_S', 'hub-s-password'],
    ]) {
      assert.equal(spawnSync(t.passwd, ['-b', pw, user!, pass!]).status, 0);
    }
    proc!.kill('SIGHUP');
    await until(
      async () => {
        const c = await login('vehicles/ev_S', 'ev-s-password').catch(() => null);
        await c?.endAsync();
        return c !== null;
      },
      5000,
      'the vehicle account after a reload',
    );
    const group = '$share/wpt-dlm/iot/vehicles/+/telemetry';
    // as the compose file sets them: one account, two client ids, persistent sessions; MQTT
    // 3.1.1 as the shipped flows' broker node, and MQTT 5
    const instance = async (clientId: string, protocolVersion: 4 | 5) => {
      const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
        username: 'wpt',
        password: 'orchestrator-pw-1',
        clientId,
        clean: false,
        protocolVersion,
        reconnectPeriod: 0,
        connectTimeout: 3000,
      });
      const got: string[] = [];
      let closed = false;
      c.on('message', (_t, p) => got.push(p.toString()));
      c.on('close', () => (closed = true));
      const granted = await c.subscribeAsync(group, { qos: 1 });
      assert.deepEqual(
        granted.map((g) => g.qos),
        [1],
        `${clientId}: shared subscription granted`,
      );
      return { c, got, closed: () => closed };
    };
    const a = await instance('wpt-dlm-orchestrator', 4);
    const b = await instance('wpt-dlm-orchestrator-b', 5);
    // a hub's account gets nothing through $share that it could not read directly
    const hub = await login('hubs/hub_S', 'hub-s-password');
    const spied: string[] = [];
    hub.on('message', (_t, p) => spied.push(p.toString()));
    await hub.subscribeAsync('$share/spy/iot/vehicles/+/telemetry', { qos: 1 });

    const vehicle = await login('vehicles/ev_S', 'ev-s-password');
    const n = 20;
    for (let i = 0; i < n; i++) {
      await vehicle.publishAsync('iot/vehicles/ev_S/telemetry', `m${i}`, { qos: 1 });
    }
    await until(() => a.got.length + b.got.length === n, 5000, 'every telemetry message delivered');
    await new Promise((r) => setTimeout(r, 300));
    // each message reached exactly one instance of the group, and both took a share
    assert.equal(a.got.length + b.got.length, n);
    assert.deepEqual([...a.got, ...b.got].sort(), Array.from({ length: n }, (_, i) => `m${i}`).sort());
    assert.ok(a.got.length > 0 && b.got.length > 0, `split ${a.got.length}/${b.got.length}`);
    assert.deepEqual(spied, [], 'the hub account read vehicle telemetry through $share');
    // neither session pushed the other out (distinct client ids) …
    assert.equal(a.closed() || b.closed(), false);
    // … whereas a second connection with app's client id takes its session over: why
    // orchestrator-b needs a client id of its own
    const clash = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      username: 'wpt',
      password: 'orchestrator-pw-1',
      clientId: 'wpt-dlm-orchestrator',
      clean: false,
      reconnectPeriod: 0,
    });
    await until(() => a.closed(), 5000, 'the older session dropped by the broker');
    assert.equal(b.closed(), false);
    for (const c of [clash, b.c, hub, vehicle]) await c.endAsync();
    a.c.end(true);
  });
});

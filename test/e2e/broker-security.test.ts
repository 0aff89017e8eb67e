// The embedded broker opened to the network (WPT_MQTT_BIND=0.0.0.0) through the real launcher:
// nobody in without an account, a hub only as itself, nobody but the orchestrator publishes DLM
// events, and the fleet still works end to end (app request → orchestrator → the hub's event).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import mqtt, { type MqttClient } from 'mqtt';
import { startRuntime, CLI, ROOT, type RuntimeHandle } from '../helpers/runtime';
import { until, sleep } from '../helpers/wait';

describe('e2e: the embedded broker beyond loopback', function () {
  this.timeout(180000);
  let rt: RuntimeHandle;
  const clients: MqttClient[] = [];
  const hubA = `hub_sa_${process.pid}`;
  const hubB = `hub_sb_${process.pid}`;
  const logins = new Map<string, string>();

  before(async function () {
    if (process.env.MQTT_URL) {
      console.log('      (MQTT_URL is set: the embedded broker is not used)');
      return this.skip();
    }
    rt = await startRuntime({ env: { WPT_MQTT_BIND: '0.0.0.0' } });
    const app = /MQTT account for the drivers' app \(shown once\): app \/ (\S+)/.exec(rt.output())?.[1];
    assert.ok(app, rt.output());
    logins.set('app', app);
    // The documented way to add an account; the running broker takes it without a restart.
    for (const user of [`hubs/${hubA}`, `vehicles/ev_sa_${process.pid}`]) {
      const r = spawnSync(process.execPath, [CLI, 'mqtt-user', user], {
        cwd: ROOT,
        env: { PATH: process.env.PATH, WPT_USER_DIR: rt.userDir },
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      const pw = new RegExp(`MQTT login: ${user.replace('/', '\\/')} \\/ (\\S+)`).exec(r.stdout)?.[1];
      assert.ok(pw, r.stdout);
      logins.set(user, pw);
    }
    assert.equal(fs.statSync(path.join(rt.userDir, 'mqtt-passwd')).mode & 0o777, 0o600);
  });

  after(async () => {
    for (const c of clients) await c.endAsync().catch(() => {});
    if (rt) {
      await rt.stop();
      fs.rmSync(rt.userDir, { recursive: true, force: true });
    }
  });

  const connect = async (username?: string, password?: string) => {
    const c = await mqtt.connectAsync(rt.mqttUrl, {
      ...(username ? { username, password: password ?? logins.get(username) } : {}),
      clientId: `sec-${process.pid}-${clients.length}`,
      reconnectPeriod: 0,
      connectTimeout: 5000,
    });
    clients.push(c);
    return c;
  };
  const api = async <T>(p: string): Promise<T> =>
    (await (
      await fetch(`${rt.url}${p}`, { headers: { Authorization: `Bearer ${rt.apiToken}` } })
    ).json()) as T;
  const hubIds = async () =>
    (await api<{ items: Array<{ hub_id: string }> }>('/api/hubs')).items.map((h) => h.hub_id);

  it('refuses clients without an account or with a wrong password', async () => {
    await assert.rejects(connect(), /not authori/i);
    await assert.rejects(connect(`hubs/${hubA}`, 'wrong-password-123'), /not authori/i);
    await assert.rejects(connect('wpt-orchestrator', 'guessed-password-1'), /not authori/i);
    assert.match(rt.output(), /login refused/);
  });

  it('lets a hub speak only as itself, and read only its own requests and events', async () => {
    const hub = await connect(`hubs/${hubA}`);
    const seen: string[] = [];
    hub.on('message', (t) => seen.push(t));
    await hub.subscribeAsync('#', { qos: 1 });
    const pub = (topic: string, payload: object) =>
      hub.publishAsync(topic, JSON.stringify(payload), { qos: 1 });
    const info = (id: string) => ({
      hub_id: id,
      location: { latitude: 45, longitude: 9 },
      max_grid_capacity_kw: id === hubA ? 100 : 1000,
      ip_address: '10.0.0.9',
      firmware_version: '2.0',
    });
    await pub(`iot/hubs/${hubA}/info`, info(hubA));
    await pub(`iot/hubs/${hubA}/status`, { state: 'online', cpu_temp: 40 });
    await pub(`iot/hubs/${hubA}/nodes/pad_1/info`, {
      node_id: 'pad_1',
      hub_id: hubA,
      name: null,
      max_power_kw: 60,
    });
    await pub(`iot/hubs/${hubA}/nodes/pad_1/status`, {
      state: 'idle',
      current_vehicle_id: null,
      error_code: 0,
    });
    await until(async () => (await hubIds()).includes(hubA), 15000, `${hubA} in /api/hubs`);
    // Forged, then its own again: once its own is in, the forged ones would be too.
    await pub(`iot/hubs/${hubB}/info`, info(hubB));
    await pub(`iot/hubs/${hubB}/status`, { state: 'online', cpu_temp: 40 });
    await pub(`iot/hubs/${hubA}/dlm/events`, {
      affected_node_id: 'pad_1',
      trigger_reason: 'FORGED',
      original_limit: 0,
      new_limit: 350,
      total_grid_load: 0,
      available_capacity: 350,
      source: 'wpt-dlm',
    });
    await pub(`iot/hubs/${hubA}/nodes/pad_2/info`, {
      node_id: 'pad_2',
      hub_id: hubA,
      name: null,
      max_power_kw: 60,
    });
    const nodesOfA = async () =>
      (await api<{ items: Array<{ hub_id: string; nodes: unknown[] }> }>('/api/hubs')).items.find(
        (h) => h.hub_id === hubA,
      )?.nodes.length ?? 0;
    await until(async () => (await nodesOfA()) === 2, 15000, `pad_2 of ${hubA}`);
    await sleep(500);
    assert.ok(!(await hubIds()).includes(hubB), 'a hub created another hub');
    const events = await api<{ items: unknown[] }>(`/api/dlm/events?hub_id=${hubA}`);
    assert.deepEqual(events.items, [], 'a DLM event forged by a hub was stored');
    assert.ok(
      seen.every((t) => t.startsWith(`iot/hubs/${hubA}/`)),
      `the hub read what is not its own: ${seen.filter((t) => !t.startsWith(`iot/hubs/${hubA}/`)).join(', ')}`,
    );
  });

  it('carries an app request to the orchestrator, whose DLM event reaches the hub', async () => {
    const hub = await connect(`hubs/${hubA}`);
    const vehicle = await connect(`vehicles/ev_sa_${process.pid}`);
    const app = await connect('app');
    const limits: number[] = [];
    hub.on('message', (_t, p) => {
      const n = JSON.parse(p.toString()) as { affected_node_id: string; new_limit: number };
      if (n.affected_node_id === 'pad_1') limits.push(n.new_limit);
    });
    await hub.subscribeAsync(`iot/hubs/${hubA}/dlm/events`, { qos: 1 });
    const seenByApp: string[] = [];
    app.on('message', (t) => seenByApp.push(t));
    await app.subscribeAsync('#', { qos: 1 });
    await vehicle.publishAsync(
      `iot/vehicles/ev_sa_${process.pid}/telemetry`,
      JSON.stringify({
        timestamp: new Date().toISOString(),
        geo_location: { latitude: 45, longitude: 9, altitude: 0 },
        battery_level: 30,
        speed_kmh: 0,
        engine_temp_c: 20,
        is_charging: false,
      }),
      { qos: 1 },
    );
    await app.publishAsync(
      `iot/hubs/${hubA}/requests`,
      JSON.stringify({ vehicle_id: `ev_sa_${process.pid}`, node_id: 'pad_1', soc_percent: 30 }),
      { qos: 1 },
    );
    await until(() => limits.some((l) => l > 0), 15000, 'a DLM event for pad_1 at the hub', {
      detail: () => rt.output().split('\n').slice(-20).join('\n'),
    });
    await sleep(200);
    // The app hears the DLM events, nothing of the fleet's telemetry or info.
    assert.ok(seenByApp.length > 0);
    assert.ok(
      seenByApp.every((t) => /^iot\/hubs\/[^/]+\/dlm\/events$/.test(t)),
      seenByApp.filter((t) => !t.endsWith('/dlm/events')).join(', '),
    );
    const stored = await api<{ items: Array<{ source: string }> }>(`/api/dlm/events?hub_id=${hubA}`);
    assert.ok(
      stored.items.length > 0 && stored.items.every((e) => e.source === 'orchestrator'),
      JSON.stringify(stored),
    );
  });
});

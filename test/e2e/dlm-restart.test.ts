// The limits in force survive an orchestrator restart: restored from dlm_events in
// PostgreSQL and re-sent (RESYNC), so a restart never leaves a hub oversubscribed.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import { startRuntime, makeUserDir, type RuntimeHandle } from '../helpers/runtime';
import { until } from '../helpers/wait';

type Notification = {
  trigger_reason: string;
  original_limit: number;
  new_limit: number;
  affected_node_id: string;
};

describe('e2e: DLM limits across a restart', function () {
  this.timeout(120000);
  const hub = `hub_rst_${process.pid}`;
  const userDir = makeUserDir();
  let client: MqttClient;
  const events: Notification[] = [];
  let rt: RuntimeHandle | undefined;

  const publish = (topic: string, payload: object) =>
    client.publishAsync(topic, JSON.stringify(payload), { qos: 1 });
  const heartbeat = () => publish(`iot/hubs/${hub}/status`, { state: 'online', cpu_temp: 40 });
  /** The hub's telemetry echoes the limits it applies. */
  const limits = new Map<string, number>([
    ['pad_1', 0],
    ['pad_2', 0],
  ]);
  const telemetry = async () => {
    for (const [node, limit] of limits) {
      await publish(`iot/hubs/${hub}/nodes/${node}/telemetry`, {
        voltage: 400,
        current: 0,
        power_kw: 0,
        power_limit_kw: limit,
        is_occupied: node === 'pad_1',
        connected_vehicle_id: node === 'pad_1' ? 'ev_1' : 'n/a',
        current_vehicle_soc: node === 'pad_1' ? 30 : 0,
      });
    }
  };

  after(async () => {
    await client?.endAsync();
    await rt?.stop();
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  it('restores the limits in force from PostgreSQL and re-sends them after a restart', async () => {
    rt = await startRuntime({ userDir });
    const databaseUrl = rt.databaseUrl;
    const mqttUrl = rt.mqttUrl;
    client = await mqtt.connectAsync(rt.mqttUrl, { clientId: `wpt-rst-${process.pid}` });
    await client.subscribeAsync(`iot/hubs/${hub}/dlm/events`, { qos: 1 });
    client.on('message', (_t, p) => {
      const n = JSON.parse(p.toString()) as Notification & { source?: string };
      if (n.source === 'wpt-dlm') {
        events.push(n);
        limits.set(n.affected_node_id, n.new_limit); // the hub applies it
      }
    });
    await publish(`iot/hubs/${hub}/info`, {
      hub_id: hub,
      location: { latitude: 45, longitude: 9 },
      max_grid_capacity_kw: 100,
      ip_address: '10.0.0.9',
      firmware_version: '2.0',
    });
    await heartbeat();
    for (const node of limits.keys()) {
      await publish(`iot/hubs/${hub}/nodes/${node}/info`, {
        node_id: node,
        hub_id: hub,
        name: null,
        max_power_kw: 60,
      });
      await publish(`iot/hubs/${hub}/nodes/${node}/status`, {
        state: 'idle',
        current_vehicle_id: null,
        error_code: 0,
      });
    }
    await telemetry();
    await publish(`iot/hubs/${hub}/requests`, { vehicle_id: 'ev_1', node_id: 'pad_1', soc_percent: 30 });
    await until(
      () => events.some((e) => e.affected_node_id === 'pad_1' && e.new_limit === 60),
      15000,
      'pad_1 gets 60 kW',
    );
    // The hub starts charging, as real hubs say (the charging state is what survives a restart).
    await publish(`iot/hubs/${hub}/nodes/pad_1/status`, {
      state: 'charging',
      current_vehicle_id: 'ev_1',
      error_code: 0,
    });
    await telemetry();
    // Stored as the orchestrator's event.
    await until(
      async () => {
        const r = await fetch(`${rt!.url}/api/dlm/events?hub_id=${hub}&source=orchestrator`, {
          headers: { Authorization: `Bearer ${rt!.apiToken}` },
        });
        const body = (await r.json()) as { items: Array<{ node_id: string; new_limit: number }> };
        return body.items.some((e) => e.node_id === 'pad_1' && e.new_limit === 60);
      },
      15000,
      'the event stored in PostgreSQL',
    );

    assert.equal(await rt.stop(), 0);
    events.length = 0;
    const restartedAt = Date.now();
    // Same database and, for an embedded broker, the same port: the client reconnects by itself.
    rt = await startRuntime({
      userDir,
      env: {
        DATABASE_URL: process.env.DATABASE_URL ? databaseUrl : undefined,
        WPT_MQTT_PORT: new URL(mqttUrl).port,
      },
    });
    // The RESYNC is sent as soon as the restored hub is known: possibly before this client has
    // reconnected to a restarted embedded broker. The orchestrator hears its own events on the
    // bus and stores them, so read it back from the API (and from the bus when it got here).
    type Stored = { node_id: string; trigger_reason: string; original_limit: number; new_limit: number };
    const restarted = rt;
    const resync = await (async (): Promise<Stored | undefined> => {
      const end = Date.now() + 20000;
      while (Date.now() < end) {
        await heartbeat();
        await telemetry();
        const r = await fetch(
          `${restarted.url}/api/dlm/events?hub_id=${hub}&source=orchestrator&since=${restartedAt}&limit=1000`,
          {
            headers: { Authorization: `Bearer ${restarted.apiToken}` },
          },
        );
        const body = (await r.json()) as { items: Stored[] };
        // The re-sent limit in force: a RESYNC that keeps the limit (original == new).
        const found = body.items.find(
          (e) => e.node_id === 'pad_1' && e.trigger_reason === 'RESYNC' && e.original_limit === e.new_limit,
        );
        if (found) return found;
        await new Promise((res) => setTimeout(res, 300));
      }
      return undefined;
    })();
    assert.ok(resync, `a RESYNC of pad_1 after the restart; on the bus: ${JSON.stringify(events)}`);
    assert.equal(resync.new_limit, 60);
    assert.equal(resync.original_limit, 60);
    // The vehicle still charging keeps its power after the restart: no lower limit was sent.
    const after = (await (
      await fetch(`${restarted.url}/api/dlm/events?hub_id=${hub}&node_id=pad_1&since=${restartedAt}`, {
        headers: { Authorization: `Bearer ${restarted.apiToken}` },
      })
    ).json()) as { items: Stored[] };
    assert.ok(after.items.length > 0);
    assert.ok(
      after.items.every((e) => e.new_limit === 60),
      JSON.stringify(after.items),
    );
    // Nothing was ever raised above capacity by the restart.
    assert.ok([...limits.values()].reduce((a, b) => a + b, 0) <= 100);
  });
});

// docker/smoke.sh: one DLM round trip over MQTT, using only the wire contract
// (CONTRACT.md). Publishes a hub's info and status and one node's info and status, then a
// VehicleRequest for that node, and waits for a DLMNotification for the node on
// iot/hubs/{hub}/dlm/events with a limit above 0. Prints it and exits 0; exits 1 on timeout.
//   node docker/smoke/mqtt-roundtrip.js <mqtt-url> <hub-id> [timeout-s]
// Two identities, as on a secured broker (docker/mosquitto/aclfile): the hub's account
// (MQTT_HUB_USERNAME / MQTT_HUB_PASSWORD, e.g. hubs/<hub-id>) publishes the hub's topics and reads
// its DLM events; the app's account (MQTT_USERNAME / MQTT_PASSWORD) sends the request. Without
// the hub's account, one client does both with MQTT_USERNAME / MQTT_PASSWORD (open broker).
'use strict';
const mqtt = require('mqtt');

const [url, hub, timeoutArg] = process.argv.slice(2);
if (!url || !hub) {
  console.error('usage: node docker/smoke/mqtt-roundtrip.js <mqtt-url> <hub-id> [timeout-s]');
  process.exit(2);
}
const timeoutMs = Number(timeoutArg || 60) * 1000;
const node = 'pad_1';
const vehicle = `ev_${hub}`.slice(0, 50);
const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

const connect = (role, username, password) =>
  mqtt.connect(url, {
    clientId: `wpt-smoke-${role}-${process.pid}`,
    username: username || undefined,
    password: password || undefined,
    connectTimeout: 5000,
    reconnectPeriod: 1000,
  });
const client = process.env.MQTT_HUB_USERNAME
  ? connect('hub', process.env.MQTT_HUB_USERNAME, process.env.MQTT_HUB_PASSWORD)
  : connect('app', process.env.MQTT_USERNAME, process.env.MQTT_PASSWORD);
const app = process.env.MQTT_HUB_USERNAME
  ? connect('app', process.env.MQTT_USERNAME, process.env.MQTT_PASSWORD)
  : client;
app.on('error', (e) => console.log(`[mqtt] app: ${e.message}`));
let timer;
const finish = (code, line) => {
  clearTimeout(timer);
  console.log(line);
  if (app !== client) app.end(true);
  client.end(true, () => process.exit(code));
  setTimeout(() => process.exit(code), 2000).unref();
};
timer = setTimeout(
  () => finish(1, `[mqtt] no DLM event for ${hub}/${node} within ${timeoutMs / 1000} s`),
  timeoutMs,
);
client.on('error', (e) => console.log(`[mqtt] ${e.message}`));

const pub = (topic, payload, retain = false) =>
  client.publishAsync(topic, JSON.stringify(payload), { qos: 1, retain });

client.on('message', (topic, buf) => {
  let n;
  try {
    n = JSON.parse(buf.toString());
  } catch {
    return;
  }
  if (n && n.affected_node_id === node && typeof n.new_limit === 'number' && n.new_limit > 0) {
    finish(0, `[mqtt] ${topic} after ${elapsed()}: ${buf.toString()}`);
  }
});

let started = false;
client.on('connect', async () => {
  console.log(`[mqtt] connected to ${url} after ${elapsed()}`);
  if (started) return;
  started = true;
  try {
    await client.subscribeAsync(`iot/hubs/${hub}/dlm/events`, { qos: 1 });
    await pub(
      `iot/hubs/${hub}/info`,
      {
        hub_id: hub,
        location: { latitude: 45.07, longitude: 7.69 },
        max_grid_capacity_kw: 100,
        ip_address: '10.0.0.9',
        firmware_version: 'smoke-1',
      },
      true,
    );
    await pub(`iot/hubs/${hub}/status`, { state: 'online', cpu_temp: 40 }, true);
    await pub(
      `iot/hubs/${hub}/nodes/${node}/info`,
      { node_id: node, hub_id: hub, name: null, max_power_kw: 50 },
      true,
    );
    await pub(
      `iot/hubs/${hub}/nodes/${node}/status`,
      { state: 'idle', current_vehicle_id: null, error_code: 0 },
      true,
    );
    // The request again every 5 s until the event comes (a request is idempotent).
    for (;;) {
      await app.publishAsync(
        `iot/hubs/${hub}/requests`,
        JSON.stringify({ vehicle_id: vehicle, node_id: node, soc_percent: 30 }),
        { qos: 1 },
      );
      console.log(`[mqtt] VehicleRequest ${vehicle} → ${hub}/${node} sent at ${elapsed()}`);
      await new Promise((r) => setTimeout(r, 5000));
    }
  } catch (e) {
    finish(1, `[mqtt] ${e.message}`);
  }
});

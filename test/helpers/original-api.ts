// For tests of the original API's listener: the runtime with it and a small fleet published
// with fresh timestamps, a client that keeps the raw text (to check how numbers are printed),
// and a PNG reader to check what a QR code encodes.
import fs from 'node:fs';
import zlib from 'node:zlib';
import mqtt, { type MqttClient } from 'mqtt';
import { Client } from 'pg';
import { startRuntime, type RuntimeHandle } from './runtime';
import { poll, until } from './wait';
import { freePort } from '../../runtime/free-port';

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed JSON, or undefined when the body is not JSON. */
  json: unknown;
}

export type Obj = Record<string, unknown>;

export function originalClient(base: string) {
  return async function call(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Answer> {
    const r = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(body !== undefined ? { 'Content-Type': 'application/json; charset=utf-8' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      redirect: 'manual',
    });
    const text = await r.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: r.status, headers: r.headers, text, json };
  };
}

const now = () => new Date().toISOString();

export interface FleetHub {
  hubId: string;
  latitude: number;
  longitude: number;
  capacityKw: number;
  nodes: string[];
}

/** Publishes the hubs' and nodes' info and status (fresh), as a hub does at start. */
export async function publishFleet(client: MqttClient, hubs: readonly FleetHub[]): Promise<void> {
  for (const h of hubs) {
    await client.publishAsync(
      `iot/hubs/${h.hubId}/info`,
      JSON.stringify({
        hub_id: h.hubId,
        location: { latitude: h.latitude, longitude: h.longitude, altitude: 50.0 },
        max_grid_capacity_kw: h.capacityKw,
        ip_address: '10.1.2.3',
        firmware_version: '1.0.0',
      }),
      { qos: 1, retain: true },
    );
    await heartbeat(client, [h]);
    for (const n of h.nodes) {
      await client.publishAsync(
        `iot/hubs/${h.hubId}/nodes/${n}/info`,
        JSON.stringify({ node_id: n, hub_id: h.hubId, name: null, max_power_kw: 22.0 }),
        { qos: 1, retain: true },
      );
      await nodeStatus(client, h.hubId, n, 'idle', null);
    }
  }
}

/**
 * Clears what publishFleet retained on the broker, so the tests that run after (on the same
 * broker, e.g. MQTT_URL) do not see these hubs come back.
 */
export async function clearFleet(client: MqttClient, hubs: readonly FleetHub[]): Promise<void> {
  for (const h of hubs) {
    await client.publishAsync(`iot/hubs/${h.hubId}/info`, '', { qos: 1, retain: true });
    for (const n of h.nodes)
      await client.publishAsync(`iot/hubs/${h.hubId}/nodes/${n}/info`, '', { qos: 1, retain: true });
  }
}

/** A hub's live status: it stays fresh (it goes stale after 10 s of silence). */
export async function heartbeat(client: MqttClient, hubs: readonly FleetHub[]): Promise<void> {
  for (const h of hubs)
    await client.publishAsync(
      `iot/hubs/${h.hubId}/status`,
      JSON.stringify({ state: 'online', cpu_temp: 45.5, timestamp: now() }),
      { qos: 1 },
    );
}

export async function nodeStatus(
  client: MqttClient,
  hubId: string,
  nodeId: string,
  state: 'idle' | 'charging' | 'full' | 'faulted',
  vehicleId: string | null,
): Promise<void> {
  await client.publishAsync(
    `iot/hubs/${hubId}/nodes/${nodeId}/status`,
    JSON.stringify({ state, current_vehicle_id: vehicleId, error_code: 0, timestamp: now() }),
    { qos: 1 },
  );
}

export async function vehicleTelemetry(
  client: MqttClient,
  vehicleId: string,
  batteryLevel: number,
  extra: Obj = {},
): Promise<string> {
  const payload = JSON.stringify({
    geo_location: { latitude: 44.65, longitude: 10.93 },
    battery_level: batteryLevel,
    speed_kmh: 12.5,
    engine_temp_c: null,
    is_charging: false,
    timestamp: now(),
    ...extra,
  });
  await client.publishAsync(`iot/vehicles/${vehicleId}/telemetry`, payload, { qos: 0 });
  return payload;
}

/** Pixels of an 8-bit RGBA, non-interlaced PNG (what the qrcode library writes). */
export function readPng(buf: Buffer): { width: number; height: number; dark(x: number, y: number): boolean } {
  if (buf.readUInt32BE(0) !== 0x89504e47) throw new Error('not a PNG');
  let off = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      if (data[8] !== 8 || data[9] !== 6 || data[12] !== 0)
        throw new Error('expected 8-bit RGBA, not interlaced');
    } else if (type === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * 4;
  const px = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= 4 ? px[y * stride + i - 4]! : 0;
      const b = y > 0 ? px[(y - 1) * stride + i]! : 0;
      const c = i >= 4 && y > 0 ? px[(y - 1) * stride + i - 4]! : 0;
      const x = line[i]!;
      let v: number;
      if (filter === 0) v = x;
      else if (filter === 1) v = x + a;
      else if (filter === 2) v = x + b;
      else if (filter === 3) v = x + ((a + b) >> 1);
      else {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v = x + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
      }
      px[y * stride + i] = v & 0xff;
    }
  }
  return { width, height, dark: (x, y) => px[y * stride + x * 4]! < 128 };
}

/** The fleet both original-API end-to-end tests publish: node `oa_dup` is in both hubs. */
export const ORIGINAL_TEST_FLEET: FleetHub[] = [
  {
    hubId: 'oa_hub_a',
    latitude: 44.6469,
    longitude: 10.9252,
    capacityKw: 50,
    nodes: ['oa_a1', 'oa_a2', 'oa_dup'],
  },
  { hubId: 'oa_hub_b', latitude: 45.0, longitude: 11.0, capacityKw: 40, nodes: ['oa_b1', 'oa_dup'] },
];

/** ISO-8601 UTC as the original printed it: microseconds only when not zero. */
export const ORIGINAL_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?Z$/;

/** The keys of an object in order, and the JSON types of its values. */
export function shape(o: unknown): Array<[string, string]> {
  return Object.entries(o as Obj).map(([k, v]) => [k, v === null ? 'null' : typeof v]);
}

export interface OriginalApiRuntime {
  rt: RuntimeHandle;
  port: number;
  base: string;
  call: ReturnType<typeof originalClient>;
  client: MqttClient;
  db: Client;
  stop(): Promise<void>;
}

/**
 * The real runtime with WPT_COMPAT_PORT, the test fleet published (kept fresh by a heartbeat
 * every 2 s), an MQTT client and a connection to its PostgreSQL.
 */
export async function startOriginalApiRuntime(clientId: string): Promise<OriginalApiRuntime> {
  const port = await freePort();
  const rt = await startRuntime({ env: { WPT_COMPAT_PORT: String(port) } });
  const base = `http://127.0.0.1:${port}`;
  const call = originalClient(base);
  // The listener opens once the fleet is restored and the schema is current.
  await until(
    async () => (await call('GET', '/health').catch(() => ({ status: 0 }))).status === 200,
    30_000,
    'the original API listener',
  );
  const client = await mqtt.connectAsync(rt.mqttUrl, { clientId: `${clientId}-${process.pid}` });
  await publishFleet(client, ORIGINAL_TEST_FLEET);
  const beat = setInterval(() => void heartbeat(client, ORIGINAL_TEST_FLEET).catch(() => {}), 2000);
  const db = new Client({ connectionString: rt.databaseUrl });
  await db.connect();
  await poll(
    () => call('GET', '/nodes?limit=100'),
    (r) => (r.json as Obj | undefined)?.total === 5,
  );
  return {
    rt,
    port,
    base,
    call,
    client,
    db,
    async stop() {
      clearInterval(beat);
      await clearFleet(client, ORIGINAL_TEST_FLEET).catch(() => {});
      await client.endAsync();
      await db.end();
      await rt.stop();
      fs.rmSync(rt.userDir, { recursive: true, force: true });
    },
  };
}

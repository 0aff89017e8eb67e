// A simulated fleet for the end-to-end benches: hubs and nodes announced over MQTT as devices
// do, node telemetry payloads, a publisher paced to a target rate, and the runtime's ingest
// counters (GET /api/ingest).
import type { MqttClient } from 'mqtt';
import type { RuntimeHandle } from '../../test/helpers/runtime';

export interface FleetNode {
  topic: string;
  hub: string;
  node: string;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Hub info + status and node info for every hub (QoS 1, not retained, as the devices send them
 * after a start); returns the node telemetry topic of every node (`node_1` … `node_<nodes>`).
 */
export async function announceFleet(pub: MqttClient, hubIds: string[], nodes: number): Promise<FleetNode[]> {
  const out: FleetNode[] = [];
  for (const [h, hub] of hubIds.entries()) {
    await pub.publishAsync(
      `iot/hubs/${hub}/info`,
      JSON.stringify({
        hub_id: hub,
        location: { latitude: 44 + h / 1000, longitude: 10 },
        max_grid_capacity_kw: 300,
        ip_address: '10.0.0.1',
        firmware_version: '1.0',
      }),
      { qos: 1 },
    );
    await pub.publishAsync(`iot/hubs/${hub}/status`, '{"state":"online","cpu_temp":40}', { qos: 1 });
    for (let n = 1; n <= nodes; n++) {
      const node = `node_${n}`;
      await pub.publishAsync(
        `iot/hubs/${hub}/nodes/${node}/info`,
        JSON.stringify({ node_id: node, hub_id: hub, max_power_kw: 78 }),
        { qos: 1 },
      );
      out.push({ topic: `iot/hubs/${hub}/nodes/${node}/telemetry`, hub, node });
    }
  }
  return out;
}

/** Node telemetry of an idle node drawing `power` kW (as the original devices send it). */
export const nodeTelemetry = (power: number, ts: number): string =>
  `{"voltage":400,"current":${(power * 2.5).toFixed(1)},"power_kw":${power},"power_limit_kw":78,"is_occupied":false,"connected_vehicle_id":"n/a","current_vehicle_soc":0,"timestamp":"${new Date(ts).toISOString()}"}`;

/**
 * Calls `send` `target` times a second for `seconds`, in 10 ms ticks: each tick sends what the
 * target rate owes by then. Returns how many were sent and the time it took.
 */
export async function paced(
  target: number,
  seconds: number,
  send: () => void,
  tickMs = 10,
): Promise<{ sent: number; seconds: number }> {
  let sent = 0;
  const t0 = Date.now();
  const end = t0 + seconds * 1000;
  while (Date.now() < end) {
    const owed = Math.floor(((Date.now() - t0) / 1000) * target) - sent;
    for (let i = 0; i < owed; i++) {
      send();
      sent++;
    }
    await sleep(tickMs);
  }
  return { sent, seconds: (Date.now() - t0) / 1000 };
}

export type Ingest = { byKind: Record<string, { accepted: number; rejected: number } | undefined> };

/** The runtime's ingest counters (GET /api/ingest with its API token). */
export async function ingest(rt: RuntimeHandle): Promise<Ingest> {
  const r = await fetch(`${rt.url}/api/ingest`, { headers: { Authorization: `Bearer ${rt.apiToken}` } });
  if (r.status !== 200) throw new Error(`GET /api/ingest: ${r.status}`);
  return (await r.json()) as Ingest;
}

/** Messages of one kind the runtime accepted so far. */
export const accepted = async (rt: RuntimeHandle, kind = 'nodeTelemetry'): Promise<number> =>
  (await ingest(rt)).byKind[kind]?.accepted ?? 0;

/** Vehicle telemetry of vehicle number `i`, driving (not charging). */
export const vehicleTelemetry = (i: number, ts: number): string =>
  `{"geo_location":{"latitude":${(44 + (i % 100) / 1000).toFixed(3)},"longitude":10.5},"battery_level":${20 + (i % 70)},"speed_kmh":50,"engine_temp_c":40,"is_charging":false,"timestamp":"${new Date(ts).toISOString()}"}`;

// A hub that obeys its limits, over a real broker: announces itself and its nodes (retained),
// keeps its status fresh, charges the vehicles it is told to at min(limit, node maximum), and
// reports each DLM notification's new limit back in its telemetry (power_limit_kw) as a real
// hub does, so the orchestrator sees its limits confirmed. close() clears what it retained.
import mqtt, { type MqttClient } from 'mqtt';
import type { Notification } from './contract-hub';

export interface EchoHub {
  /** Every DLM notification received on iot/hubs/{hub}/dlm/events, in order. */
  events: Notification[];
  /** The limit each node applies (kW): its boot default, the node's maximum, until a DLM
   *  notification brings a new_limit. */
  limits: Map<string, number>;
  /** The node starts charging `vehicleId` (status charging, telemetry with the vehicle). */
  charge(nodeId: string, vehicleId: string, soc: number): Promise<void>;
  /** Reports a node's state (not charging): idle, faulted with its error code, … */
  status(nodeId: string, state: string, errorCode: number): Promise<void>;
  close(): Promise<void>;
}

export async function startEchoHub(
  url: string,
  hub: string,
  o: { capacityKw: number; nodes: Record<string, number>; everyMs?: number },
): Promise<EchoHub> {
  const client: MqttClient = await mqtt.connectAsync(url, { clientId: `wpt-echo-${hub}` });
  const events: Notification[] = [];
  const limits = new Map<string, number>(Object.entries(o.nodes));
  const charging = new Map<string, { vehicleId: string; soc: number }>();
  const retained: string[] = [];
  const now = () => new Date().toISOString();
  const publish = async (topic: string, payload: object, retain = false) => {
    if (retain && !retained.includes(topic)) retained.push(topic);
    await client.publishAsync(topic, JSON.stringify(payload), { qos: 1, retain });
  };
  const telemetry = (node: string) => {
    const limit = limits.get(node)!;
    const c = charging.get(node);
    const power = c ? Math.min(limit, o.nodes[node]!) : 0;
    return publish(`iot/hubs/${hub}/nodes/${node}/telemetry`, {
      voltage: power > 0 ? 400 : 0,
      current: power > 0 ? Math.round((power * 1000) / 400) / 1000 : 0,
      power_kw: power,
      power_limit_kw: limit,
      is_occupied: Boolean(c),
      connected_vehicle_id: c ? c.vehicleId : 'n/a',
      current_vehicle_soc: c ? c.soc : 0,
      timestamp: now(),
    });
  };
  client.on('message', (_t, p) => {
    let n: Notification;
    try {
      n = JSON.parse(p.toString()) as Notification;
    } catch {
      return;
    }
    events.push(n);
    if (!(n.affected_node_id in o.nodes)) return;
    limits.set(n.affected_node_id, n.new_limit);
    void telemetry(n.affected_node_id).catch(() => {});
  });
  await client.subscribeAsync(`iot/hubs/${hub}/dlm/events`, { qos: 1 });
  await publish(
    `iot/hubs/${hub}/info`,
    {
      hub_id: hub,
      location: { latitude: 45.07, longitude: 7.69 },
      max_grid_capacity_kw: o.capacityKw,
      ip_address: '10.0.0.8',
      firmware_version: '2.1.0',
    },
    true,
  );
  const status = () =>
    publish(`iot/hubs/${hub}/status`, { state: 'online', cpu_temp: 40, timestamp: now() }, true);
  await status();
  for (const [node, maxKw] of Object.entries(o.nodes)) {
    await publish(
      `iot/hubs/${hub}/nodes/${node}/info`,
      { node_id: node, hub_id: hub, name: `Pad ${node}`, max_power_kw: maxKw },
      true,
    );
    await publish(
      `iot/hubs/${hub}/nodes/${node}/status`,
      { state: 'idle', current_vehicle_id: null, error_code: 0, timestamp: now() },
      true,
    );
  }
  const timer = setInterval(() => {
    void (async () => {
      await status();
      for (const node of Object.keys(o.nodes)) await telemetry(node);
    })().catch(() => {});
  }, o.everyMs ?? 2000);
  return {
    events,
    limits,
    async charge(nodeId, vehicleId, soc) {
      charging.set(nodeId, { vehicleId, soc });
      await publish(
        `iot/hubs/${hub}/nodes/${nodeId}/status`,
        { state: 'charging', current_vehicle_id: vehicleId, error_code: 0, timestamp: now() },
        true,
      );
      await telemetry(nodeId);
    },
    async status(nodeId, state, errorCode) {
      charging.delete(nodeId);
      await publish(
        `iot/hubs/${hub}/nodes/${nodeId}/status`,
        { state, current_vehicle_id: null, error_code: errorCode, timestamp: now() },
        true,
      );
    },
    async close() {
      clearInterval(timer);
      for (const t of retained) await client.publishAsync(t, '', { qos: 1, retain: true }).catch(() => {});
      await client.endAsync();
    },
  };
}

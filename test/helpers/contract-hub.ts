// A hub that speaks the wire contract over a real broker, for tests of a whole orchestrator:
// publishes its info and status and its nodes' info and status (retained, as hubs do), sends
// VehicleRequests, and collects the DLM notifications sent to it. close() clears what it retained.
import mqtt, { type MqttClient } from 'mqtt';

export interface Notification {
  trigger_reason: string;
  original_limit: number;
  new_limit: number;
  affected_node_id: string;
  total_grid_load: number;
  available_capacity: number;
  source?: string;
}

export interface ContractHub {
  /** Every DLM notification received on iot/hubs/{hub}/dlm/events, in order. */
  events: Notification[];
  /** Publishes a VehicleRequest on iot/hubs/{hub}/requests (QoS 1). */
  request(vehicleId: string, nodeId: string, socPercent: number): Promise<void>;
  close(): Promise<void>;
}

/** Connects, subscribes to the hub's DLM events, then announces the hub and its idle nodes. */
export async function startContractHub(
  url: string,
  hub: string,
  o: { capacityKw: number; nodes: Record<string, number> },
): Promise<ContractHub> {
  const client: MqttClient = await mqtt.connectAsync(url, { clientId: `wpt-hub-${hub}` });
  const events: Notification[] = [];
  const retained: string[] = [];
  client.on('message', (_t, p) => {
    try {
      events.push(JSON.parse(p.toString()) as Notification);
    } catch {
      /* not a notification */
    }
  });
  await client.subscribeAsync(`iot/hubs/${hub}/dlm/events`, { qos: 1 });
  const now = () => new Date().toISOString();
  const publish = async (topic: string, payload: object, retain: boolean) => {
    if (retain) retained.push(topic);
    await client.publishAsync(topic, JSON.stringify(payload), { qos: 1, retain });
  };
  await publish(
    `iot/hubs/${hub}/info`,
    {
      hub_id: hub,
      location: { latitude: 45.07, longitude: 7.69 },
      max_grid_capacity_kw: o.capacityKw,
      ip_address: '10.0.0.7',
      firmware_version: '2.1.0',
    },
    true,
  );
  await publish(`iot/hubs/${hub}/status`, { state: 'online', cpu_temp: 41.5, timestamp: now() }, true);
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
  return {
    events,
    request: (vehicleId, nodeId, socPercent) =>
      publish(
        `iot/hubs/${hub}/requests`,
        { vehicle_id: vehicleId, node_id: nodeId, soc_percent: socPercent, timestamp: now() },
        false,
      ),
    async close() {
      for (const t of retained) await client.publishAsync(t, '', { qos: 1, retain: true }).catch(() => {});
      await client.endAsync();
    },
  };
}

// Test helper: feeds a twin with contract messages that went through core/contract decode,
// the way they reach it in the flows. Payload time `at` and receipt time `now` (default: at).
import { decode, type InboundMessage } from '../../core/contract';
import { Twin, type TwinChange } from '../../core/twin';

export const T0 = Date.UTC(2026, 10, 26, 8, 0, 0);
export const iso = (ms: number): string => new Date(ms).toISOString();

export function dec(topic: string, payload: object, nowMs: number): InboundMessage {
  const r = decode(topic, JSON.stringify(payload), nowMs);
  if (!r.ok) throw new Error(`fixture rejected: ${topic} ${JSON.stringify(r)}`);
  return r.msg;
}

export const types = (cs: readonly TwinChange[]): string[] => cs.map((c) => c.type);
export const ofType = <K extends TwinChange['type']>(
  cs: readonly TwinChange[],
  t: K,
): Extract<TwinChange, { type: K }>[] =>
  cs.filter((c): c is Extract<TwinChange, { type: K }> => c.type === t);

export interface SendOptions {
  /** Receipt time (default: the payload time). */
  now?: number;
  /** MQTT retain flag of the delivery. */
  retained?: boolean;
}

export class Feed {
  constructor(readonly twin: Twin = new Twin()) {}

  msg(topic: string, payload: object, at: number): InboundMessage {
    return dec(topic, { ...payload, timestamp: iso(at) }, at);
  }

  send(topic: string, payload: object, at: number, o: SendOptions = {}): TwinChange[] {
    const now = o.now ?? at;
    return this.twin.apply(this.msg(topic, payload, at), now, { retained: o.retained === true });
  }

  hubInfo(hub: string, at: number, cap = 140, o: SendOptions = {}): TwinChange[] {
    return this.send(
      `iot/hubs/${hub}/info`,
      {
        hub_id: hub,
        location: { latitude: 44.6, longitude: 10.9, altitude: 50 },
        max_grid_capacity_kw: cap,
        ip_address: '10.0.0.1',
        firmware_version: '1.0.0',
      },
      at,
      o,
    );
  }

  hubStatus(hub: string, state: string, at: number, o: SendOptions = {}, cpu = 40): TwinChange[] {
    return this.send(`iot/hubs/${hub}/status`, { state, cpu_temp: cpu }, at, o);
  }

  nodeInfo(hub: string, node: string, at: number, max = 78, o: SendOptions = {}): TwinChange[] {
    return this.send(
      `iot/hubs/${hub}/nodes/${node}/info`,
      { node_id: node, hub_id: hub, name: null, max_power_kw: max },
      at,
      o,
    );
  }

  nodeStatus(
    hub: string,
    node: string,
    state: string,
    vehicle: string | null,
    at: number,
    o: SendOptions = {},
  ): TwinChange[] {
    return this.send(
      `iot/hubs/${hub}/nodes/${node}/status`,
      { state, current_vehicle_id: vehicle, error_code: state === 'faulted' ? 42 : 0 },
      at,
      o,
    );
  }

  telemetry(
    hub: string,
    node: string,
    powerKw: number,
    vehicle: string | null,
    soc: number,
    at: number,
    o: SendOptions = {},
  ): TwinChange[] {
    return this.send(
      `iot/hubs/${hub}/nodes/${node}/telemetry`,
      {
        voltage: 400,
        current: 100,
        power_kw: powerKw,
        power_limit_kw: 78,
        is_occupied: vehicle !== null,
        connected_vehicle_id: vehicle ?? 'n/a',
        current_vehicle_soc: vehicle === null ? 0 : soc,
      },
      at,
      o,
    );
  }

  vehicle(id: string, soc: number, at: number, o: SendOptions = {}, lat = 44.6): TwinChange[] {
    return this.send(
      `iot/vehicles/${id}/telemetry`,
      {
        geo_location: { latitude: lat, longitude: 10.9, altitude: 0 },
        battery_level: soc,
        speed_kmh: 0,
        engine_temp_c: 30,
        is_charging: false,
      },
      at,
      o,
    );
  }

  request(
    hub: string,
    node: string,
    vehicle: string,
    soc: number,
    at: number,
    o: SendOptions = {},
  ): TwinChange[] {
    return this.send(
      `iot/hubs/${hub}/requests`,
      { vehicle_id: vehicle, node_id: node, soc_percent: soc },
      at,
      o,
    );
  }

  dlmEvent(hub: string, node: string, newLimit: number, at: number, extra: object = {}): TwinChange[] {
    return this.send(
      `iot/hubs/${hub}/dlm/events`,
      {
        trigger_reason: 'REBALANCE',
        original_limit: 10,
        new_limit: newLimit,
        affected_node_id: node,
        total_grid_load: 10,
        available_capacity: 5,
        ...extra,
      },
      at,
    );
  }

  /** A hub with `nodes` nodes (node_01…), online, at time `at`. */
  site(hub: string, nodes: number, at: number, cap = 140): void {
    this.hubInfo(hub, at, cap);
    this.hubStatus(hub, 'online', at);
    for (let i = 1; i <= nodes; i++) {
      const n = `node_0${i}`;
      this.nodeInfo(hub, n, at);
      this.nodeStatus(hub, n, 'idle', null, at);
    }
  }
}

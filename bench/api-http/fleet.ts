// The fleet of bench/api-http.ts (hubs, nodes, charging vehicles) and the MQTT messages that
// publish it.
import type { Prng } from '../../sim/prng';

// Region: about 445 km × 475 km (northern Italy), as in bench/recommend.ts.
export const LAT = [43, 47] as const;
export const LON = [7, 13] as const;

export interface FleetNode {
  nodeId: string;
  maxPowerKw: number;
  vehicle: { id: string; soc: number; powerKw: number } | null;
}
export interface FleetHub {
  hubId: string;
  lat: number;
  lon: number;
  capacityKw: number;
  nodes: FleetNode[];
}

export function makeFleet(hubs: number, nodesPerHub: number, rng: Prng): FleetHub[] {
  const busy = new Uint8Array(hubs * nodesPerHub);
  busy.fill(1, 0, Math.floor((hubs * nodesPerHub) / 2));
  for (let i = busy.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    const t = busy[i]!;
    busy[i] = busy[j]!;
    busy[j] = t;
  }
  const out: FleetHub[] = [];
  for (let h = 0; h < hubs; h++) {
    const hubId = `hub_${String(h).padStart(4, '0')}`;
    const capacityKw = rng.pick([100, 150, 200, 300]);
    const charging = busy.subarray(h * nodesPerHub, (h + 1) * nodesPerHub).reduce((s, b) => s + b, 0);
    const nodes: FleetNode[] = [];
    for (let n = 0; n < nodesPerHub; n++) {
      const maxPowerKw = rng.pick([11, 22, 50, 75, 150]);
      const isBusy = busy[h * nodesPerHub + n] === 1;
      nodes.push({
        nodeId: `node_${n + 1}`,
        maxPowerKw,
        vehicle: isBusy
          ? {
              id: `veh_${h}_${n + 1}`,
              soc: Math.round(rng.range(5, 95)),
              // What the hub draws stays under its capacity (no GRID_OVERLOAD storm).
              powerKw: Math.round(Math.min(maxPowerKw, (0.9 * capacityKw) / charging) * 10) / 10,
            }
          : null,
      });
    }
    out.push({ hubId, lat: rng.range(LAT[0], LAT[1]), lon: rng.range(LON[0], LON[1]), capacityKw, nodes });
  }
  return out;
}

export interface Msg {
  topic: string;
  payload: string;
  retain: boolean;
  qos: 0 | 1;
}

export function hubMessages(f: FleetHub[]): Msg[] {
  return f.flatMap((h, i) => [
    {
      topic: `iot/hubs/${h.hubId}/info`,
      payload: JSON.stringify({
        hub_id: h.hubId,
        location: { latitude: h.lat, longitude: h.lon, altitude: 100 },
        max_grid_capacity_kw: h.capacityKw,
        ip_address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
        firmware_version: '1.0.0',
      }),
      retain: true,
      qos: 1 as const,
    },
    hubStatus(h),
  ]);
}

export function hubStatus(h: FleetHub): Msg {
  return {
    topic: `iot/hubs/${h.hubId}/status`,
    payload: JSON.stringify({ state: 'online', cpu_temp: 45 }),
    retain: false,
    qos: 0,
  };
}

export function nodeMessages(f: FleetHub[]): Msg[] {
  const out: Msg[] = [];
  for (const h of f) {
    for (const n of h.nodes) {
      const base = `iot/hubs/${h.hubId}/nodes/${n.nodeId}`;
      out.push({
        topic: `${base}/info`,
        payload: JSON.stringify({
          node_id: n.nodeId,
          hub_id: h.hubId,
          name: null,
          max_power_kw: n.maxPowerKw,
        }),
        retain: true,
        qos: 1,
      });
      out.push({
        topic: `${base}/status`,
        payload: JSON.stringify({
          state: n.vehicle ? 'charging' : 'idle',
          current_vehicle_id: n.vehicle?.id ?? null,
          error_code: 0,
        }),
        retain: false,
        qos: 0,
      });
    }
  }
  for (const h of f) {
    for (const n of h.nodes) {
      if (!n.vehicle) continue;
      out.push({
        topic: `iot/vehicles/${n.vehicle.id}/telemetry`,
        payload: JSON.stringify({
          geo_location: { latitude: h.lat, longitude: h.lon, altitude: 100 },
          battery_level: n.vehicle.soc,
          speed_kmh: 0,
          is_charging: true,
        }),
        retain: false,
        qos: 0,
      });
      out.push({
        topic: `iot/hubs/${h.hubId}/nodes/${n.nodeId}/telemetry`,
        payload: JSON.stringify({
          voltage: 400,
          current: Math.round((n.vehicle.powerKw * 1000) / 400),
          power_kw: n.vehicle.powerKw,
          power_limit_kw: n.maxPowerKw,
          is_occupied: true,
          connected_vehicle_id: n.vehicle.id,
          current_vehicle_soc: n.vehicle.soc,
        }),
        retain: false,
        qos: 0,
      });
    }
  }
  return out;
}

// Memory of a twin of 10k hubs × 4 nodes + 100k vehicles (no assertions: prints figures).
// Run: npx tsx --expose-gc bench/twin-memory.ts [hubs=10000] [vehicles=100000]
import os from 'node:os';
import type { InboundMessage } from '../core/contract';
import { Twin } from '../core/twin';

const HUBS = Number(process.argv[2] ?? 10_000);
const VEHICLES = Number(process.argv[3] ?? 100_000);
const NODES = 4;
const T0 = Date.UTC(2026, 10, 26, 8, 0, 0);

const gc = (globalThis as { gc?: () => void }).gc;
const mb = (n: number): string => `${(n / 1048576).toFixed(1)} MB`;

function mem(label: string): void {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  console.log(
    `${label}: rss ${mb(m.rss)}, heapUsed ${mb(m.heapUsed)}, heapTotal ${mb(m.heapTotal)}, external ${mb(m.external)}`,
  );
}

function main(): void {
  const cpus = os.cpus();
  console.log(`command: npx tsx --expose-gc bench/twin-memory.ts ${HUBS} ${VEHICLES}`);
  console.log(
    `machine: ${cpus[0]?.model ?? 'unknown cpu'} × ${cpus.length}, node ${process.version}, ${os.platform()} ${os.arch()}`,
  );
  if (!gc) console.log('note: run with --expose-gc for settled figures');
  mem('baseline');
  const before = process.memoryUsage();
  const twin = new Twin();
  // Messages are built already decoded (the decoder is measured by bench/twin.ts).
  let ts = T0;
  const apply = (m: InboundMessage): void => {
    twin.apply(m, m.ts);
  };
  for (let h = 0; h < HUBS; h++) {
    const hubId = `hub_${h}`;
    apply({
      kind: 'hubInfo',
      hubId,
      ts: ++ts,
      data: {
        hub_id: hubId,
        location: { latitude: 44 + h / 1e5, longitude: 10 + h / 1e5, altitude: 50 },
        max_grid_capacity_kw: 140,
        ip_address: `10.${(h >> 16) & 255}.${(h >> 8) & 255}.${h & 255}`,
        firmware_version: '1.0.0',
      },
    });
    apply({ kind: 'hubStatus', hubId, ts: ++ts, data: { state: 'online', cpu_temp: 50 } });
    for (let n = 1; n <= NODES; n++) {
      const nodeId = `node_0${n}`;
      apply({
        kind: 'nodeInfo',
        hubId,
        nodeId,
        ts: ++ts,
        data: { node_id: nodeId, hub_id: hubId, name: null, max_power_kw: 78 },
      });
      const v = n === 1 ? `veh_${h % VEHICLES}` : null;
      apply({
        kind: 'nodeStatus',
        hubId,
        nodeId,
        ts: ++ts,
        data: { state: v ? 'charging' : 'idle', current_vehicle_id: v, error_code: 0 },
      });
      apply({
        kind: 'nodeTelemetry',
        hubId,
        nodeId,
        ts: ++ts,
        data: {
          voltage: 400,
          current: v ? 120 : 0,
          power_kw: v ? 48 : 0,
          power_limit_kw: 78,
          is_occupied: v !== null,
          connected_vehicle_id: v,
          current_vehicle_soc: v ? 40 : null,
        },
      });
    }
  }
  for (let i = 0; i < VEHICLES; i++) {
    apply({
      kind: 'vehicleTelemetry',
      vehicleId: `veh_${i}`,
      ts: ++ts,
      data: {
        geo_location: { latitude: 44 + i / 1e6, longitude: 10 + i / 1e6, altitude: 0 },
        battery_level: i % 100,
        speed_kmh: 50,
        engine_temp_c: 40,
        is_charging: false,
      },
    });
  }
  const s = twin.stats();
  console.log(
    `twin: ${s.hubs} hubs, ${s.nodes} nodes, ${s.vehicles} vehicles, ${s.openSessions} open sessions`,
  );
  mem('with twin');
  const after = process.memoryUsage();
  console.log(
    `twin cost: rss +${mb(after.rss - before.rss)}, heapUsed +${mb(after.heapUsed - before.heapUsed)}`,
  );
  console.log('target: ≤ 300 MB RSS');
  // keep the twin alive until measured
  if (twin.stats().hubs !== HUBS) console.log('unexpected hub count');
}

main();

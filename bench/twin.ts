// Throughput of decode + Twin.apply on one core (no assertions: prints figures).
// Run: npx tsx bench/twin.ts [hubs=1000] [rounds=60]
import os from 'node:os';
import { decode } from '../core/contract';
import { Twin } from '../core/twin';

const HUBS = Number(process.argv[2] ?? 1000);
const ROUNDS = Number(process.argv[3] ?? 60);
const NODES = 4;
const T0 = Date.UTC(2026, 10, 26, 8, 0, 0);

function machine(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model ?? 'unknown cpu'} × ${cpus.length} (os.cpus), node ${process.version}, ${os.platform()} ${os.arch()}`;
}

interface Wire {
  topic: string;
  payload: Buffer;
}

const iso = (ms: number): string => new Date(ms).toISOString().replace('Z', '123Z');

function setup(): Wire[] {
  const out: Wire[] = [];
  for (let h = 0; h < HUBS; h++) {
    const hub = `hub_${h}`;
    out.push({
      topic: `iot/hubs/${hub}/info`,
      payload: Buffer.from(
        JSON.stringify({
          hub_id: hub,
          location: { latitude: 44 + h / 1e4, longitude: 10, altitude: 50 },
          max_grid_capacity_kw: 140,
          ip_address: '10.0.0.1',
          firmware_version: '1.0.0',
        }),
      ),
    });
    out.push({
      topic: `iot/hubs/${hub}/status`,
      payload: Buffer.from(JSON.stringify({ state: 'online', cpu_temp: 50, timestamp: iso(T0) })),
    });
    for (let n = 1; n <= NODES; n++) {
      const node = `node_0${n}`;
      out.push({
        topic: `iot/hubs/${hub}/nodes/${node}/info`,
        payload: Buffer.from(JSON.stringify({ node_id: node, hub_id: hub, name: null, max_power_kw: 78 })),
      });
      const v = n === 1 ? `veh_${h}` : null;
      out.push({
        topic: `iot/hubs/${hub}/nodes/${node}/status`,
        payload: Buffer.from(
          JSON.stringify({
            state: v ? 'charging' : 'idle',
            current_vehicle_id: v,
            error_code: 0,
            timestamp: iso(T0 + 1),
          }),
        ),
      });
    }
  }
  return out;
}

/** One 2 s period: telemetry of every node, and of one vehicle per hub. */
function round(r: number): Wire[] {
  const out: Wire[] = [];
  const base = T0 + 2000 * (r + 1);
  for (let h = 0; h < HUBS; h++) {
    const hub = `hub_${h}`;
    for (let n = 1; n <= NODES; n++) {
      const charging = n === 1;
      out.push({
        topic: `iot/hubs/${hub}/nodes/node_0${n}/telemetry`,
        payload: Buffer.from(
          JSON.stringify({
            voltage: 400 + (r % 7),
            current: charging ? 120.5 : 0,
            power_kw: charging ? 48 + ((r * 7 + h) % 20) : 0.3,
            power_limit_kw: 78,
            is_occupied: charging,
            connected_vehicle_id: charging ? `veh_${h}` : 'n/a',
            current_vehicle_soc: charging ? 20 + Math.floor(r / 10) : 0,
            timestamp: iso(base + n),
          }),
        ),
      });
    }
    out.push({
      topic: `iot/vehicles/veh_${h}/telemetry`,
      payload: Buffer.from(
        JSON.stringify({
          geo_location: { latitude: 44.6, longitude: 10.9, altitude: 50 },
          battery_level: 20 + Math.floor(r / 10),
          speed_kmh: 0,
          engine_temp_c: 30,
          is_charging: true,
          timestamp: iso(base + 5),
        }),
      ),
    });
  }
  return out;
}

function main(): void {
  console.log(`command: npx tsx bench/twin.ts ${HUBS} ${ROUNDS}`);
  console.log(`machine: ${machine()}`);
  const twin = new Twin({ staleAfterS: 10 });
  let now = T0;
  for (const w of setup()) {
    const r = decode(w.topic, w.payload, now);
    if (!r.ok) throw new Error(`setup rejected ${w.topic}`);
    twin.apply(r.msg, now);
  }
  const rounds: Wire[][] = [];
  for (let r = 0; r < ROUNDS; r++) rounds.push(round(r));
  const total = rounds.reduce((a, b) => a + b.length, 0);

  // Warm-up on a separate twin so the measured twin sees each timestamp once.
  const warm = new Twin();
  for (const w of rounds[0] ?? []) {
    const r = decode(w.topic, w.payload, now);
    if (r.ok) warm.apply(r.msg, now);
  }

  let changes = 0;
  let decodeNs = 0n;
  let applyNs = 0n;
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < ROUNDS; r++) {
    now = T0 + 2000 * (r + 1) + 10;
    for (const w of rounds[r] ?? []) {
      const a = process.hrtime.bigint();
      const d = decode(w.topic, w.payload, now);
      const b = process.hrtime.bigint();
      if (!d.ok) throw new Error(`rejected ${w.topic}`);
      changes += twin.apply(d.msg, now).length;
      applyNs += process.hrtime.bigint() - b;
      decodeNs += b - a;
    }
    if (r % 5 === 4) changes += twin.tick(now).length;
  }
  const elapsedNs = Number(process.hrtime.bigint() - t0);
  const s = twin.stats();
  console.log(
    `twin: ${s.hubs} hubs, ${s.nodes} nodes, ${s.vehicles} vehicles, ${s.openSessions} open sessions`,
  );
  console.log(
    `messages: ${total} in ${(elapsedNs / 1e6).toFixed(0)} ms → ${Math.round(total / (elapsedNs / 1e9))} msg/s (decode + apply, one core)`,
  );
  console.log(
    `  decode ${(Number(decodeNs) / total).toFixed(0)} ns/msg, apply ${(Number(applyNs) / total).toFixed(0)} ns/msg (timer overhead included in both)`,
  );
  console.log(`changes emitted: ${changes} (${(changes / total).toFixed(2)} per message)`);
  const sess = twin.openSession('hub_0', 'node_01');
  console.log(`sample session hub_0/node_01: ${sess?.energyKwh.toFixed(3)} kWh over ${sess?.durationS} s`);
  console.log('target: ≥ 100,000 msg/s');
}

main();

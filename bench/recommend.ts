/**
 * Latency of one recommendation in process, at 1,000 hubs × 8 nodes (half of the nodes
 * busy), for requests at random positions. Prints figures (no assertions) and writes the
 * table to bench/results/recommend.md.
 *
 * Run: npx tsx bench/recommend.ts [requests=5000] [seed=1]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_REC_CONFIG, recommend, recommendExhaustive } from '../core/recommend';
import type { RecHub, RecNode, RecRequest, RecResult } from '../core/recommend';
import { mulberry32 } from '../sim/prng';

const REQUESTS = Math.max(2000, Number(process.argv[2] ?? 5000));
const SEED = Number(process.argv[3] ?? 1);
const HUBS = 1000;
const NODES = 8;
const NOW = Date.UTC(2026, 10, 26, 8, 0, 0);
// Region: about 445 km × 475 km (northern Italy).
const LAT = [43, 47] as const;
const LON = [7, 13] as const;

const { next: rnd, range: between, pick } = mulberry32(SEED);

function fleet(): RecHub[] {
  // Exactly half of all nodes busy, spread at random (so some hubs are full, some empty).
  const busy = new Uint8Array(HUBS * NODES);
  busy.fill(1, 0, (HUBS * NODES) / 2);
  for (let i = busy.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    const t = busy[i] as number;
    busy[i] = busy[j] as number;
    busy[j] = t;
  }
  const hubs: RecHub[] = [];
  for (let h = 0; h < HUBS; h++) {
    const nodes: RecNode[] = [];
    for (let n = 0; n < NODES; n++) {
      const isBusy = busy[h * NODES + n] === 1;
      const r = rnd();
      nodes.push({
        nodeId: `node_${n + 1}`,
        maxPowerKw: pick([11, 22, 50, 75, 150]),
        state: r < 0.02 ? 'faulted' : isBusy ? (r < 0.9 ? 'charging' : 'full') : 'idle',
        maintenance: rnd() < 0.02,
        occupied: isBusy,
        vehicleSoc: isBusy ? Math.round(between(5, 95)) : null,
        critical: isBusy && rnd() < 0.1,
        expectedEndMs: isBusy && rnd() < 0.8 ? NOW + Math.round(between(0, 120)) * 60_000 : null,
      });
    }
    hubs.push({
      hubId: `hub_${String(h).padStart(4, '0')}`,
      latitude: between(LAT[0], LAT[1]),
      longitude: between(LON[0], LON[1]),
      capacityKw: pick([100, 150, 200, 300]),
      available: rnd() > 0.03,
      nodes,
    });
  }
  return hubs;
}

function request(battery: [number, number]): RecRequest {
  return {
    latitude: between(LAT[0], LAT[1]),
    longitude: between(LON[0], LON[1]),
    battery_level: Math.round(between(battery[0], battery[1])),
    target_soc: 80,
    battery_capacity_kwh: pick([40, 60, 77, 100]),
    limit: 3,
  };
}

interface Row {
  name: string;
  n: number;
  /** Each request timed once. */
  p50: number;
  p99: number;
  max: number;
  /** Each request timed 3 times, its fastest kept: filters out preemption by other processes. */
  minP99: number;
  minMax: number;
  found: number;
}

type Fn = (hubs: RecHub[], req: RecRequest, cfg: typeof DEFAULT_REC_CONFIG, nowMs: number) => RecResult;

const REPEATS = 3;

function measure(name: string, fn: Fn, hubs: RecHub[], reqs: RecRequest[]): Row {
  for (let i = 0; i < Math.min(500, reqs.length); i++)
    fn(hubs, reqs[i] as RecRequest, DEFAULT_REC_CONFIG, NOW); // warm-up
  const once = new Float64Array(reqs.length);
  const best = new Float64Array(reqs.length).fill(Infinity);
  let found = 0;
  for (let rep = 0; rep < REPEATS; rep++) {
    for (let i = 0; i < reqs.length; i++) {
      const t0 = process.hrtime.bigint();
      const r = fn(hubs, reqs[i] as RecRequest, DEFAULT_REC_CONFIG, NOW);
      const t1 = process.hrtime.bigint();
      const us = Number(t1 - t0) / 1000;
      if (rep === 0) {
        once[i] = us;
        if (r.ok) found++;
      }
      if (us < (best[i] as number)) best[i] = us;
    }
  }
  once.sort();
  best.sort();
  const q = (a: Float64Array, p: number): number =>
    a[Math.min(a.length - 1, Math.floor(p * a.length))] as number;
  return {
    name,
    n: reqs.length,
    p50: q(once, 0.5),
    p99: q(once, 0.99),
    max: once[once.length - 1] as number,
    minP99: q(best, 0.99),
    minMax: best[best.length - 1] as number,
    found,
  };
}

const hubs = fleet();
const normal = Array.from({ length: REQUESTS }, () => request([10, 70]));
const longRange = Array.from({ length: REQUESTS }, () => request([85, 95]));

// Sanity: the pruned answer is the exhaustive one on these requests.
let mismatches = 0;
for (const req of normal.slice(0, 300).concat(longRange.slice(0, 300))) {
  const a = JSON.stringify(recommend(hubs, req, DEFAULT_REC_CONFIG, NOW));
  const b = JSON.stringify(recommendExhaustive(hubs, req, DEFAULT_REC_CONFIG, NOW));
  if (a !== b) mismatches++;
}

const rows: Row[] = [
  measure('recommend, battery 10–70 %', recommend, hubs, normal),
  measure('recommend, battery 85–95 % (most hubs reachable)', recommend, hubs, longRange),
  measure('exhaustive (no pruning), battery 10–70 %', recommendExhaustive, hubs, normal.slice(0, 2000)),
  measure('exhaustive (no pruning), battery 85–95 %', recommendExhaustive, hubs, longRange.slice(0, 2000)),
];

const cpus = os.cpus();
const machine = `${cpus[0]?.model ?? 'unknown cpu'}, ${cpus.length} cores (os.cpus), node ${process.version}, ${os.platform()} ${os.arch()}`;
const command = [
  'npx tsx',
  path.relative(process.cwd(), process.argv[1] ?? 'bench/recommend.ts'),
  ...process.argv.slice(2),
].join(' ');
const f = (x: number): string => (x / 1000).toFixed(3);
const load = os
  .loadavg()
  .map((x) => x.toFixed(2))
  .join(' / ');
const lines = [
  '# Recommendation latency (in process)',
  '',
  `- machine: ${machine}`,
  `- command: \`${command}\` (requests=${REQUESTS}, seed=${SEED})`,
  `- load average after the run (1/5/15 min): ${load} — the machine is shared; p99/max include pauses from other processes and GC`,
  `- fleet: ${HUBS} hubs × ${NODES} nodes over ~445 km × 475 km, half of the nodes busy, ~2 % faulted, ~2 % in maintenance, ~3 % of hubs unavailable; limit 3; default config (0.18 kWh/km, margin 10 %, 50 km/h, policy equal)`,
  `- pruned == exhaustive on ${600} sampled requests: ${mismatches === 0 ? 'yes' : `NO (${mismatches} differ)`}`,
  '',
  `| case | requests | p50 ms | p99 ms | max ms | p99 ms, fastest of ${REPEATS} | max ms, fastest of ${REPEATS} | found |`,
  '|---|---:|---:|---:|---:|---:|---:|---:|',
  ...rows.map(
    (r) =>
      `| ${r.name} | ${r.n} | ${f(r.p50)} | ${f(r.p99)} | ${f(r.max)} | ${f(r.minP99)} | ${f(r.minMax)} | ${r.found} |`,
  ),
  '',
  `p50/p99/max: each request timed once. "fastest of ${REPEATS}": each request timed ${REPEATS} times and its fastest`,
  'run kept, which removes pauses caused by other processes on a shared machine (not the cost of the request).',
  '',
  `Original design: one time-series (InfluxDB) query per hub for every request, i.e. ${HUBS} queries`,
  `per recommendation at ${HUBS} hubs (N queries for N hubs), each a network round-trip; at an assumed`,
  `1 ms per query that alone is ≥ ${HUBS} ms per request. Here: 0 queries (the live twin is in memory).`,
  '',
];
const text = lines.join('\n');
process.stdout.write(text);
const out = path.join(__dirname, 'results', 'recommend.md');
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, text);
process.stdout.write(`written to ${path.relative(process.cwd(), out)}\n`);

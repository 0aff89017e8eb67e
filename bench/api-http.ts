/**
 * REST API over HTTP, through the real runtime (Node-RED + shipped flows), at 1,000 hubs × 8
 * nodes. Prints figures (no assertions) and writes the table to bench/results/api-http.md.
 *
 * Run: npx tsx bench/api-http.ts [--duration 10] [--warmup 2] [--concurrency 8,16,32,64]
 *        [--hubs 1000] [--nodes 8] [--seed 1] [--only recommend,hub,health] [--profile]
 *        [--observe seconds] [--node-options '--max-old-space-size=2048'] [--runtime-log file]
 *        [--no-write]
 *
 * - Starts the runtime as a child process (test/helpers/runtime.ts: `node dist/runtime/cli.js`,
 *   embedded broker and PostgreSQL unless MQTT_URL / DATABASE_URL are set): run `npm run build`
 *   first.
 * - Publishes the fleet over MQTT: per hub `info` + `status`, per node `info` + `status`; half of
 *   the nodes (chosen at random) charging a vehicle, with node and vehicle telemetry, so the
 *   what-if allocation of a recommendation has load to share. Hub status is re-sent every 3 s
 *   during the run (spread over the 3 s), since a hub silent for 10 s is stale and never
 *   recommended. Waits until `GET /api/hubs` shows every hub, node and charging vehicle.
 * - Load generator: closed loop in a worker thread (its own event loop; the server is another
 *   process): N keep-alive connections, each sending its next request when the previous answer
 *   is read; fixed duration after a warm-up; latency of each request with process.hrtime.bigint.
 * - `POST /api/recommendations` with random positions over the fleet's region (battery 10–70 %,
 *   limit 3), then `GET /api/hubs/{id}` (random hub) and `GET /api/health` for comparison.
 * - Server CPU: utime + stime of the runtime process over each measured window (% of one core).
 * - `--profile`: starts the runtime with `NODE_OPTIONS=--cpu-prof`, and prints where the
 *   runtime's CPU time went during the measured windows of each endpoint (self time by package
 *   and by function) and the path of the .cpuprofile (open it in Chrome DevTools).
 * - `--observe S`: before the runs, watch the runtime for S seconds with only the heartbeats
 *   (CPU and RSS every 5 s): the background cost of the fleet. `--node-options` adds to the
 *   runtime's NODE_OPTIONS; `--runtime-log` writes the runtime's output to a file at the end;
 *   `--no-write` leaves bench/results/api-http.md alone (for diagnostic runs).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { execSync } from 'node:child_process';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import mqtt from 'mqtt';
import { startRuntime } from '../test/helpers/runtime';

// ---------------------------------------------------------------------------------------------
// Load generator (worker thread)

interface GenRequest {
  method: 'GET' | 'POST';
  path: string;
  body?: string;
}

interface GenInput {
  url: string;
  token: string;
  requests: GenRequest[];
  concurrency: number;
  warmupMs: number;
  durationMs: number;
}

interface GenResult {
  /** Latency of each request of the measured window, µs. */
  latUs: Float64Array;
  statuses: Record<string, number>;
  errors: number;
  firstError: string | null;
  /** Monotonic µs (process.hrtime) at the start and end of the measured window. */
  windowStartUs: number;
  windowEndUs: number;
}

async function generate(input: GenInput): Promise<GenResult> {
  const u = new URL(input.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: input.concurrency });
  const prepared = input.requests.map((r) => {
    const body = r.body === undefined ? undefined : Buffer.from(r.body);
    const headers: Record<string, string | number> = { Authorization: `Bearer ${input.token}` };
    if (body) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = body.length;
    }
    return { method: r.method, path: r.path, body, headers };
  });
  const lat: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  let firstError: string | null = null;
  const t0 = process.hrtime.bigint();
  const measureFrom = t0 + BigInt(input.warmupMs) * 1_000_000n;
  const end = measureFrom + BigInt(input.durationMs) * 1_000_000n;
  let next = 0;

  const once = (): Promise<void> =>
    new Promise((resolve) => {
      const r = prepared[next++ % prepared.length]!;
      const start = process.hrtime.bigint();
      const record = (status: string | null, err?: Error): void => {
        const stop = process.hrtime.bigint();
        if (start >= measureFrom && stop <= end) {
          if (status === null) {
            errors++;
            firstError ??= err?.message ?? 'error';
          } else {
            statuses[status] = (statuses[status] ?? 0) + 1;
            lat.push(Number(stop - start) / 1000);
          }
        }
        resolve();
      };
      const req = http.request(
        {
          host: u.hostname,
          port: u.port,
          method: r.method,
          path: r.path,
          headers: r.headers,
          agent,
        },
        (res) => {
          res.on('data', () => {});
          res.on('end', () => record(String(res.statusCode)));
          res.on('error', (e) => record(null, e));
        },
      );
      req.on('error', (e) => record(null, e));
      req.end(r.body);
    });

  const client = async (): Promise<void> => {
    while (process.hrtime.bigint() < end) await once();
  };
  await Promise.all(Array.from({ length: input.concurrency }, client));
  agent.destroy();
  return {
    latUs: Float64Array.from(lat),
    statuses,
    errors,
    firstError,
    windowStartUs: Number(measureFrom / 1000n),
    windowEndUs: Number(end / 1000n),
  };
}

if (!isMainThread) {
  generate(workerData as GenInput).then(
    (r) => parentPort!.postMessage(r, [r.latUs.buffer as ArrayBuffer]),
    (e: unknown) => {
      throw e;
    },
  );
}

function runGenerator(input: GenInput): Promise<GenResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(__filename, { workerData: input });
    w.once('message', (m: GenResult) => resolve(m));
    w.once('error', reject);
    w.once('exit', (code) => {
      if (code !== 0) reject(new Error(`load generator exited with ${code}`));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Bench (main thread)

function args(): {
  durationS: number;
  warmupS: number;
  concurrency: number[];
  hubs: number;
  nodes: number;
  seed: number;
  only: Set<string>;
  profile: boolean;
  observeS: number;
  nodeOptions: string;
  runtimeLog: string | undefined;
  noWrite: boolean;
} {
  const a = process.argv.slice(2);
  const val = (name: string): string | undefined => {
    const i = a.indexOf(`--${name}`);
    return i >= 0 ? a[i + 1] : undefined;
  };
  const num = (name: string, def: number): number => {
    const v = Number(val(name));
    return Number.isFinite(v) && v > 0 ? v : def;
  };
  const conc = (val('concurrency') ?? '8,16,32,64')
    .split(',')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
  return {
    durationS: num('duration', 10),
    warmupS: num('warmup', 2),
    concurrency: conc.length ? conc : [8, 16, 32, 64],
    hubs: Math.floor(num('hubs', 1000)),
    nodes: Math.floor(num('nodes', 8)),
    seed: Math.floor(num('seed', 1)),
    only: new Set((val('only') ?? 'recommend,hub,health').split(',')),
    profile: a.includes('--profile'),
    observeS: Number(val('observe') ?? 0) || 0,
    nodeOptions: val('node-options') ?? '',
    runtimeLog: val('runtime-log'),
    noWrite: a.includes('--no-write'),
  };
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Region: about 445 km × 475 km (northern Italy), as in bench/recommend.ts.
const LAT = [43, 47] as const;
const LON = [7, 13] as const;

interface FleetNode {
  nodeId: string;
  maxPowerKw: number;
  vehicle: { id: string; soc: number; powerKw: number } | null;
}
interface FleetHub {
  hubId: string;
  lat: number;
  lon: number;
  capacityKw: number;
  nodes: FleetNode[];
}

function makeFleet(hubs: number, nodesPerHub: number, rnd: () => number): FleetHub[] {
  const between = (lo: number, hi: number): number => lo + (hi - lo) * rnd();
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const busy = new Uint8Array(hubs * nodesPerHub);
  busy.fill(1, 0, Math.floor((hubs * nodesPerHub) / 2));
  for (let i = busy.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    const t = busy[i]!;
    busy[i] = busy[j]!;
    busy[j] = t;
  }
  const out: FleetHub[] = [];
  for (let h = 0; h < hubs; h++) {
    const hubId = `hub_${String(h).padStart(4, '0')}`;
    const capacityKw = pick([100, 150, 200, 300]);
    const charging = busy.subarray(h * nodesPerHub, (h + 1) * nodesPerHub).reduce((s, b) => s + b, 0);
    const nodes: FleetNode[] = [];
    for (let n = 0; n < nodesPerHub; n++) {
      const maxPowerKw = pick([11, 22, 50, 75, 150]);
      const isBusy = busy[h * nodesPerHub + n] === 1;
      nodes.push({
        nodeId: `node_${n + 1}`,
        maxPowerKw,
        vehicle: isBusy
          ? {
              id: `veh_${h}_${n + 1}`,
              soc: Math.round(between(5, 95)),
              // What the hub draws stays under its capacity (no GRID_OVERLOAD storm).
              powerKw: Math.round(Math.min(maxPowerKw, (0.9 * capacityKw) / charging) * 10) / 10,
            }
          : null,
      });
    }
    out.push({ hubId, lat: between(LAT[0], LAT[1]), lon: between(LON[0], LON[1]), capacityKw, nodes });
  }
  return out;
}

interface Msg {
  topic: string;
  payload: string;
  retain: boolean;
  qos: 0 | 1;
}

function hubMessages(f: FleetHub[]): Msg[] {
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

function hubStatus(h: FleetHub): Msg {
  return {
    topic: `iot/hubs/${h.hubId}/status`,
    payload: JSON.stringify({ state: 'online', cpu_temp: 45 }),
    retain: false,
    qos: 0,
  };
}

function nodeMessages(f: FleetHub[]): Msg[] {
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

interface Pct {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

function percentiles(latUs: Float64Array): Pct {
  const a = Float64Array.from(latUs).sort();
  const q = (p: number): number => (a.length ? a[Math.min(a.length - 1, Math.floor(p * a.length))]! : NaN);
  return { n: a.length, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: a.length ? a[a.length - 1]! : NaN };
}

const CLK_TCK = ((): number => {
  try {
    return Number(execSync('getconf CLK_TCK', { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of a process, seconds. */
function cpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK; // fields 14 and 15 of stat(5)
  } catch {
    return NaN;
  }
}

function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

const loadavg = (): string =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Row {
  endpoint: string;
  concurrency: number;
  pct: Pct;
  rps: number;
  ok: number;
  notFound: number;
  other: number;
  errors: number;
  firstError: string | null;
  serverCpu: number;
  loadBefore: string;
  loadAfter: string;
  rssAfterMb: number;
  tsQueries: string;
  durationS: number;
}

// ---------------------------------------------------------------------------------------------
// CPU profile summary (--profile)

interface ProfileNode {
  id: number;
  children?: number[];
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function category(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native/V8)';
  if (url.startsWith('node:')) return 'node internals';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) {
    const inner = url.lastIndexOf('node_modules/');
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url.slice(inner))?.[1] ?? nm[1]!;
    return pkg;
  }
  const ours = /\/dist\/([^/]+)\//.exec(url);
  if (ours) return `wpt-dlm ${ours[1]}/`;
  return url.replace(/^file:\/\//, '');
}

const has = (re: RegExp) => (stack: string) => re.test(stack);
const COMPONENTS: Array<[string, (stack: string) => boolean]> = [
  ['recommendation engine (core/recommend, with its what-if allocation)', has(/dist\/core\/recommend\//)],
  ['wpt-recommender node (engine included)', has(/dist\/nodes\/wpt-recommender\//)],
  ['wpt-query node (API reads and the dashboard queries)', has(/dist\/nodes\/wpt-query\//)],
  ['Dashboard 2.0 widgets (ui-table, ui-chart: store and clone)', has(/node-red-dashboard\//)],
  [
    'DLM allocator (engine timers, allocation)',
    has(/dist\/nodes\/wpt-dlm-allocator\/|dist\/core\/dlm\/engine/),
  ],
  [
    'MQTT in (broker, mqtt in, registry, SoC tracker, validate)',
    has(/aedes|mqtt-packet|10-mqtt\.js|wpt-hub-registry|wpt-soc-tracker|wpt-validate/),
  ],
  ['PostgreSQL (wpt-store, pg)', has(/wpt-store|node_modules\/pg\//)],
  ['Node-RED message cloning (lodash.clonedeep)', has(/lodash\.clonedeep/)],
  ['i18n (RED._, e.g. node status texts)', has(/i18next/)],
  [
    'HTTP path without the flow (node:http, express, http in/response, middleware)',
    (st) => /_http_|express\/|21-httpin|body-parser|passport|writev/.test(st) && !/dist\/nodes\//.test(st),
  ],
  ['garbage collector', has(/^\(garbage collector\) /)],
  ['idle', has(/^\(idle\) /)],
];

function summariseProfile(file: string, windows: Array<[number, number]>, label: string): string[] {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const inWindow = (t: number): boolean => windows.some(([a, b]) => t >= a && t <= b);
  const self = new Map<number, number>();
  let t = p.startTime;
  let total = 0;
  let totalAll = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    t += dt;
    totalAll += dt;
    if (!inWindow(t)) continue;
    total += dt;
    const id = p.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + dt);
  }
  const scoped = total > 0;
  if (!scoped) {
    // The clocks did not line up: the whole profile.
    for (let i = 0; i < p.samples.length; i++) {
      const id = p.samples[i]!;
      self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
    }
    total = totalAll;
  }
  const byCat = new Map<string, number>();
  const byFn = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id);
    if (!n) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    const cat = category(url, functionName || '(anonymous)');
    byCat.set(cat, (byCat.get(cat) ?? 0) + us);
    const short = url.replace(/^.*node_modules\//, '').replace(/^.*\/dist\//, 'dist/');
    const key = `${functionName || '(anonymous)'} ${short ? `${short}:${lineNumber + 1}` : ''}`.trim();
    byFn.set(key, (byFn.get(key) ?? 0) + us);
  }
  // Inclusive time by component: a sample counts for a component when a frame of its stack
  // belongs to it (components may overlap).
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stackOf = (id: number): string => {
    const frames: string[] = [];
    for (let q: number | undefined = id; q !== undefined; q = parent.get(q)) {
      const cf = byId.get(q)?.callFrame;
      if (cf) frames.push(`${cf.functionName} ${cf.url}`);
    }
    return frames.join('\n');
  };
  const byComponent = new Map<string, number>(COMPONENTS.map(([name]) => [name, 0]));
  for (const [id, us] of self) {
    const st = stackOf(id);
    for (const [name, test] of COMPONENTS)
      if (test(st)) byComponent.set(name, (byComponent.get(name) ?? 0) + us);
  }
  const pc = (us: number): string => `${((100 * us) / total).toFixed(1)} %`;
  const top = (m: Map<string, number>, k: number): string[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([name, us]) => `| ${name.replace(/\|/g, '\\|')} | ${pc(us)} |`);
  return [
    `${label}: samples ${scoped ? 'inside the measured windows' : 'of the whole run (the clocks did not line up)'}: ${(total / 1e6).toFixed(1)} s of the runtime's main thread.`,
    '',
    '| inclusive time by component (may overlap) | share |',
    '|---|---:|',
    ...[...byComponent.entries()].map(([name, us]) => `| ${name} | ${pc(us)} |`),
    '',
    '| self time by package | share |',
    '|---|---:|',
    ...top(byCat, 15),
    '',
    '| self time by function | share |',
    '|---|---:|',
    ...top(byFn, 25),
  ];
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const opt = args();

  const cpus = os.cpus();
  const machine = `${cpus[0]?.model ?? 'unknown cpu'}, ${cpus.length} cores (os.cpus), ${(os.totalmem() / 2 ** 30).toFixed(1)} GB, node ${process.version}, ${os.platform()} ${os.arch()}`;
  const command = ['npx tsx', 'bench/api-http.ts', ...process.argv.slice(2)].join(' ');
  console.log(`command: ${command}`);
  console.log(`machine: ${machine}`);
  console.log(`load average at start (1/5/15 min): ${loadavg()}`);

  const profDir = opt.profile ? fs.mkdtempSync(path.join(os.tmpdir(), 'wpt-bench-prof-')) : null;
  const rt = await startRuntime({
    env: {
      WPT_LOG_LEVEL: 'warn',
      ...(profDir || opt.nodeOptions
        ? {
            NODE_OPTIONS: [profDir ? `--cpu-prof --cpu-prof-dir=${profDir}` : '', opt.nodeOptions]
              .filter(Boolean)
              .join(' '),
          }
        : {}),
    },
    timeoutMs: 120000,
  });
  const pid = rt.proc.pid!;
  console.log(`runtime pid ${pid} at ${rt.url}, broker ${rt.mqttUrl}`);
  const client = await mqtt.connectAsync(rt.mqttUrl, { clientId: `wpt-bench-http-${process.pid}` });
  let heartbeat: NodeJS.Timeout | undefined;
  let stopping = false;

  const publishAll = async (msgs: Msg[]): Promise<void> => {
    for (let i = 0; i < msgs.length; i += 500) {
      await Promise.all(
        msgs
          .slice(i, i + 500)
          .map((m) => client.publishAsync(m.topic, m.payload, { qos: m.qos, retain: m.retain })),
      );
    }
  };
  const api = async (p: string): Promise<{ status: number; body: unknown }> => {
    const r = await fetch(`${rt.url}${p}`, { headers: { Authorization: `Bearer ${rt.apiToken}` } });
    return { status: r.status, body: await r.json() };
  };
  interface HubsBody {
    total: number;
    items: Array<{ available: boolean; nodes: Array<{ state: string; vehicle_id: string | null }> }>;
  }
  const fleetSeen = async (): Promise<{
    hubs: number;
    available: number;
    nodes: number;
    charging: number;
  }> => {
    const r = await api('/api/hubs');
    const b = r.body as HubsBody;
    let nodes = 0;
    let charging = 0;
    let available = 0;
    for (const h of b.items ?? []) {
      if (h.available) available++;
      nodes += h.nodes.length;
      charging += h.nodes.filter((n) => n.state === 'charging' && n.vehicle_id).length;
    }
    return { hubs: b.total ?? 0, available, nodes, charging };
  };
  const waitFor = async (
    label: string,
    okFn: (s: Awaited<ReturnType<typeof fleetSeen>>) => boolean,
    ms: number,
  ): Promise<boolean> => {
    const end = Date.now() + ms;
    for (;;) {
      const s = await fleetSeen();
      if (okFn(s)) {
        console.log(`${label}: ${JSON.stringify(s)}`);
        return true;
      }
      if (Date.now() > end) {
        console.log(`${label}: NOT complete after ${ms / 1000} s: ${JSON.stringify(s)}`);
        return false;
      }
      await sleep(500);
    }
  };

  const rows: Row[] = [];
  const profileWindows = new Map<string, { endpoint: string; windows: Array<[number, number]> }>();
  let idleCpu = NaN;
  let fleetNote: string;
  try {
    const rnd = mulberry32(opt.seed);
    const fleet = makeFleet(opt.hubs, opt.nodes, rnd);
    const expectedCharging = fleet.reduce((s, h) => s + h.nodes.filter((n) => n.vehicle).length, 0);
    const t0 = Date.now();
    const hubMsgs = hubMessages(fleet);
    await publishAll(hubMsgs);
    // Heartbeat: every hub's status every 3 s, in 10 slices 300 ms apart.
    let slice = 0;
    heartbeat = setInterval(() => {
      if (stopping) return;
      const per = Math.ceil(fleet.length / 10);
      const part = fleet.slice(slice * per, (slice + 1) * per);
      slice = (slice + 1) % 10;
      void publishAll(part.map(hubStatus)).catch(() => {});
    }, 300);
    if (!(await waitFor('hubs seen', (s) => s.hubs >= opt.hubs, 60000))) await publishAll(hubMsgs);
    const nodeMsgs = nodeMessages(fleet);
    await publishAll(nodeMsgs);
    const complete = (s: Awaited<ReturnType<typeof fleetSeen>>): boolean =>
      s.hubs === opt.hubs &&
      s.available === opt.hubs &&
      s.nodes === opt.hubs * opt.nodes &&
      s.charging === expectedCharging;
    if (!(await waitFor('fleet seen', complete, 60000))) {
      await publishAll(nodeMsgs); // once more: a QoS 0 message may have been dropped
      await waitFor('fleet seen (after re-publishing)', complete, 60000);
    }
    const loaded = (Date.now() - t0) / 1000;
    const msgCount = hubMsgs.length + nodeMsgs.length;
    console.log(`fleet published (${msgCount} messages) and visible in ${loaded.toFixed(1)} s`);

    // Let the DLM, the store and the SoC tracker finish with the burst.
    let settle = 0;
    for (let i = 0; i < 30; i++) {
      const c0 = cpuSeconds(pid);
      await sleep(1000);
      idleCpu = (cpuSeconds(pid) - c0) * 100;
      settle = i + 1;
      if (idleCpu < 25) break;
    }
    console.log(
      `settled after ${settle} s: runtime CPU ${idleCpu.toFixed(0)} % of one core (heartbeats only)`,
    );
    // --observe S: watch the runtime with only the heartbeats for S seconds (its background cost).
    for (let t = 0; t < opt.observeS; t += 5) {
      const c0 = cpuSeconds(pid);
      await sleep(5000);
      console.log(
        `observe +${t + 5} s: runtime CPU ${(((cpuSeconds(pid) - c0) / 5) * 100).toFixed(0)} %, RSS ${rssMb(pid).toFixed(0)} MB, load ${loadavg()}`,
      );
    }
    fleetNote = `${opt.hubs} hubs × ${opt.nodes} nodes (${expectedCharging} charging a vehicle, with node and vehicle telemetry), ${msgCount} messages published and visible through the API in ${loaded.toFixed(1)} s; hub status re-sent every 3 s (${(opt.hubs / 3).toFixed(0)} msg/s) during the runs; runtime CPU with only that background: ${idleCpu.toFixed(0)} % of one core`;

    const between = (lo: number, hi: number): number => lo + (hi - lo) * rnd();
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
    const recBodies: GenRequest[] = Array.from({ length: 4000 }, () => ({
      method: 'POST' as const,
      path: '/api/recommendations',
      body: JSON.stringify({
        latitude: between(LAT[0], LAT[1]),
        longitude: between(LON[0], LON[1]),
        battery_level: Math.round(between(10, 70)),
        battery_capacity_kwh: pick([40, 60, 77, 100]),
        limit: 3,
      }),
    }));
    const hubGets: GenRequest[] = Array.from({ length: 4000 }, () => ({
      method: 'GET' as const,
      path: `/api/hubs/${pick(fleet).hubId}`,
    }));
    const health: GenRequest[] = [{ method: 'GET', path: '/api/health' }];

    const cases: Array<{ key: string; endpoint: string; reqs: GenRequest[]; ts: string }> = [
      {
        key: 'recommend',
        endpoint: 'POST /api/recommendations',
        reqs: recBodies,
        ts: `${opt.hubs.toLocaleString('en')} → 0`,
      },
      { key: 'hub', endpoint: 'GET /api/hubs/{hub_id}', reqs: hubGets, ts: '— → 0' },
      { key: 'health', endpoint: 'GET /api/health', reqs: health, ts: '— → 0' },
    ];
    for (const c of cases) {
      if (!opt.only.has(c.key)) continue;
      for (const conc of opt.concurrency) {
        const loadBefore = loadavg();
        let cpuStart = NaN;
        const tm = setTimeout(() => (cpuStart = cpuSeconds(pid)), opt.warmupS * 1000);
        const r = await runGenerator({
          url: rt.url,
          token: rt.apiToken,
          requests: c.reqs,
          concurrency: conc,
          warmupMs: opt.warmupS * 1000,
          durationMs: opt.durationS * 1000,
        });
        clearTimeout(tm);
        const serverCpu = ((cpuSeconds(pid) - cpuStart) / opt.durationS) * 100;
        const pw = profileWindows.get(c.key) ?? { endpoint: c.endpoint, windows: [] };
        pw.windows.push([r.windowStartUs, r.windowEndUs]);
        profileWindows.set(c.key, pw);
        const pct = percentiles(r.latUs);
        const ok = r.statuses['200'] ?? 0;
        const notFound = c.key === 'recommend' ? (r.statuses['404'] ?? 0) : 0;
        const other = Object.entries(r.statuses)
          .filter(([s]) => s !== '200' && !(c.key === 'recommend' && s === '404'))
          .reduce((s, [, n]) => s + n, 0);
        const row: Row = {
          endpoint: c.endpoint,
          concurrency: conc,
          pct,
          rps: (pct.n + r.errors) / opt.durationS,
          ok,
          notFound,
          other,
          errors: r.errors,
          firstError: r.firstError,
          serverCpu,
          loadBefore,
          loadAfter: loadavg(),
          rssAfterMb: rssMb(pid),
          tsQueries: c.ts,
          durationS: opt.durationS,
        };
        rows.push(row);
        console.log(
          `${c.endpoint} c=${conc}: ${row.rps.toFixed(0)} req/s, p50 ${ms(pct.p50)} p90 ${ms(pct.p90)} p99 ${ms(pct.p99)} max ${ms(pct.max)} ms; 200 ${ok}, 404 ${notFound}, other ${other}, errors ${r.errors}${r.firstError ? ` (${r.firstError})` : ''}; server CPU ${serverCpu.toFixed(0)} % (${cpuPerReq(row)} ms/request), RSS ${row.rssAfterMb.toFixed(0)} MB; load ${row.loadBefore} → ${row.loadAfter}`,
        );
        if (other > 0) console.log(`  statuses: ${JSON.stringify(r.statuses)}`);
        await sleep(1000);
      }
    }
  } finally {
    stopping = true;
    if (heartbeat) clearInterval(heartbeat);
    console.log(`runtime RSS at the end: ${rssMb(pid).toFixed(0)} MB`);
    await client.endAsync().catch(() => {});
    await rt.stop();
    if (opt.runtimeLog) {
      fs.writeFileSync(opt.runtimeLog, rt.output());
      console.log(`runtime output written to ${opt.runtimeLog}`);
    }
    fs.rmSync(rt.userDir, { recursive: true, force: true });
  }

  const profileLines: string[] = [];
  if (profDir) {
    const files = fs
      .readdirSync(profDir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => path.join(profDir, f))
      .sort((a, b) => fs.statSync(b).size - fs.statSync(a).size);
    if (files[0]) {
      for (const { endpoint, windows } of profileWindows.values())
        profileLines.push(...summariseProfile(files[0], windows, endpoint), '');
      console.log(`\nCPU profile of the runtime: ${files[0]}\n${profileLines.join('\n')}\n`);
    } else console.log(`no .cpuprofile written in ${profDir}`);
  }

  const recRows = rows.filter((r) => r.endpoint.startsWith('POST'));
  const meets = recRows.filter((r) => r.rps >= 2000 && r.pct.p99 < 20000 && r.errors + r.other === 0);
  const best = [...recRows].sort((a, b) => b.rps - a.rps)[0];
  const verdict = meets.length
    ? `met at concurrency ${meets.map((r) => r.concurrency).join(', ')}`
    : `NOT met${best ? ` (best: ${best.rps.toFixed(0)} req/s at concurrency ${best.concurrency}, p99 ${ms(best.pct.p99)} ms)` : ''}`;
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const lines = [
    '# REST API over HTTP (real runtime)',
    '',
    `- date: ${date}`,
    `- machine: ${machine}`,
    `- command: \`${command}\` (duration ${opt.durationS} s per run after a ${opt.warmupS} s warm-up, seed ${opt.seed})`,
    `- runtime: \`node dist/runtime/cli.js\` (Node-RED, shipped flows, embedded broker, PostgreSQL${process.env.DATABASE_URL ? ' from DATABASE_URL' : ' embedded'}, Influx off), started by test/helpers/runtime.ts`,
    `- fleet: ${fleetNote}`,
    '- load generator: closed loop in a worker thread of the bench process (the server is its own process), N keep-alive connections, each sending its next request when the answer is read; latency from sending to the last byte of the answer',
    `- recommendation requests: random positions over ~445 km × 475 km (the fleet's region), battery 10–70 %, capacity 40/60/77/100 kWh, limit 3; 404 = no reachable hub (a valid answer)`,
    `- server CPU: utime + stime of the runtime process over the measured window, % of one core (Node-RED runs on one thread; above 100 %: V8's GC and libuv threads), and that CPU time divided by the requests answered (1,000 ÷ it = the req/s one free core could serve, if the runtime had no background work); load average: 1/5/15 min before → after each run (2 cores shared with other work)`,
    `- target (issue): POST /api/recommendations ≥ 2,000 req/s with p99 < 20 ms on this 2-core machine — ${verdict}. In a closed loop the mean latency is concurrency ÷ throughput, so p99 < 20 ms at 2,000 req/s is only possible below ~40 connections`,
    '',
    '| endpoint | conn. | requests | req/s | p50 ms | p90 ms | p99 ms | max ms | 200 | 404 | other / errors | server CPU | server CPU ms / request | runtime RSS after | load avg before → after | time-series queries per request (original → ours) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.endpoint} | ${r.concurrency} | ${r.pct.n + r.errors} | ${r.rps.toFixed(0)} | ${ms(r.pct.p50)} | ${ms(r.pct.p90)} | ${ms(r.pct.p99)} | ${ms(r.pct.max)} | ${r.ok} | ${r.endpoint.startsWith('POST') ? r.notFound : '—'} | ${r.other} / ${r.errors} | ${r.serverCpu.toFixed(0)} % | ${cpuPerReq(r)} | ${r.rssAfterMb.toFixed(0)} MB | ${r.loadBefore} → ${r.loadAfter} | ${r.tsQueries} |`,
    ),
    '',
    `Original design: a recommendation issued one time-series (InfluxDB) query per hub to read its`,
    `current load, i.e. ${opt.hubs.toLocaleString('en')} queries per request at ${opt.hubs.toLocaleString('en')} hubs (N for N hubs), each a network`,
    `round-trip; at an assumed 1 ms per query that is ≥ ${opt.hubs.toLocaleString('en')} ms per request and ≤ 1 req/s per connection.`,
    `Here: 0 queries: the recommender reads the live twin in memory (its view is rebuilt at most every 250 ms).`,
    `GET /api/hubs/{hub_id} and GET /api/health are listed for comparison: the cost of Node-RED's HTTP`,
    `path with a trivial flow (health also checks its dependencies' state).`,
    '',
    'The runs go in the order of the table against one runtime (its RSS after each run is in the',
    'table). The max column is the longest pause of the runtime during a run: in-process work that',
    'does not come from the requests (the dashboard refresh every 2 s, GC, the DLM timers) and the',
    'other processes on the 2 cores; `--profile` shows where the time goes (see docs/benchmarks.md).',
    '',
    ...(profileLines.length
      ? ['## Where the runtime spends its time (--cpu-prof)', '', ...profileLines, '']
      : []),
  ];
  const text = lines.join('\n');
  process.stdout.write(`\n${text}`);
  if (!opt.profile && !opt.noWrite) {
    const out = path.join(__dirname, 'results', 'api-http.md');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, text);
    process.stdout.write(`written to ${path.relative(process.cwd(), out)}\n`);
  }
}

/** Runtime CPU time per answered request, ms (less sensitive to a busy machine than req/s). */
function cpuPerReq(r: Row): string {
  const n = r.pct.n + r.errors;
  return n > 0 && Number.isFinite(r.serverCpu) ? ((r.serverCpu * 10 * r.durationS) / n).toFixed(2) : '—';
}

function ms(us: number): string {
  return (us / 1000).toFixed(2);
}

if (isMainThread) {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}

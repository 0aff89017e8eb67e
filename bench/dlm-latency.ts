/**
 * DLM latency through a real broker: from a VehicleRequest published on
 * iot/hubs/{hub}/requests to its first DLMNotification received on iot/hubs/{hub}/dlm/events,
 * with ~5,000 msg/s of node telemetry in the background (published by a child process).
 *
 * Node-RED runs in this process (node-red-node-test-helper) with the flow of the shipped
 * tabs: mqtt in → wpt-hub-registry / wpt-soc-tracker / wpt-validate → wpt-dlm-allocator →
 * mqtt out. Broker: MQTT_URL, else an embedded aedes in this process. Hubs have capacity
 * for all their nodes, so a request's increase never waits for a confirmation (that would
 * measure the hub's telemetry period, not the orchestrator). Run once with the coalescing
 * window off (coalesceMs 0: the processing path) and once with the default 50 ms.
 *
 * Sockets: run twice, each in its own child process of this script: as the launcher
 * (`node dist/runtime/cli.js`) sets them — TCP_NODELAY on the process's outgoing connections
 * (runtime/tcp-nodelay.ts) and on the embedded broker — and with Node's defaults on the
 * outgoing connections (our nodes in another Node-RED; the embedded broker keeps noDelay).
 * DLM_BENCH_SOCKETS=launcher|node-defaults|every-socket runs one of them (or TCP_NODELAY on
 * every socket) in this process, prints it and leaves the results file alone.
 * The test helper's sinon spies on Node.prototype are removed once the flow is loaded (the
 * shipped runtime has none); DLM_BENCH_KEEP_SPIES=1 keeps them.
 *
 * Prints figures only (no assertions). Run: npx tsx bench/dlm-latency.ts [requests] [telemetry msg/s]
 * Writes bench/results/dlm-latency.md.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import mqtt from 'mqtt';
import { DLM_FLOW_NODES, dlmFlow } from '../test/helpers/dlm-flow';
import { nr } from '../test/helpers/node-red';
import { mqttUrl, stopServices } from '../test/helpers/services';
import { sleep } from '../test/helpers/wait';
import { formatTimestamp } from '../core/contract';
import { preferNoDelay } from '../runtime/tcp-nodelay';

const REQUESTS = Number(process.argv[2] ?? 300);
const TELEMETRY_RATE = Number(process.argv[3] ?? 5000);
const HUBS = 10;
const NODES_PER_HUB = 50;
const REQUEST_GAP_MS = 40;

type Sockets = 'launcher' | 'node-defaults' | 'every-socket';
const SOCKET_MODES: readonly Sockets[] = ['launcher', 'node-defaults'];
const SOCKET_TITLES: Record<Sockets, string> = {
  launcher:
    'As the launcher runs it (`node dist/runtime/cli.js`: TCP_NODELAY on outgoing connections and on the embedded broker)',
  'node-defaults':
    "Node's socket defaults on the outgoing connections (our nodes in another Node-RED; the embedded broker keeps TCP_NODELAY)",
  'every-socket': 'TCP_NODELAY on every socket of the process',
};
// DLM_BENCH_NODELAY=1 (older name): every-socket.
const SOCKETS_ENV =
  process.env.DLM_BENCH_SOCKETS ?? (process.env.DLM_BENCH_NODELAY === '1' ? 'every-socket' : undefined);
if (SOCKETS_ENV !== undefined && !(SOCKETS_ENV in SOCKET_TITLES)) {
  console.error(`DLM_BENCH_SOCKETS: launcher, node-defaults or every-socket (got ${SOCKETS_ENV})`);
  process.exit(2);
}
const SOCKETS = SOCKETS_ENV as Sockets | undefined;
/** Set in the child processes of a full run: print results as JSON lines for the parent. */
const CHILD = process.env.DLM_BENCH_CHILD === '1';
if (SOCKETS === 'launcher') preferNoDelay();
// every-socket: TCP_NODELAY on every socket of this process (Node-RED's MQTT client, the
// bench's client, the embedded broker).
if (SOCKETS === 'every-socket') {
  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
    this.setNoDelay(true);
    return (connect as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof connect;
  type Emit = (this: net.Server, event: string, ...args: unknown[]) => boolean;
  const emit = net.Server.prototype.emit as Emit;
  (net.Server.prototype as { emit: Emit }).emit = function (
    this: net.Server,
    event: string,
    ...args: unknown[]
  ) {
    if (event === 'connection') (args[0] as net.Socket).setNoDelay(true);
    return emit.call(this, event, ...args);
  };
}

const hubId = (h: number) => `hub_b${String(h).padStart(2, '0')}`;
const nodeId = (n: number) => `node_${String(n).padStart(3, '0')}`;

function machine(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model ?? 'unknown cpu'} × ${cpus.length} (os.cpus), node ${process.version}, ${os.platform()} ${os.arch()}`;
}

function pct(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/** Child process publishing node telemetry at `rate` msg/s (QoS 0) over all nodes. */
function startTelemetryLoad(url: string, rate: number) {
  const script = `
    const mqtt = require('mqtt');
    const [url, rate, hubs, nodes] = process.argv.slice(1);
    const c = mqtt.connect(url, { clientId: 'wpt-bench-load-' + process.pid });
    let sent = 0, i = 0;
    const topics = [];
    for (let h = 0; h < +hubs; h++) for (let n = 1; n <= +nodes; n++)
      topics.push('iot/hubs/hub_b' + String(h).padStart(2, '0') + '/nodes/node_' + String(n).padStart(3, '0') + '/telemetry');
    c.on('connect', () => {
      const perTick = Math.max(1, Math.round(+rate / 100));
      const start = Date.now();
      setInterval(() => {
        const due = Math.floor(((Date.now() - start) / 1000) * +rate) - sent;
        for (let k = 0; k < Math.min(due, perTick * 3); k++) {
          const ts = new Date().toISOString().slice(0, -1) + '000Z';
          c.publish(topics[i++ % topics.length], JSON.stringify({ voltage: 0, current: 0, power_kw: 0, power_limit_kw: 0,
            is_occupied: false, connected_vehicle_id: 'n/a', current_vehicle_soc: 0, timestamp: ts }));
          sent++;
        }
      }, 10);
      setInterval(() => process.stdout.write(sent + '\\n'), 1000);
    });
  `;
  const child = spawn(
    process.execPath,
    ['-e', script, url, String(rate), String(HUBS), String(NODES_PER_HUB)],
    {
      cwd: path.resolve(__dirname, '..'),
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let sent = 0;
  child.stdout.on('data', (d: Buffer) => {
    const last = d.toString().trim().split('\n').pop();
    if (last) sent = Number(last);
  });
  return { child, sent: () => sent };
}

async function run(url: string, coalesceMs: number, round: number) {
  const prefix = `iot/hubs/`;
  await nr.load(
    DLM_FLOW_NODES,
    dlmFlow({
      brokerUrl: url,
      hub: '+',
      streamQos: '0',
      fleet: { staleAfterS: 60 },
      allocator: { coalesceMs },
    }),
  );
  // node-red-node-test-helper wraps Node.prototype's log/status/warn/error/debug/trace/send in
  // sinon spies that record every call (arguments kept until unload) and emit a `call:` event
  // per call: ~20 % of this process's CPU and a growing heap at 5,000 msg/s, a cost the
  // shipped runtime does not have. Undo them for the measured run (unload restores again: a
  // no-op).
  if (!process.env.DLM_BENCH_KEEP_SPIES) {
    (nr as unknown as { _sandbox: { restore(): void } })._sandbox.restore();
  }
  const client = await mqtt.connectAsync(url, { clientId: `wpt-bench-dlm-${process.pid}-${round}` });
  const waiting = new Map<string, number>();
  const latencies: number[] = [];
  client.on('message', (topic, payload) => {
    const hub = topic.split('/')[2] as string;
    const e = JSON.parse(payload.toString()) as { affected_node_id: string; new_limit: number };
    const key = `${hub}/${e.affected_node_id}`;
    const t0 = waiting.get(key);
    if (t0 !== undefined && e.new_limit > 0) {
      latencies.push(performance.now() - t0);
      waiting.delete(key);
    }
  });
  await client.subscribeAsync('iot/hubs/+/dlm/events', { qos: 1 });
  while (!(nr.getNode('b1') as unknown as { connected?: boolean }).connected) await sleep(20);
  await sleep(300);
  const ts = () => formatTimestamp(Date.now());
  for (let h = 0; h < HUBS; h++) {
    const hub = hubId(h);
    await client.publishAsync(
      `${prefix}${hub}/info`,
      JSON.stringify({
        hub_id: hub,
        location: { latitude: 44.6, longitude: 10.9 },
        max_grid_capacity_kw: 1000,
        ip_address: '10.0.0.1',
        firmware_version: '1.0.0',
      }),
      { qos: 1 },
    );
    await client.publishAsync(
      `${prefix}${hub}/status`,
      JSON.stringify({ state: 'online', cpu_temp: 40, timestamp: ts() }),
    );
    for (let n = 1; n <= NODES_PER_HUB; n++) {
      const node = nodeId(n);
      await client.publishAsync(
        `${prefix}${hub}/nodes/${node}/info`,
        JSON.stringify({ node_id: node, hub_id: hub, max_power_kw: 20 }),
        { qos: 1 },
      );
      await client.publishAsync(
        `${prefix}${hub}/nodes/${node}/status`,
        JSON.stringify({ state: 'idle', current_vehicle_id: null, error_code: 0, timestamp: ts() }),
      );
    }
  }
  await sleep(1000);
  const load = startTelemetryLoad(url, TELEMETRY_RATE);
  await sleep(2000); // load running
  const sentAtStart = load.sent();
  const started = Date.now();
  let k = 0;
  for (let i = 0; i < REQUESTS; i++) {
    const hub = hubId(i % HUBS);
    const node = nodeId(1 + (Math.floor(i / HUBS) % NODES_PER_HUB));
    const key = `${hub}/${node}`;
    waiting.set(key, performance.now());
    await client.publishAsync(
      `${prefix}${hub}/requests`,
      JSON.stringify({
        vehicle_id: `veh_${round}_${k++}`,
        node_id: node,
        soc_percent: 20 + (i % 60),
        timestamp: ts(),
      }),
      { qos: 1 },
    );
    await sleep(REQUEST_GAP_MS);
  }
  await sleep(500);
  const seconds = (Date.now() - started) / 1000;
  const telemetryRate = (load.sent() - sentAtStart) / seconds;
  load.child.kill();
  await client.endAsync();
  await nr.unload();
  latencies.sort((a, b) => a - b);
  return { coalesceMs, latencies, lost: waiting.size, telemetryRate };
}

interface Row {
  coalesceMs: number;
  answered: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  telemetryRate: number;
}

function tableLines(rows: Row[]): string[] {
  return [
    '| coalesceMs | requests answered | p50 ms | p90 ms | p99 ms | max ms | telemetry msg/s during the run |',
    '|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.coalesceMs} | ${r.answered}/${REQUESTS} | ${r.p50.toFixed(1)} | ${r.p90.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.max.toFixed(1)} | ${Math.round(r.telemetryRate)} |`,
    ),
  ];
}

/** One socket mode, in this process: both coalescing windows. */
async function measure(): Promise<Row[]> {
  const url = await mqttUrl();
  await nr.startServer();
  const rows: Row[] = [];
  let round = 0;
  for (const coalesceMs of [0, 50]) {
    const r = await run(url, coalesceMs, round++);
    const l = r.latencies;
    const row: Row = {
      coalesceMs,
      answered: l.length,
      p50: pct(l, 50),
      p90: pct(l, 90),
      p99: pct(l, 99),
      max: l[l.length - 1] ?? NaN,
      telemetryRate: r.telemetryRate,
    };
    rows.push(row);
    if (CHILD) console.log('RESULT ' + JSON.stringify(row));
    else console.log(tableLines([row]).slice(-1)[0]);
  }
  await nr.stopServer();
  await stopServices();
  return rows;
}

/** Runs this script in a child process with the given socket mode; its result rows. */
function child(mode: Sockets): Promise<Row[]> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [...process.execArgv, __filename, ...process.argv.slice(2)], {
      env: { ...process.env, DLM_BENCH_SOCKETS: mode, DLM_BENCH_CHILD: '1', DLM_BENCH_NODELAY: '' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const rows: Row[] = [];
    let buf = '';
    proc.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let k: number;
      while ((k = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, k);
        buf = buf.slice(k + 1);
        if (line.startsWith('RESULT ')) rows.push(JSON.parse(line.slice(7)) as Row);
      }
    });
    proc.on('error', reject);
    proc.on('exit', (code) =>
      code === 0 ? resolve(rows) : reject(new Error(`${mode}: child exited with ${code}`)),
    );
  });
}

async function main(): Promise<void> {
  if (SOCKETS) {
    if (!CHILD) console.log(`${SOCKET_TITLES[SOCKETS]}\n\n${tableLines([]).join('\n')}`);
    await measure();
    process.exit(0);
  }
  const lines: string[] = [];
  const say = (s: string) => {
    console.log(s);
    lines.push(s);
  };
  say('# DLM latency: request → dlm event through the broker');
  say('');
  say(`- machine: ${machine()}`);
  say(`- command: \`npx tsx bench/dlm-latency.ts ${REQUESTS} ${TELEMETRY_RATE}\``);
  say(`- run: ${new Date().toISOString()}, load average before (1/5/15 min): ${loadavg()}`);
  say(
    `- setup: Node-RED in-process (test helper), broker ${process.env.MQTT_URL ? 'MQTT_URL' : 'embedded aedes in the same process (runtime/embedded-broker.ts)'}, ${HUBS} hubs × ${NODES_PER_HUB} nodes, ${REQUESTS} requests ${REQUEST_GAP_MS} ms apart, background node telemetry from a child process; each socket setting in its own process`,
  );
  for (const mode of SOCKET_MODES) {
    say('');
    say(`## ${SOCKET_TITLES[mode]}`);
    say('');
    for (const l of tableLines(await child(mode))) say(l);
  }
  say('');
  say(`- load average after (1/5/15 min): ${loadavg()}`);
  say(
    '- Target: p99 < 25 ms with ~5,000 msg/s of telemetry, at the default coalescing window (50 ms): a request arriving when no allocation is pending is allocated at once (leading edge); triggers arriving within the window after it wait for the window and are one allocation. coalesceMs 0 is the processing path alone.',
  );
  const out = path.join(__dirname, 'results', 'dlm-latency.md');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, lines.join('\n') + '\n');
  console.log(`\nwritten: ${path.relative(process.cwd(), out)}`);
  process.exit(0);
}

function loadavg(): string {
  return os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

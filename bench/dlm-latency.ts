/**
 * DLM latency in a stock Node-RED: from a VehicleRequest published on iot/hubs/{hub}/requests to
 * its first DLMNotification received on iot/hubs/{hub}/dlm/events, with ~5,000 msg/s of node
 * telemetry in the background (published by a child process).
 *
 * As an integrator runs it: the packed package installed into a stock Node-RED 5 (Node 22,
 * installed from npm once and cached, default settings, nothing of ours in the process), the
 * example "1 orchestration" deployed (mqtt in → wpt-decode → wpt-twin → wpt-dlm-allocator → mqtt
 * out, wpt-store), a Mosquitto configured as the compose deployment's (`set_tcp_nodelay true`; MQTT_URL
 * for another broker; BENCH_BROKER_NODELAY=0 for Mosquitto's default)
 * and PostgreSQL (DATABASE_URL, else a test database). Hubs have capacity for all their nodes, so
 * a request's increase never waits for a confirmation (that would measure the hubs' telemetry
 * period, not the orchestrator).
 *
 * Two runs: the example as shipped (the allocator's Broker property set: it puts the connection of
 * the DLM events in TCP_NODELAY mode) and with that property cleared (Node's defaults: Nagle's
 * algorithm and delayed acknowledgements on the publishing socket).
 *
 * Prints figures only (no assertions). Run: npm run build && npx tsx bench/dlm-latency.ts [requests] [telemetry msg/s]
 * Writes bench/results/dlm-latency.md.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import mqtt from 'mqtt';
import { formatTimestamp } from '../core/contract';
import { createTestDatabase, stopServices } from '../test/helpers/services';
import { sleep } from '../test/helpers/wait';
import {
  deploy,
  examplesOf,
  findNode,
  installNodeRed,
  packPackage,
  startStockNodeRed,
  userDirWith,
  type StockNodeRed,
} from '../test/helpers/stock-node-red';
import { PKG } from '../test/helpers/package-info';
import { startPlainMosquitto } from './lib/mosquitto';

const REQUESTS = Number(process.argv[2] ?? 300);
const TELEMETRY_RATE = Number(process.argv[3] ?? 5000);
const HUBS = 10;
const NODES_PER_HUB = 50;
const REQUEST_GAP_MS = 40;
const TOKEN = 'bench-token-0123456789abcdef';

/** Each run has hubs of its own (the first run's assignments are restored at the second deploy). */
const hubId = (h: number, round = 0) => `hub_r${round}_${String(h).padStart(2, '0')}`;
const nodeId = (n: number) => `node_${String(n).padStart(3, '0')}`;

function machine(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model ?? 'unknown cpu'} × ${cpus.length} (os.cpus), ${os.platform()} ${os.arch()}`;
}
const loadavg = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ');

function pct(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/** TCP_NODELAY on an MQTT.js client's socket (a device that sends each message at once). */
function noDelay(c: mqtt.MqttClient): void {
  (c.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
}

/** Child process publishing node telemetry at `rate` msg/s (QoS 0) over all nodes. */
function startTelemetryLoad(url: string, rate: number, round: number) {
  const script = `
    const mqtt = require('mqtt');
    const [url, rate, hubs, nodes, round] = process.argv.slice(1);
    const c = mqtt.connect(url, { clientId: 'wpt-bench-load-' + process.pid });
    let sent = 0, i = 0;
    const topics = [];
    for (let h = 0; h < +hubs; h++) for (let n = 1; n <= +nodes; n++)
      topics.push('iot/hubs/hub_r' + round + '_' + String(h).padStart(2, '0') + '/nodes/node_' + String(n).padStart(3, '0') + '/telemetry');
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
    ['-e', script, url, String(rate), String(HUBS), String(NODES_PER_HUB), String(round)],
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

interface Row {
  title: string;
  answered: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** Medians: request delivered to a subscriber / event stamped (ms resolution) / event received. */
  split: string;
  telemetryRate: number;
}

async function run(
  title: string,
  nr: StockNodeRed,
  flow: unknown[],
  url: string,
  round: number,
): Promise<Row> {
  const r = await deploy(nr.url, flow);
  if (!r.ok) throw new Error(`deploy: ${r.status} ${await r.text()}`);
  await sleep(3000); // flows started, broker connected, fleet restored
  const client = await mqtt.connectAsync(url, { clientId: `wpt-bench-dlm-${process.pid}-${round}` });
  // The driver app's requests leave at once (no Nagle delay behind its own PUBACKs): what is
  // measured is the orchestrator, not how long the sender's kernel holds a small packet.
  noDelay(client);
  const waiting = new Map<string, { t0: number; wall: number }>();
  const latencies: number[] = [];
  // Where the time goes: the request delivered by the broker to another subscriber (as to
  // Node-RED), and the event's own timestamp (stamped by the allocator, same clock).
  const delivered: number[] = [];
  const stamped: number[] = [];
  const tap = await mqtt.connectAsync(url, { clientId: `wpt-bench-tap-${process.pid}-${round}` });
  noDelay(tap);
  tap.on('message', (topic, payload) => {
    const e = JSON.parse(payload.toString()) as { node_id: string };
    const w = waiting.get(`${topic.split('/')[2]}/${e.node_id}`);
    if (w) delivered.push(performance.now() - w.t0);
  });
  await tap.subscribeAsync('iot/hubs/+/requests', { qos: 1 });
  client.on('message', (topic, payload) => {
    const hub = topic.split('/')[2] as string;
    const e = JSON.parse(payload.toString()) as {
      affected_node_id: string;
      new_limit: number;
      timestamp: string;
    };
    const key = `${hub}/${e.affected_node_id}`;
    const w = waiting.get(key);
    if (w !== undefined && e.new_limit > 0) {
      latencies.push(performance.now() - w.t0);
      stamped.push(Date.parse(e.timestamp) - w.wall);
      waiting.delete(key);
    }
  });
  await client.subscribeAsync('iot/hubs/+/dlm/events', { qos: 1 });
  const ts = () => formatTimestamp(Date.now());
  for (let h = 0; h < HUBS; h++) {
    const hub = hubId(h, round);
    await client.publishAsync(
      `iot/hubs/${hub}/info`,
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
      `iot/hubs/${hub}/status`,
      JSON.stringify({ state: 'online', cpu_temp: 40, timestamp: ts() }),
    );
    for (let n = 1; n <= NODES_PER_HUB; n++) {
      const node = nodeId(n);
      await client.publishAsync(
        `iot/hubs/${hub}/nodes/${node}/info`,
        JSON.stringify({ node_id: node, hub_id: hub, max_power_kw: 20 }),
        { qos: 1 },
      );
      await client.publishAsync(
        `iot/hubs/${hub}/nodes/${node}/status`,
        JSON.stringify({ state: 'idle', current_vehicle_id: null, error_code: 0, timestamp: ts() }),
      );
    }
  }
  await sleep(1500);
  const load = startTelemetryLoad(url, TELEMETRY_RATE, round);
  await sleep(3000); // load running (telemetry also keeps the hubs fresh)
  const sentAtStart = load.sent();
  const started = Date.now();
  for (let i = 0; i < REQUESTS; i++) {
    const hub = hubId(i % HUBS, round);
    const node = nodeId(1 + (Math.floor(i / HUBS) % NODES_PER_HUB));
    waiting.set(`${hub}/${node}`, { t0: performance.now(), wall: Date.now() });
    await client.publishAsync(
      `iot/hubs/${hub}/requests`,
      JSON.stringify({
        vehicle_id: `veh_${round}_${i}`,
        node_id: node,
        soc_percent: 20 + (i % 60),
        timestamp: ts(),
      }),
      { qos: 1 },
    );
    await sleep(REQUEST_GAP_MS);
  }
  await sleep(1000);
  const seconds = (Date.now() - started) / 1000;
  const telemetryRate = (load.sent() - sentAtStart) / seconds;
  load.child.kill();
  await client.endAsync();
  await tap.endAsync();
  latencies.sort((a, b) => a - b);
  delivered.sort((a, b) => a - b);
  stamped.sort((a, b) => a - b);
  return {
    title,
    answered: latencies.length,
    p50: pct(latencies, 50),
    p95: pct(latencies, 95),
    p99: pct(latencies, 99),
    max: latencies[latencies.length - 1] ?? NaN,
    split: `${pct(delivered, 50).toFixed(1)} / ${pct(stamped, 50).toFixed(0)} / ${pct(latencies, 50).toFixed(1)}`,
    telemetryRate,
  };
}

async function main(): Promise<void> {
  const node22 = findNode(22);
  if ('missing' in node22) throw new Error(`Node.js 22: ${node22.missing}`);
  const nodeRedVersion = PKG.devDependencies?.['node-red'] ?? '5.0.7';
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wpt-bench-latency-'));
  const lines: string[] = [];
  const say = (s: string) => {
    console.log(s);
    lines.push(s);
  };
  const tarball = await packPackage(work);
  const { redJs } = await installNodeRed(nodeRedVersion, node22);
  const userDir = await userDirWith(tarball, node22.bin);
  const brokerNoDelay = process.env.BENCH_BROKER_NODELAY !== '0';
  const mosquitto = process.env.MQTT_URL ? null : await startPlainMosquitto({ noDelay: brokerNoDelay });
  const url = process.env.MQTT_URL ?? mosquitto!.url;
  const db = await createTestDatabase('wpt_bench');
  const nr = await startStockNodeRed({
    node: node22.bin,
    redJs,
    userDir,
    env: { MQTT_URL: url, DATABASE_URL: db, INFLUX_URL: '', WPT_API_TOKEN: TOKEN },
  });
  try {
    const examples = await examplesOf(nr.url, PKG.name);
    const name = [...examples.keys()].find((k) => k.startsWith('1 orchestration'));
    if (!name) throw new Error(`no orchestration example among ${[...examples.keys()].join(', ')}`);
    const shipped = examples.get(name) as Array<Record<string, unknown>>;
    const withoutNoDelay = shipped.map((n) => (n.type === 'wpt-dlm-allocator' ? { ...n, broker: '' } : n));
    // The cost of storing each event before it goes out: wpt-store's wait bound at 0.
    const noWindow = shipped.map((n) => (n.type === 'wpt-dlm-allocator' ? { ...n, coalesceMs: 0 } : n));
    const noWriteAhead = shipped.map((n) => (n.type === 'wpt-store' ? { ...n, maxWaitMs: 0 } : n));
    say('# DLM latency in a stock Node-RED: request → dlm event through the broker');
    say('');
    say(`- machine: ${machine()}, Node-RED ${nodeRedVersion} on Node ${node22.version}, default settings`);
    say(`- command: \`npm run build && npx tsx bench/dlm-latency.ts ${REQUESTS} ${TELEMETRY_RATE}\``);
    say(`- run: ${new Date().toISOString()}, load average before (1/5/15 min): ${loadavg()}`);
    say(
      `- setup: the packed package in a stock Node-RED, example "${name}" deployed; broker ${process.env.MQTT_URL ? 'MQTT_URL' : brokerNoDelay ? 'Mosquitto with set_tcp_nodelay true (as docker/mosquitto/mosquitto.conf)' : 'Mosquitto with its default socket settings (BENCH_BROKER_NODELAY=0)'}; PostgreSQL; ${HUBS} hubs × ${NODES_PER_HUB} nodes, ${REQUESTS} requests ${REQUEST_GAP_MS} ms apart, background node telemetry from a child process`,
    );
    say('');
    say(
      '| allocator | requests answered | p50 ms | p95 ms | p99 ms | max ms | p50 request delivered / event stamped / received ms | telemetry msg/s during the run |',
    );
    say('|---|---|---|---|---|---|---|---|');
    let round = 0;
    for (const [title, flow] of [
      ['as shipped, first round after the start (cold: JIT, pools)', shipped],
      ['as shipped (Broker set: TCP_NODELAY on its connection)', shipped],
      ["Broker property cleared (Node's socket defaults)", withoutNoDelay],
      ['as shipped, events not waiting for their row (wpt-store wait bound 0 ms)', noWriteAhead],
      ['as shipped, coalescing window 0 ms', noWindow],
    ] as const) {
      const r = await run(title, nr, flow as unknown[], url, round++);
      say(
        `| ${r.title} | ${r.answered}/${REQUESTS} | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.max.toFixed(1)} | ${r.split} | ${Math.round(r.telemetryRate)} |`,
      );
    }
    say('');
    say(`- load average after (1/5/15 min): ${loadavg()}`);
    say(
      '- Target: p99 < 25 ms with ~5,000 msg/s of telemetry, default coalescing window (50 ms: a request arriving when no allocation is pending is allocated at once).',
    );
  } finally {
    await nr.stop();
    await mosquitto?.stop();
    await stopServices();
    fs.rmSync(userDir, { recursive: true, force: true });
    fs.rmSync(work, { recursive: true, force: true });
  }
  const out = path.join(__dirname, 'results', 'dlm-latency.md');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, lines.join('\n') + '\n');
  console.log(`\nwritten: ${path.relative(process.cwd(), out)}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);

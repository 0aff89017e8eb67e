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

const REQUESTS = Number(process.argv[2] ?? 300);
const TELEMETRY_RATE = Number(process.argv[3] ?? 5000);
const HUBS = 10;
const NODES_PER_HUB = 50;
const REQUEST_GAP_MS = 40;

// DLM_BENCH_NODELAY=1: TCP_NODELAY on every socket of this process (Node-RED's MQTT client,
// the embedded broker), to show what Nagle's algorithm + delayed ACKs add to small QoS 1 messages.
const NODELAY = process.env.DLM_BENCH_NODELAY === '1';
if (NODELAY) {
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

async function main(): Promise<void> {
  const url = await mqttUrl();
  await nr.startServer();
  const lines: string[] = [];
  const say = (s: string) => {
    console.log(s);
    lines.push(s);
  };
  say('# DLM latency: request → dlm event through the broker');
  say('');
  say(`- machine: ${machine()}`);
  say(`- command: \`npx tsx bench/dlm-latency.ts ${REQUESTS} ${TELEMETRY_RATE}\``);
  say(
    `- setup: Node-RED in-process (test helper), broker ${process.env.MQTT_URL ? 'MQTT_URL' : 'embedded aedes in the same process'}, ${HUBS} hubs × ${NODES_PER_HUB} nodes, ${REQUESTS} requests ${REQUEST_GAP_MS} ms apart, background node telemetry from a child process`,
  );
  say('');
  say(
    '| coalesceMs | requests answered | p50 ms | p90 ms | p99 ms | max ms | telemetry msg/s during the run |',
  );
  say('|---|---|---|---|---|---|---|');
  let round = 0;
  for (const coalesceMs of [0, 50]) {
    const r = await run(url, coalesceMs, round++);
    const l = r.latencies;
    say(
      `| ${coalesceMs} | ${l.length}/${REQUESTS} | ${pct(l, 50).toFixed(1)} | ${pct(l, 90).toFixed(1)} | ${pct(l, 99).toFixed(1)} | ${(l[l.length - 1] ?? NaN).toFixed(1)} | ${Math.round(r.telemetryRate)} |`,
    );
  }
  say('');
  say(
    'Target: p99 < 25 ms for the processing path (coalesceMs 0). With the default coalescing window every request waits up to the window (50 ms) so that a burst of triggers is one allocation.',
  );
  await nr.stopServer();
  await stopServices();
  const out = path.join(__dirname, 'results', 'dlm-latency.md');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, lines.join('\n') + '\n');
  console.log(`\nwritten: ${path.relative(process.cwd(), out)}`);
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

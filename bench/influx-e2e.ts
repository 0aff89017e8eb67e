// Benchmark: node telemetry published over MQTT → Node-RED running the shipped flows (the
// main tab decodes each message once and applies it to the twin; its change lists go
// through the "twin changes" link to wpt-timeseries of the time series tab → the shared
// InfluxWriter of wpt-influxdb) → points stored in a server of the InfluxDB v2 write API.
// Points/s end to end, loss counted at the server.
//
//   npm run build && npx tsx bench/influx-e2e.ts [--messages 100000] [--hubs 50] [--nodes 10] [--batch 1000]
//                                                [--publishers 1] [--qos0]
//   (Node-RED loads our nodes from dist/: build first)
//
// Processes: the MQTT broker (aedes, in a child process; MQTT_URL to use another), the
// publisher (a child process, like devices would be), Node-RED embedded in this process
// with the shipped main and time series tabs without PostgreSQL (wpt-postgres and wpt-store
// left out), and VictoriaMetrics (INFLUX_URL to use another server: it must also answer
// VictoriaMetrics' /api/v1/export to count what was stored). Prints; asserts nothing.
// Target: well above 30,000 points/s with 0 loss.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '../runtime/free-port';
import { exportWhen, sampleCount, startVictoriaMetrics, storedSamples } from '../test/helpers/victoria';
import type { InfluxConfigNode } from '../nodes/lib/config-nodes';

const INFLUX_CONFIG_ID = 'ad60f4e1ae80a8ce';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : Number.NaN;
  return Number.isFinite(v) && v > 0 ? v : def;
}

/** The package root (holds package.json and flows/), from bench/ or dist/bench/. */
function packageRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('package.json not found');
    dir = up;
  }
  return dir;
}

interface FlowNode {
  id: string;
  type: string;
  z?: string;
  wires?: string[][];
  links?: string[];
  [k: string]: unknown;
}

const WITHOUT = new Set(['wpt-postgres', 'wpt-store']);

/**
 * The shipped main and time series tabs without PostgreSQL (wpt-postgres, wpt-store and
 * the wires to them left out; the fleet without a database), links completed both ways as
 * the editor stores them.
 */
function benchFlow(root: string, batchSize: number): FlowNode[] {
  const read = (f: string) => JSON.parse(fs.readFileSync(path.join(root, 'flows', f), 'utf8')) as FlowNode[];
  const flows = [...read('main.json'), ...read('timeseries.json')].filter((n) => !WITHOUT.has(n.type));
  const ids = new Set(flows.map((n) => n.id));
  const byId = new Map(flows.map((n) => [n.id, n]));
  for (const n of flows) {
    if (n.wires) n.wires = n.wires.map((port) => port.filter((id) => ids.has(id)));
    if (n.type === 'wpt-fleet') delete n.postgres;
    if (n.type === 'wpt-influxdb') n.batchSize = batchSize;
    if (n.type === 'link in') {
      for (const outId of n.links ?? []) {
        const out = byId.get(outId);
        if (out?.type === 'link out' && !(out.links ?? []).includes(n.id))
          out.links = [...(out.links ?? []), n.id];
      }
    }
  }
  return flows;
}

/** Runs a CommonJS snippet in a child Node.js; resolves with the first stdout line matching `ready`. */
function child(
  code: string,
  args: string[],
  ready: RegExp,
): { proc: ChildProcess; line: Promise<RegExpExecArray> } {
  const proc = spawn(process.execPath, ['-e', code, '--', ...args], {
    cwd: packageRoot(),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = new Promise<RegExpExecArray>((resolve, reject) => {
    let buf = '';
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = ready.exec(buf);
      if (m) resolve(m);
    });
    proc.once('exit', (c) => reject(new Error(`child exited with ${c} before ${ready}`)));
  });
  return { proc, line };
}

const BROKER_CODE = `
const { startEmbeddedBroker } = require(process.cwd() + '/dist/runtime/embedded-broker.js');
startEmbeddedBroker({ port: Number(process.argv[1]), host: '127.0.0.1' }).then((b) => console.log('broker ' + b.url));
`;

// argv: url run messages hubs nodes qos part parts (publishes the messages k ≡ part mod parts)
const PUBLISHER_CODE = `
const mqtt = require('mqtt');
const [url, run, messagesS, hubsS, nodesS, qosS, partS, partsS] = process.argv.slice(1);
const messages = Number(messagesS), hubs = Number(hubsS), nodes = Number(nodesS);
const qos = Number(qosS), part = Number(partS), parts = Number(partsS);
(async () => {
  const pub = await mqtt.connectAsync(url, { clientId: run + '-pub' + part, reconnectPeriod: 0 });
  const base = Date.now() - 86400000;
  const perRound = hubs * nodes;
  const t0 = Date.now();
  let sent = 0;
  for (let k = part; k < messages; k += parts) {
    const round = Math.floor(k / perRound);
    const i = k % perRound;
    const h = i % hubs;
    const n = Math.floor(i / hubs);
    const payload = JSON.stringify({
      voltage: 400 + (k % 7),
      current: 100 + (k % 13) / 10,
      power_kw: 40 + ((round + i) % 38),
      power_limit_kw: 78,
      is_occupied: (i + round) % 3 !== 0,
      connected_vehicle_id: 'vehicle_' + h + '_' + n,
      current_vehicle_soc: (round + i) % 100,
      timestamp: new Date(base + round * 2000 + i).toISOString(),
    });
    // QoS 1: the broker acknowledges every message (nothing silently lost before Node-RED)
    const p = pub.publishAsync('iot/hubs/' + run + '_hub_' + h + '/nodes/node_' + n + '/telemetry', payload, { qos });
    if (++sent % 1000 === 0) await p;
  }
  await pub.endAsync();
  console.log('published ' + (Date.now() - t0));
  process.exit(0);
})().catch((e) => { console.error(e); process.exit(1); });
`;

async function main(): Promise<void> {
  const messages = arg('messages', 100_000);
  const hubs = arg('hubs', 50);
  const nodes = arg('nodes', 10);
  const batchSize = arg('batch', 1000);
  const publishers = arg('publishers', 1);
  const qos = process.argv.includes('--qos0') ? 0 : 1;
  const root = packageRoot();
  if (!fs.existsSync(path.join(root, 'dist', 'nodes', 'wpt-timeseries', 'wpt-timeseries.js'))) {
    throw new Error('dist/ missing: run "npm run build" first');
  }
  const run = `be${crypto.randomBytes(3).toString('hex')}`;
  const vm = process.env.INFLUX_URL ? null : await startVictoriaMetrics();
  const influxUrl = process.env.INFLUX_URL ?? (vm as { url: string }).url;
  const broker = process.env.MQTT_URL
    ? null
    : child(BROKER_CODE, [String(await freePort())], /broker (\S+)\n/);
  const mqttUrl = process.env.MQTT_URL ?? ((await broker!.line)[1] as string);
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wpt-bench-nr-'));
  process.env.MQTT_URL = mqttUrl;
  process.env.INFLUX_URL = influxUrl;
  process.env.INFLUX_ORG ??= 'wpt';
  process.env.INFLUX_BUCKET ??= 'wpt';
  fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(benchFlow(root, batchSize)));

  const RED = require('node-red') as {
    init(server: http.Server, settings: Record<string, unknown>): void;
    start(): Promise<void>;
    stop(): Promise<void>;
    nodes: { getNode(id: string): unknown };
  };
  const server = http.createServer();
  RED.init(server, {
    userDir,
    flowFile: 'flows.json',
    nodesDir: [root],
    httpAdminRoot: false,
    httpNodeRoot: false,
    credentialSecret: 'bench',
    logging: { console: { level: 'warn', metrics: false, audit: false } },
    editorTheme: { tours: false },
  });
  let pub: ChildProcess[] = [];
  try {
    await RED.start();
    const cfg = (): InfluxConfigNode | null => RED.nodes.getNode(INFLUX_CONFIG_ID) as InfluxConfigNode | null;
    for (let i = 0; i < 200 && !cfg()?.writer; i++) await new Promise((r) => setTimeout(r, 50));
    const writer = cfg()?.writer;
    if (!writer) throw new Error('the time series flow did not start (no writer)');
    // let the mqtt in nodes subscribe
    await new Promise((r) => setTimeout(r, 1500));

    const loadBefore = os.loadavg()[0]?.toFixed(2);
    const cpu0 = process.cpuUsage();
    const start = process.hrtime.bigint();
    const pubs = Array.from({ length: publishers }, (_, part) =>
      child(
        PUBLISHER_CODE,
        [
          mqttUrl,
          run,
          String(messages),
          String(hubs),
          String(nodes),
          String(qos),
          String(part),
          String(publishers),
        ],
        /published (\d+)/,
      ),
    );
    pub = pubs.map((p) => p.proc);
    const publishMs = Math.max(...(await Promise.all(pubs.map((p) => p.line))).map((m) => Number(m[1])));
    // The writer also takes hub_load points (at most one per hub and second): the end is the
    // last confirmation from the server before it holds every telemetry point, checked once
    // the writer has taken at least as many points as were published and has nothing buffered.
    const deadline = Date.now() + 120_000;
    const match = `node_telemetry_power_kw{hub_id=~"${run}_hub_.*"}`;
    let stored = 0;
    let written = -1;
    let end = process.hrtime.bigint();
    while (Date.now() < deadline) {
      const s = writer.stats();
      if (s.written !== written) {
        written = s.written;
        end = process.hrtime.bigint();
      }
      if (s.accepted + s.invalid >= messages && s.buffered === 0) {
        stored = await storedSamples(influxUrl, match);
        if (stored >= messages) break;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    // (the server makes what it took searchable shortly after it confirmed it)
    if (stored < messages)
      stored = sampleCount(await exportWhen(influxUrl, match, (x) => sampleCount(x) >= messages, 20_000));
    const stats = writer.stats();
    const loadMatch = `hub_load_load_kw{hub_id=~"${run}_hub_.*"}`;
    const loads = sampleCount(
      await exportWhen(influxUrl, loadMatch, (x) => sampleCount(x) >= stats.accepted - messages, 20_000),
    );
    const secs = Number(end - start) / 1e9;
    const cpuUsed = process.cpuUsage(cpu0);
    const cpuSecs = (cpuUsed.user + cpuUsed.system) / 1e6;
    const cpu = os.cpus();
    console.log(
      'bench/influx-e2e: MQTT node telemetry -> Node-RED (main tab: decode, twin; "twin changes" link -> wpt-timeseries) -> /api/v2/write',
    );
    console.log(
      `  machine : ${cpu[0]?.model ?? 'unknown'} x${cpu.length}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.platform()} ${os.release()}, node ${process.version}, load before ${loadBefore}`,
    );
    console.log(
      `  services: broker ${broker ? 'aedes (child process)' : mqttUrl}, server ${vm ? 'VictoriaMetrics (local, started by the bench)' : influxUrl}`,
    );
    console.log(
      `  command : ${[path.basename(process.argv0), path.relative(process.cwd(), process.argv[1] ?? ''), ...process.argv.slice(2)].join(' ')}`,
    );
    console.log(
      `  input   : ${messages} node telemetry messages over MQTT (QoS ${qos}, from ${publishers} publisher processes), ${hubs} hubs x ${nodes} nodes; writer batch ${batchSize}`,
    );
    console.log(
      `  time    : ${secs.toFixed(2)} s end to end (publishing alone took ${(publishMs / 1000).toFixed(2)} s)`,
    );
    console.log(
      `  rate    : ${Math.round(stored / secs)} telemetry points/s stored (${Math.round((stored + loads) / secs)} with hub load; target well above 30000)`,
    );
    console.log(
      `  cpu     : ${cpuSecs.toFixed(2)} s in the Node-RED process (broker, publisher, server aside): ${Math.round(stored / cpuSecs)} messages per CPU second`,
    );
    console.log(
      `  writer  : accepted ${stats.accepted}, written ${stats.written}, dropped ${stats.dropped}, invalid ${stats.invalid}, retries ${stats.retries}, buffered ${stats.buffered}`,
    );
    console.log(
      `  server  : ${stored} telemetry + ${loads} hub load points stored; telemetry loss ${messages - stored}`,
    );
    if (stored !== messages) process.exitCode = 1;
  } finally {
    for (const p of pub) if (p.exitCode === null) p.kill();
    await RED.stop().catch(() => undefined);
    server.close();
    if (broker) broker.proc.kill();
    if (vm) await vm.stop();
    fs.rmSync(userDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);

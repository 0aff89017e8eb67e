// End-to-end ingest bench: the real runtime with the shipped flows, a real broker, PostgreSQL
// and the InfluxDB v2 write API. A publisher sends node telemetry for HUBS × NODES nodes at
// stepped rates; counted at every end: published vs accepted (/api/ingest), every node's last
// sample (last_seen, power_kw) in PostgreSQL, and the node_telemetry points stored by the write
// API. Prints figures, asserts nothing; not run by npm test.
//
//   npm run build && npx tsx bench/ingest-e2e.ts
//   env: MQTT_URL / DATABASE_URL / INFLUX_URL (else a Mosquitto started here, the embedded
//   PostgreSQL, a VictoriaMetrics started here), BENCH_HUBS (500), BENCH_NODES (4),
//   BENCH_RATES (10000,20000,30000,40000), BENCH_STEP_S (10),
//   BENCH_PROFILE=1 (runtime under --cpu-prof, profiles in bench/results/prof)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import pg from 'pg';
import { startRuntime, ROOT, type RuntimeHandle } from '../test/helpers/runtime';
import { influxUrl, stopServices } from '../test/helpers/services';
import { storedSamples } from '../test/helpers/victoria';
import { startPlainMosquitto, type PlainMosquitto } from './lib/mosquitto';
import { accepted, announceFleet, nodeTelemetry, paced, sleep } from './lib/fleet';
import { cpuOfCommand, cpuOfCommandSince, cpuSeconds } from './lib/proc';

const HUBS = Number(process.env.BENCH_HUBS ?? 500);
const NODES = Number(process.env.BENCH_NODES ?? 4);
const RATES = (process.env.BENCH_RATES ?? '10000,20000,30000,40000').split(',').map(Number);
const STEP_S = Number(process.env.BENCH_STEP_S ?? 10);
const PROFILE = process.env.BENCH_PROFILE === '1';

/** The time series writer's line counts, from /api/health. */
async function influxCounts(
  rt: RuntimeHandle,
): Promise<{ written: number; dropped: number; buffered: number }> {
  const r = await fetch(`${rt.url}/api/health`);
  const h = (await r.json()) as {
    dependencies: { influxdb?: { points?: { written: number; dropped: number; buffered: number } } };
  };
  return h.dependencies.influxdb?.points ?? { written: 0, dropped: 0, buffered: 0 };
}
const postgresCpu = (): Map<number, number> => cpuOfCommand('postgres');
const postgresCpuSince = (before: Map<number, number>): number => cpuOfCommandSince('postgres', before);

interface StepResult {
  target: number;
  published: number;
  publishRate: number;
  accepted: number;
  acceptedRate: number;
  lost: number;
  drainS: number;
  dbMatched: number;
  dbWaitS: number;
  points: number;
  /** Lines the time series writer dropped in the step (its bound, from /api/health). */
  influxDropped: number;
  cpuRuntime: number;
  cpuBroker: number;
  cpuPostgres: number;
  cpuPublisher: number;
}

async function main(): Promise<void> {
  const started = Date.now();
  let mosq: PlainMosquitto | null = null;
  let brokerName = 'MQTT_URL';
  let brokerUrl = process.env.MQTT_URL;
  if (!brokerUrl) {
    mosq = await startPlainMosquitto();
    brokerUrl = mosq.url;
    brokerName = 'Mosquitto (started here, default socket settings)';
  }
  const influx = process.env.INFLUX_URL || (await influxUrl());
  if (!influx) throw new Error('no InfluxDB write API: set INFLUX_URL or apt-get install victoria-metrics');
  const influxName = process.env.INFLUX_URL ? 'INFLUX_URL' : 'VictoriaMetrics (its /api/v2/write)';
  const profDir = path.join(ROOT, 'bench', 'results', 'prof');
  if (PROFILE) fs.mkdirSync(profDir, { recursive: true });
  const rt = await startRuntime({
    env: {
      ...(brokerUrl ? { MQTT_URL: brokerUrl } : {}),
      INFLUX_URL: influx,
      WPT_LOG_LEVEL: 'warn',
      ...(PROFILE ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profDir}` } : {}),
    },
    timeoutMs: 120000,
  });
  const dbName = process.env.DATABASE_URL ? 'DATABASE_URL' : 'embedded PostgreSQL';
  const db = new pg.Client({ connectionString: rt.databaseUrl });
  await db.connect();
  const pub: MqttClient = await mqtt.connectAsync(rt.mqttUrl, { clientId: `wpt-bench-${process.pid}` });
  const results: StepResult[] = [];
  try {
    // The fleet: hubs and nodes announce themselves first (QoS 1, as devices do).
    const infoBase = await accepted(rt, 'nodeInfo');
    const nodes = await announceFleet(
      pub,
      Array.from({ length: HUBS }, (_, h) => `bh_${String(h).padStart(4, '0')}`),
      NODES,
    );
    for (let i = 0; i < 600 && (await accepted(rt, 'nodeInfo')) - infoBase < nodes.length; i++)
      await sleep(100);
    await sleep(1000);

    const last = new Map<string, { ts: number; power: number }>();
    let seq = 0;
    let pointsBefore = await storedSamples(influx, `node_telemetry_power_kw{hub_id=~"bh_.*"}`);
    let droppedBefore = (await influxCounts(rt)).dropped;
    for (const target of RATES) {
      const before = await accepted(rt);
      const cpu0 = {
        rt: cpuSeconds(rt.proc.pid),
        broker: cpuSeconds(mosq?.pid),
        pg: postgresCpu(),
        me: process.cpuUsage(),
      };
      const t0 = Date.now();
      const { sent: published, seconds: pubS } = await paced(target, STEP_S, () => {
        const n = nodes[seq % nodes.length]!;
        seq++;
        const prev = last.get(n.topic);
        const ts = Math.max(Date.now(), (prev?.ts ?? 0) + 1);
        const power = Math.round(((seq * 7919) % 7800) / 10) / 10;
        last.set(n.topic, { ts, power });
        pub.publish(n.topic, nodeTelemetry(power, ts), { qos: 0 });
      });
      // Drain: until everything published is accepted, or nothing moved for 3 s.
      let acc = await accepted(rt);
      let lastMove = Date.now();
      let lastAccAt = Date.now();
      while (acc - before < published && Date.now() - lastMove < 3000) {
        await sleep(100);
        const a = await accepted(rt);
        if (a !== acc) {
          lastMove = Date.now();
          lastAccAt = lastMove;
        }
        acc = a;
      }
      if (acc - before >= published) lastAccAt = Date.now();
      // CPU over the step and its drain (not over the checks below, which wait for the stores).
      const cpu1 = {
        rt: cpuSeconds(rt.proc.pid),
        broker: cpuSeconds(mosq?.pid),
        pg: postgresCpuSince(cpu0.pg),
        me: process.cpuUsage(cpu0.me),
        wall: (Date.now() - t0) / 1000,
      };
      const got = acc - before;
      const drainS = (lastAccAt - t0) / 1000;
      // PostgreSQL: every node's last sample stored (last_seen and power_kw).
      const dbT0 = Date.now();
      let matched = 0;
      for (;;) {
        const rows = await db.query<{
          hub_id: string;
          node_id: string;
          last_seen: Date | null;
          power_kw: number;
        }>(`SELECT hub_id, node_id, last_seen, power_kw FROM nodes WHERE hub_id LIKE 'bh\\_%'`);
        matched = 0;
        for (const r of rows.rows) {
          const l = last.get(`iot/hubs/${r.hub_id}/nodes/${r.node_id}/telemetry`);
          if (l && r.last_seen?.getTime() === l.ts && r.power_kw === l.power) matched++;
        }
        if (matched === last.size || Date.now() - dbT0 > 30000) break;
        await sleep(250);
      }
      // InfluxDB: one node_telemetry point per message (VictoriaMetrics stores each field as
      // node_telemetry_<field>; power_kw is in every point).
      const match = `node_telemetry_power_kw{hub_id=~"bh_.*"}`;
      let points = 0;
      for (const t = Date.now(); Date.now() - t < 30000;) {
        points = (await storedSamples(influx, match)) - pointsBefore;
        if (points >= got) break;
        await sleep(500);
      }
      pointsBefore += points;
      const influxLines = await influxCounts(rt);
      const dropped = influxLines.dropped - droppedBefore;
      droppedBefore = influxLines.dropped;
      const wall = cpu1.wall;
      results.push({
        target,
        published,
        publishRate: published / pubS,
        accepted: got,
        acceptedRate: got / Math.max(drainS, pubS),
        lost: published - got,
        drainS: Math.max(0, drainS - pubS),
        dbMatched: matched,
        dbWaitS: (Date.now() - dbT0) / 1000,
        points,
        influxDropped: dropped,
        cpuRuntime: (cpu1.rt - cpu0.rt) / wall,
        cpuBroker: (cpu1.broker - cpu0.broker) / wall,
        cpuPostgres: cpu1.pg / wall,
        cpuPublisher: (cpu1.me.user + cpu1.me.system) / 1e6 / wall,
      });
      const r = results.at(-1)!;
      console.log(
        `target ${target}/s: published ${published} (${r.publishRate.toFixed(0)}/s), accepted ${got} ` +
          `(${r.acceptedRate.toFixed(0)}/s, lost ${r.lost}, drained ${r.drainS.toFixed(1)} s after), ` +
          `PostgreSQL last sample of ${matched}/${last.size} nodes; Influx points ${points} (writer dropped ${dropped}); CPU runtime ${(r.cpuRuntime * 100).toFixed(0)} %`,
      );
      await sleep(2000);
    }
  } finally {
    await pub.endAsync();
    await db.end();
    await rt.stop();
    fs.rmSync(rt.userDir, { recursive: true, force: true });
    await mosq?.stop();
    await stopServices();
  }

  const cpu = os.cpus();
  const lines = [
    '# Ingest end to end (bench/ingest-e2e.ts)',
    '',
    `Run ${new Date(started).toISOString()}: \`npx tsx bench/ingest-e2e.ts\`` +
      ` (hubs ${HUBS} × nodes ${NODES} = ${HUBS * NODES} nodes, ${STEP_S} s per rate${PROFILE ? ', --cpu-prof' : ''}).`,
    '',
    `Machine: ${cpu.length} × ${cpu[0]?.model ?? '?'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ` +
      `Node ${process.version}, ${os.type()} ${os.release()}. Broker: ${brokerName}. Database: ${dbName}. ` +
      `Time series: ${influxName}. Everything (publisher, broker, runtime, PostgreSQL, the write API) on the same machine.`,
    '',
    'Path (the shipped flows): publisher → broker → `mqtt in` → wpt-decode (once) → wpt-twin → its change ' +
      'lists to wpt-dlm-allocator, wpt-store (write queue → PostgreSQL) and the "twin changes" link → wpt-timeseries ' +
      '(→ InfluxDB write API). QoS 0 node telemetry, idle nodes.',
    '',
    '| target msg/s | published | publish msg/s | accepted | accepted msg/s | lost | drain after (s) | nodes with last sample in PostgreSQL | Influx points | Influx lines dropped | CPU runtime | CPU broker | CPU postgres | CPU publisher |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...results.map(
      (r) =>
        `| ${r.target} | ${r.published} | ${r.publishRate.toFixed(0)} | ${r.accepted} | ${r.acceptedRate.toFixed(0)} | ${r.lost} | ${r.drainS.toFixed(1)} | ${r.dbMatched}/${HUBS * NODES} | ${r.points} | ${r.influxDropped} | ${(r.cpuRuntime * 100).toFixed(0)} % | ${(r.cpuBroker * 100).toFixed(0)} % | ${(r.cpuPostgres * 100).toFixed(0)} % | ${(r.cpuPublisher * 100).toFixed(0)} % |`,
    ),
    '',
    '"accepted msg/s" = accepted / (time from the step start until the last message was accepted). ' +
      '"lost" = published − accepted (/api/ingest). CPU in % of one core over the step and its drain.',
    '',
  ];
  const out = path.join(ROOT, 'bench', 'results', 'ingest-e2e.md');
  const previous = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '';
  const notes = previous.includes('\n## Notes') ? previous.slice(previous.indexOf('\n## Notes')) : '';
  fs.writeFileSync(out, lines.join('\n') + notes);
  console.log(lines.join('\n'));
  console.log(`written to ${out}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

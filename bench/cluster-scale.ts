// Cluster scaling bench (bench/cluster-scale.ts): does each of N instances in cluster mode
// handle about 1/N of a fleet's traffic? For each setup — one instance without cluster mode
// (the baseline), then N = 1, 2, 3 instances with WPT_CLUSTER=1 on one broker and one fresh
// PostgreSQL database — the runtimes (shipped flows, Influx off) are started, a fleet of HUBS ×
// NODES nodes and VEHICLES vehicles is announced, the bench waits until every hub is leased by
// a live instance and a warm-up round of telemetry reaches the instances exactly once, then
// offers node telemetry at each rate (plus vehicle telemetry at VEHICLE_SHARE of it) for a
// fixed window. Per instance: messages received (GET /api/ingest), CPU seconds of its node
// process (/proc/<pid>/stat) over the window and its drain, CPU ms per 1,000 messages offered;
// per setup: the totals, the broker's, PostgreSQL's and the publisher's CPU and the machine's.
// Everything runs on this machine: the total is bounded by its cores. Prints figures, asserts
// nothing; not run by npm test.
//
//   npm run build && npx tsx bench/cluster-scale.ts
//   env: MQTT_URL (else a Mosquitto started here: a broker no other runtime uses), DATABASE_URL
//   (else an embedded PostgreSQL started here; a fresh database per setup either way, dropped at
//   the end), BENCH_HUBS (200), BENCH_NODES (4), BENCH_VEHICLES (400), BENCH_RATES (500,1000,2000:
//   node telemetry msg/s for the whole fleet), BENCH_VEHICLE_SHARE (0.5), BENCH_WINDOW_S (20),
//   BENCH_IDLE_S (10: a window with no traffic first, 0 = none), BENCH_INSTANCES (1,2,3),
//   BENCH_SINGLE (1: the baseline without cluster mode, 0 = skip), BENCH_NO_WRITE=1 (print only),
//   BENCH_PROFILE=1 (runtimes under --cpu-prof, a summary printed per instance; no results file)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import pg from 'pg';
import { startRuntime, ROOT, type RuntimeHandle } from '../test/helpers/runtime';
import { createTestDatabase, stopServices } from '../test/helpers/services';
import { announceFleet, ingest, nodeTelemetry, paced, sleep, vehicleTelemetry } from './lib/fleet';
import { summariseProfile } from './api-http/profile';
import { startPlainMosquitto, type PlainMosquitto } from './lib/mosquitto';
import { cpuOfCommand, cpuOfCommandSince, cpuSeconds, machineCpu } from './lib/proc';

const HUBS = Number(process.env.BENCH_HUBS ?? 200);
const NODES = Number(process.env.BENCH_NODES ?? 4);
const VEHICLES = Number(process.env.BENCH_VEHICLES ?? 400);
const RATES = (process.env.BENCH_RATES ?? '500,1000,2000').split(',').map(Number);
const VEHICLE_SHARE = Number(process.env.BENCH_VEHICLE_SHARE ?? 0.5);
const WINDOW_S = Number(process.env.BENCH_WINDOW_S ?? 20);
const IDLE_S = Number(process.env.BENCH_IDLE_S ?? 10);
const INSTANCES = (process.env.BENCH_INSTANCES ?? '1,2,3').split(',').map(Number);
const SINGLE = process.env.BENCH_SINGLE !== '0';
const PROFILE = process.env.BENCH_PROFILE === '1';
const NO_WRITE = process.env.BENCH_NO_WRITE === '1' || PROFILE;
/** Short lease timing, as the cluster e2e test uses (valid for checkClusterTiming). */
const TIMING = {
  WPT_CLUSTER_RENEW_MS: '300',
  WPT_CLUSTER_LEASE_MS: '2000',
  WPT_CLUSTER_MARGIN_MS: '600',
  WPT_CLUSTER_PUBLISH_LATENCY_MS: '500',
};

interface Setup {
  label: string;
  cluster: boolean;
  n: number;
}
interface InstanceRow {
  id: string;
  hubs: number;
  node: number;
  vehicle: number;
  cpuS: number;
}
interface StepRow {
  setup: Setup;
  /** Node telemetry msg/s offered (0: the idle window). */
  rate: number;
  publishedNode: number;
  publishedVehicle: number;
  seconds: number;
  drainS: number;
  instances: InstanceRow[];
  broker: number;
  postgres: number;
  publisher: number;
  machineBusy: number;
  machineTotal: number;
  load: string;
  /** Hubs whose lease owner differed after the window from before it (cluster mode). */
  moved: number;
}

const pct = (cpuS: number, s: number): string => `${((cpuS / s) * 100).toFixed(0)} %`;
const perK = (cpuS: number, msgs: number): string =>
  msgs > 0 ? ((cpuS * 1000) / (msgs / 1000)).toFixed(1) : '—';
const loadavg = (): string =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ');

async function counts(rts: RuntimeHandle[]): Promise<Array<{ node: number; vehicle: number }>> {
  return Promise.all(
    rts.map(async (rt) => {
      const k = (await ingest(rt)).byKind;
      return { node: k.nodeTelemetry?.accepted ?? 0, vehicle: k.vehicleTelemetry?.accepted ?? 0 };
    }),
  );
}
const total = (c: Array<{ node: number; vehicle: number }>): number =>
  c.reduce((a, x) => a + x.node + x.vehicle, 0);

/** Waits until the instances' counters reach `base + expected`, or stop moving for `quietMs`. */
async function drain(rts: RuntimeHandle[], base: number, expected: number, quietMs: number): Promise<number> {
  let got = total(await counts(rts)) - base;
  let moved = Date.now();
  while (got < expected && Date.now() - moved < quietMs) {
    await sleep(100);
    const g = total(await counts(rts)) - base;
    if (g !== got) moved = Date.now();
    got = g;
  }
  return got;
}

let brokerName = '';

async function runSetup(setup: Setup, k: number, mqttUrl: string, pub: MqttClient): Promise<StepRow[]> {
  const tag = `cs${process.pid}${k}`;
  const hubIds = Array.from({ length: HUBS }, (_, i) => `${tag}_h${String(i).padStart(4, '0')}`);
  const vehicleTopics = Array.from({ length: VEHICLES }, (_, i) => `iot/vehicles/ev_${tag}_${i}/telemetry`);
  const ids = Array.from({ length: setup.n }, (_, i) => `${tag}-${'abcdefgh'[i]}`);
  const clientIdOf = (id: string): string => `wpt-bench-${id}`;
  const databaseUrl = await createTestDatabase('wpt_bench_cluster');
  const rts: RuntimeHandle[] = [];
  const db = new pg.Client({ connectionString: databaseUrl });
  const rows: StepRow[] = [];
  const profDir = PROFILE ? fs.mkdtempSync(path.join(os.tmpdir(), 'wpt-bench-prof-')) : '';
  console.log(`\n[${setup.label}] starting ${setup.n} instance(s), load average ${loadavg()}`);
  try {
    for (const id of ids) {
      rts.push(
        await startRuntime({
          inheritServices: false,
          env: {
            MQTT_URL: mqttUrl,
            DATABASE_URL: databaseUrl,
            WPT_LOG_LEVEL: 'warn',
            WPT_MQTT_CLIENT_ID: clientIdOf(id),
            ...(PROFILE ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profDir}` } : {}),
            ...(setup.cluster ? { WPT_CLUSTER: '1', WPT_INSTANCE_ID: id, ...TIMING } : {}),
          },
          timeoutMs: 120000,
        }),
      );
    }
    await db.connect();
    const liveInstances = async () =>
      (
        await db.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM cluster_instances WHERE expires_at > now() AND instance_id = ANY($1)',
          [ids],
        )
      ).rows[0]!.n;
    // Healthy can come before the cluster tables exist (the first instance migrates): none live yet.
    const liveOrNone = () =>
      liveInstances().catch((e: { code?: string }) => {
        if (e.code === '42P01') return 0;
        throw e;
      });
    if (setup.cluster)
      for (let i = 0; (await liveOrNone()) < setup.n; i++) {
        if (i > 300) throw new Error(`${setup.label}: the instances did not all join`);
        await sleep(200);
      }

    // The fleet: every instance hears every hub's and node's info (fleet-wide subscriptions).
    const infoBase = await Promise.all(
      rts.map(async (rt) => (await ingest(rt)).byKind.nodeInfo?.accepted ?? 0),
    );
    const nodes = await announceFleet(pub, hubIds, NODES);
    for (let i = 0; ; i++) {
      const info = await Promise.all(
        rts.map(async (rt) => (await ingest(rt)).byKind.nodeInfo?.accepted ?? 0),
      );
      if (info.every((n, j) => n - infoBase[j]! >= nodes.length)) break;
      if (i > 600)
        throw new Error(`${setup.label}: node info not accepted by every instance: ${info.join(', ')}`);
      await sleep(100);
    }

    // Cluster mode: every hub leased by a live instance, the same owners for 1.5 s.
    const owners = async (): Promise<Map<string, string>> =>
      new Map(
        (
          await db.query<{ hub_id: string; owner: string }>(
            'SELECT hub_id, owner FROM hub_leases WHERE expires_at > now() AND hub_id = ANY($1)',
            [hubIds],
          )
        ).rows.map((r) => [r.hub_id, r.owner]),
      );
    let owning = new Map<string, string>();
    if (setup.cluster) {
      let stable = 0;
      let prev = '';
      for (let i = 0; stable < 3; i++) {
        if (i > 240) throw new Error(`${setup.label}: hubs not all leased (${owning.size}/${HUBS})`);
        await sleep(500);
        owning = await owners();
        const key = [...owning.entries()].sort().join(';');
        const full = hubIds.every((h) => ids.includes(owning.get(h) ?? ''));
        stable = full && key === prev ? stable + 1 : 0;
        prev = key;
      }
    }

    // Warm-up: one message per node and per vehicle until a round reaches the instances exactly
    // once in all (the per-hub subscriptions are in place, and nothing else is heard).
    let seq = 0;
    const lastTs = new Float64Array(nodes.length);
    const sendNode = (): void => {
      const i = seq++ % nodes.length;
      const ts = Math.max(Date.now(), lastTs[i]! + 1);
      lastTs[i] = ts;
      pub.publish(nodes[i]!.topic, nodeTelemetry(Math.round(((seq * 7919) % 7800) / 10) / 10, ts), {
        qos: 0,
      });
    };
    let vseq = 0;
    const sendVehicle = (): void => {
      const i = vseq++ % vehicleTopics.length;
      pub.publish(vehicleTopics[i]!, vehicleTelemetry(i, Date.now()), { qos: 0 });
    };
    let warm = false;
    for (let round = 0; round < 10 && !warm; round++) {
      const base = total(await counts(rts));
      for (let i = 0; i < nodes.length; i++) sendNode();
      for (let i = 0; i < vehicleTopics.length; i++) sendVehicle();
      const expected = nodes.length + vehicleTopics.length;
      const got = await drain(rts, base, expected, 1500);
      await sleep(500);
      const settled = total(await counts(rts)) - base;
      warm = got === expected && settled === expected;
      if (!warm)
        console.log(`[${setup.label}] warm-up round ${round + 1}: ${settled} of ${expected} received`);
    }
    if (!warm) console.log(`[${setup.label}] WARNING: no warm-up round received exactly once`);
    await sleep(1000);

    for (const rate of IDLE_S > 0 ? [0, ...RATES] : RATES) {
      const load = loadavg();
      const ownersBefore = setup.cluster ? await owners() : new Map<string, string>();
      const c0 = await counts(rts);
      const cpu0 = {
        rts: rts.map((rt) => cpuSeconds(rt.proc.pid)),
        broker: cpuOfCommand('mosquitto'),
        pg: cpuOfCommand('postgres'),
        me: process.cpuUsage(),
        machine: machineCpu(),
      };
      const t0 = Date.now();
      let published = 0;
      let pubVehicle = 0;
      let pubS = IDLE_S;
      if (rate === 0) await sleep(IDLE_S * 1000);
      else {
        // Node and vehicle telemetry interleaved: `VEHICLE_SHARE` vehicle messages per node message.
        const share = VEHICLE_SHARE / (1 + VEHICLE_SHARE);
        let i = 0;
        const r = await paced(rate * (1 + VEHICLE_SHARE), WINDOW_S, () => {
          if (Math.floor((i + 1) * share) > Math.floor(i * share)) {
            sendVehicle();
            pubVehicle++;
          } else sendNode();
          i++;
        });
        published = r.sent;
        pubS = r.seconds;
      }
      const base = total(c0);
      await drain(rts, base, published, 3000);
      const wall = (Date.now() - t0) / 1000;
      const c1 = await counts(rts);
      const me = process.cpuUsage(cpu0.me);
      const machine = machineCpu();
      const ownersAfter = setup.cluster ? await owners() : new Map<string, string>();
      const moved = hubIds.filter((h) => ownersBefore.get(h) !== ownersAfter.get(h)).length;
      const row: StepRow = {
        setup,
        rate,
        publishedNode: published - pubVehicle,
        publishedVehicle: pubVehicle,
        seconds: wall,
        drainS: Math.max(0, wall - pubS),
        instances: rts.map((rt, j) => ({
          id: setup.cluster ? ids[j]! : 'single',
          hubs: setup.cluster ? [...ownersBefore.values()].filter((o) => o === ids[j]).length : HUBS,
          node: c1[j]!.node - c0[j]!.node,
          vehicle: c1[j]!.vehicle - c0[j]!.vehicle,
          cpuS: cpuSeconds(rt.proc.pid) - cpu0.rts[j]!,
        })),
        broker: cpuOfCommandSince('mosquitto', cpu0.broker),
        postgres: cpuOfCommandSince('postgres', cpu0.pg),
        publisher: (me.user + me.system) / 1e6,
        machineBusy: machine.busy - cpu0.machine.busy,
        machineTotal: machine.total - cpu0.machine.total,
        load,
        moved,
      };
      rows.push(row);
      const inst = row.instances
        .map(
          (x) =>
            `${x.id}: ${x.hubs} hubs, ${x.node} node + ${x.vehicle} vehicle msgs, CPU ${pct(x.cpuS, wall)}, ${perK(x.cpuS, published)} ms/1k offered`,
        )
        .join('; ');
      console.log(
        `[${setup.label}] ${rate ? `${rate} node msg/s (+ ${rate * VEHICLE_SHARE} vehicle)` : 'idle'}: ` +
          `published ${published} in ${pubS.toFixed(1)} s (+${row.drainS.toFixed(1)} s drain); ${inst}; ` +
          `broker ${pct(row.broker, wall)}, postgres ${pct(row.postgres, wall)}, publisher ${pct(row.publisher, wall)}, ` +
          `machine ${((row.machineBusy / row.machineTotal) * 100).toFixed(0)} % of ${os.cpus().length} cores`,
      );
      await sleep(2000);
    }
  } finally {
    await db.end().catch(() => {});
    await Promise.all(rts.map((rt) => rt.stop()));
    for (const rt of rts) fs.rmSync(rt.userDir, { recursive: true, force: true });
    if (PROFILE) {
      // Whole-run profiles (start, warm-up and every window): where each instance's thread went.
      for (const f of fs.readdirSync(profDir).filter((x) => x.endsWith('.cpuprofile')))
        console.log(summariseProfile(path.join(profDir, f), [], `${setup.label} ${f}`).join('\n'));
      console.log(`[${setup.label}] profiles in ${profDir}`);
    }
    // The runtime's broker session is persistent (clean session off): it would outlive the
    // instance, and an offline member of the $share group still gets its turn of the vehicle
    // telemetry (lost at QoS 0). Ended here: the same client id, with a clean session.
    for (const id of ids.slice(0, rts.length)) {
      const c = await mqtt
        .connectAsync(mqttUrl, { clientId: clientIdOf(id), clean: true, reconnectPeriod: 0 })
        .catch(() => null);
      await c?.endAsync();
    }
  }
  return rows;
}

async function main(): Promise<void> {
  const started = new Date();
  // PostgreSQL: DATABASE_URL, else an embedded server started here (test/helpers/services.ts);
  // to the runtimes it is an external one either way (cluster mode refuses their own embedded one).
  const dbName = process.env.DATABASE_URL ? 'DATABASE_URL' : 'an embedded PostgreSQL started here';
  // A broker of its own unless MQTT_URL is set: on a shared broker, other runtimes take part
  // (they hear our hubs, our instances lease theirs, and cluster instances elsewhere join the
  // same $share group and take some of our vehicle telemetry).
  let mosq: PlainMosquitto | null = null;
  let mqttUrl = process.env.MQTT_URL;
  if (!mqttUrl) {
    mosq = await startPlainMosquitto();
    mqttUrl = mosq.url;
  }
  brokerName = mosq ? 'Mosquitto started here (bench/lib/mosquitto.ts)' : `MQTT_URL (${mqttUrl})`;
  const setups: Setup[] = [
    ...(SINGLE ? [{ label: 'single (no cluster mode)', cluster: false, n: 1 }] : []),
    ...INSTANCES.map((n) => ({ label: `cluster × ${n}`, cluster: true, n })),
  ];
  const rows: StepRow[] = [];
  let pub: MqttClient | undefined;
  try {
    pub = await mqtt.connectAsync(mqttUrl, { clientId: `wpt-bench-cluster-${process.pid}` });
    for (const [k, s] of setups.entries()) rows.push(...(await runSetup(s, k, mqttUrl, pub)));
  } finally {
    await pub?.endAsync();
    await stopServices(); // drops the databases created here
    await mosq?.stop();
  }

  const cpu = os.cpus();
  const rateText = (r: StepRow): string => (r.rate ? `${r.rate} + ${r.rate * VEHICLE_SHARE}` : 'idle');
  const lines = [
    '# Cluster scaling (bench/cluster-scale.ts)',
    '',
    `Run ${started.toISOString()}: \`npx tsx bench/cluster-scale.ts\` (hubs ${HUBS} × nodes ${NODES} = ` +
      `${HUBS * NODES} nodes, ${VEHICLES} vehicles; node telemetry at ${RATES.join(', ')} msg/s for the whole fleet ` +
      `plus vehicle telemetry at ${VEHICLE_SHARE} of it; ${WINDOW_S} s per rate${IDLE_S > 0 ? `, an idle window of ${IDLE_S} s first` : ''}; ` +
      `lease timing renew ${TIMING.WPT_CLUSTER_RENEW_MS} / lease ${TIMING.WPT_CLUSTER_LEASE_MS} / margin ` +
      `${TIMING.WPT_CLUSTER_MARGIN_MS} / publish latency ${TIMING.WPT_CLUSTER_PUBLISH_LATENCY_MS} ms, as in the cluster e2e test).`,
    '',
    `Machine: ${cpu.length} × ${cpu[0]?.model ?? '?'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ` +
      `${os.type()} ${os.release()}. Broker: ${brokerName}. Database: ${dbName} (a fresh database per setup). ` +
      'Influx off. Every instance, the broker, PostgreSQL and the publisher share these cores: the total is bounded by the machine.',
    '',
    'Path (the shipped flows, each instance): broker → `mqtt in` (node telemetry per owned hub in cluster mode, ' +
      '`iot/hubs/+/nodes/+/telemetry` without it; vehicle telemetry through `$share/wpt-dlm/…` in cluster mode) → ' +
      'wpt-decode → wpt-twin → wpt-dlm-allocator, wpt-store (PostgreSQL). QoS 0, idle nodes, vehicles driving.',
    '',
    '### Per instance',
    '',
    '| setup | offered msg/s (node + vehicle) | instance | hubs owned | node telemetry received | vehicle telemetry received | share of offered | CPU s | CPU (% of a core) | CPU ms per 1,000 msg offered |',
    '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.flatMap((r) =>
      r.instances.map((x) => {
        const offered = r.publishedNode + r.publishedVehicle;
        const share = offered ? `${(((x.node + x.vehicle) / offered) * 100).toFixed(0)} %` : '—';
        return `| ${r.setup.label} | ${rateText(r)} | ${x.id} | ${x.hubs} | ${x.node} | ${x.vehicle} | ${share} | ${x.cpuS.toFixed(2)} | ${pct(x.cpuS, r.seconds)} | ${perK(x.cpuS, offered)} |`;
      }),
    ),
    '',
    '### Per setup (all instances together)',
    '',
    '| setup | offered msg/s (node + vehicle) | published (node + vehicle) | received, all instances | lost | window + drain (s) | CPU instances (% of a core) | CPU ms per 1,000 msg offered, instances | mean per instance | CPU broker | CPU postgres | CPU publisher | machine busy (% of all cores) | other processes (% of a core) | load average before | hubs that changed owner in the window |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|',
    ...rows.map((r) => {
      const offered = r.publishedNode + r.publishedVehicle;
      const got = r.instances.reduce((a, x) => a + x.node + x.vehicle, 0);
      const cpuAll = r.instances.reduce((a, x) => a + x.cpuS, 0);
      return (
        `| ${r.setup.label} | ${rateText(r)} | ${r.publishedNode} + ${r.publishedVehicle} | ${got} | ${r.rate ? offered - got : '—'} | ` +
        `${r.seconds.toFixed(1)} | ${pct(cpuAll, r.seconds)} | ${perK(cpuAll, offered)} | ${pct(cpuAll / r.instances.length, r.seconds)} | ` +
        `${pct(r.broker, r.seconds)} | ${pct(r.postgres, r.seconds)} | ${pct(r.publisher, r.seconds)} | ` +
        `${r.machineTotal ? ((r.machineBusy / r.machineTotal) * 100).toFixed(0) : '?'} % of ${cpu.length} | ${pct(Math.max(0, r.machineBusy - cpuAll - r.broker - r.postgres - r.publisher), r.seconds)} | ${r.load} | ${r.setup.cluster ? r.moved : '—'} |`
      );
    }),
    '',
    '"CPU" is user + system time of the process (/proc/<pid>/stat) over the window and its drain (until every ' +
      'message published was counted, or nothing moved for 3 s), in % of one core; "CPU ms per 1,000 msg offered" divides ' +
      'it by the messages offered to the whole fleet (node + vehicle telemetry), which is also CPU ms per second per ' +
      '1,000 msg/s offered. "received" from GET /api/ingest (accepted node and vehicle telemetry). Broker and postgres: ' +
      'every process named `mosquitto` / `postgres` on the machine. "other processes": the machine\'s busy time ' +
      '(/proc/stat) less the instances, broker, postgres and publisher: other work on the machine, which competes for the cores.',
    '',
  ];
  const text = lines.join('\n');
  console.log(`\n${text}`);
  if (NO_WRITE) return;
  const out = path.join(ROOT, 'bench', 'results', 'cluster-scale.md');
  const previous = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '';
  const notes = previous.includes('\n## Notes') ? previous.slice(previous.indexOf('\n## Notes')) : '';
  fs.writeFileSync(out, text + notes);
  console.log(`written to ${out}`);
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130)); // the runtimes are killed on exit (test/helpers/runtime.ts)

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

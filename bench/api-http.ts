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
 *
 * Parts in bench/api-http/: options (command line), fleet (the fleet and its MQTT messages),
 * load (the load generator and its worker thread), measure (percentiles, CPU, RSS), profile
 * (--profile summary), report (the results table).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { mulberry32 } from '../sim/prng';
import { startRuntime } from '../test/helpers/runtime';
import { hubMessages, hubStatus, LAT, LON, makeFleet, nodeMessages, type Msg } from './api-http/fleet';
import { runGenerator, type GenRequest } from './api-http/load';
import { cpuPerReq, cpuSeconds, loadavg, ms, percentiles, rssMb, sleep, type Row } from './api-http/measure';
import { args } from './api-http/options';
import { summariseProfile } from './api-http/profile';
import { reportText } from './api-http/report';

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
    const rng = mulberry32(opt.seed);
    const fleet = makeFleet(opt.hubs, opt.nodes, rng);
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

    const recBodies: GenRequest[] = Array.from({ length: 4000 }, () => ({
      method: 'POST' as const,
      path: '/api/recommendations',
      body: JSON.stringify({
        latitude: rng.range(LAT[0], LAT[1]),
        longitude: rng.range(LON[0], LON[1]),
        battery_level: Math.round(rng.range(10, 70)),
        battery_capacity_kwh: rng.pick([40, 60, 77, 100]),
        limit: 3,
      }),
    }));
    const hubGets: GenRequest[] = Array.from({ length: 4000 }, () => ({
      method: 'GET' as const,
      path: `/api/hubs/${rng.pick(fleet).hubId}`,
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

  const text = reportText({ opt, machine, command, fleetNote, rows, profileLines });
  process.stdout.write(`\n${text}`);
  if (!opt.profile && !opt.noWrite) {
    const out = path.join(__dirname, 'results', 'api-http.md');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, text);
    process.stdout.write(`written to ${path.relative(process.cwd(), out)}\n`);
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);

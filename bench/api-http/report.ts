// The results table of bench/api-http.ts (bench/results/api-http.md).
import type { Options } from './options';
import { cpuPerReq, ms, type Row } from './measure';

export interface ReportInput {
  opt: Options;
  machine: string;
  command: string;
  fleetNote: string;
  rows: Row[];
  profileLines: string[];
}

/** The markdown report of a run. */
export function reportText({ opt, machine, command, fleetNote, rows, profileLines }: ReportInput): string {
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
  return lines.join('\n');
}

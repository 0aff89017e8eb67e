/**
 * Contract decoding: throughput of `decode` (and of `validatePayload` alone) and the precision
 * of its validation errors. Prints figures only (no assertions).
 *
 * Run: npx tsx bench/contract.ts [--runs 9] [--run-ms 300] [--warmup-ms 1000] [--baseline <dir>]
 *
 * Throughput: each case cycles through its messages (payloads as Buffers, as `mqtt in` gives
 * them); after a warm-up, `--runs` timed runs of ~`--run-ms` each; the median run gives ns/msg
 * and msg/s (fastest–slowest run beside it), in wall time and in this process's CPU time (the
 * machine is shared: CPU time is the figure least disturbed by other processes).
 *
 * Precision: every case of the invalid corpus (test/fixtures/invalid-messages.ts) and every
 * line of the original hub's capture. For each schema error the corpus expects
 * (`HubInfo.location.latitude: must be >= -90`), the decoder's messages and Ajv's own errors
 * (what Node-RED's `json` node would print: `/location/latitude must be >= -90`) are sorted
 * into: exact (the expected message itself; for Ajv: the same rule text, JSON Pointer path),
 * reworded (names the field and every parameter of the rule: limit, allowed values, formats,
 * types), lost (the field or a parameter is missing).
 *
 * --baseline <dir>: a directory holding another version of core/contract, e.g. the
 * hand-written validator it replaced:
 *   rm -rf /tmp/contract-base && mkdir -p /tmp/contract-base &&
 *   git archive 86e8eaa core/contract | tar -x -C /tmp/contract-base
 *   npx tsc --strict --module node20 --target es2023 --skipLibCheck \
 *     --outDir /tmp/contract-base/dist/core/contract /tmp/contract-base/core/contract/index.ts
 *   npm run build && npx tsx bench/contract.ts --baseline /tmp/contract-base
 * Both decoders are then measured in this process, their runs interleaved (same load for
 * both), and their error lists compared message by message on the corpus, the capture and
 * 20,000 seeded random mutations of valid payloads. Module load time is measured on the
 * compiled JS (dist/ for the current code, <dir>/dist for the baseline) when it exists.
 *
 * Parts in bench/contract/: setup (options, decoders, inputs), timing, precision, compare
 * (baseline vs current), module-load.
 */
import fs from 'node:fs';
import os from 'node:os';
import { loadLines } from './contract/module-load';
import { precision } from './contract/precision';
import { argv, impls, RUN_MS, RUNS, WARMUP_MS } from './contract/setup';
import { CASES, fmt, measure, sinkValue, type Timing } from './contract/timing';

function main(): void {
  const cpus = os.cpus();
  let cpuInfo = '';
  try {
    const info = fs.readFileSync('/proc/cpuinfo', 'utf8');
    const field = (k: string): string => info.match(new RegExp(`^${k}\\s*: (.*)$`, 'm'))?.[1] ?? '?';
    cpuInfo = `, family ${field('cpu family')} model ${field('model')}, ${Math.round(Number(field('cpu MHz')))} MHz`;
  } catch {
    /* not Linux */
  }
  const lines: string[] = [];
  lines.push('# Contract decoding: speed and error precision');
  lines.push(`command: npx tsx bench/contract.ts ${argv.join(' ')}`.trim());
  lines.push(
    `machine: ${cpus[0]?.model ?? 'unknown CPU'}${cpuInfo}, ${cpus.length} cores, node ${process.version}, ${os.platform()} ${os.arch()}; load average ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' / ')}`,
  );
  lines.push(
    `runs: ${RUNS} × ~${RUN_MS} ms per case and decoder after ${WARMUP_MS} ms of warm-up; median run${impls.length > 1 ? '; decoders interleaved run by run' : ''}`,
  );
  lines.push('');
  lines.push(...precision());
  lines.push('');
  lines.push(...loadLines());
  lines.push('');
  lines.push('## Throughput (payloads as Buffers)');
  lines.push('');
  lines.push(
    'wall ns/msg: median run (fastest–slowest); CPU ns/msg: median run; msg/s from the median wall time.',
  );
  lines.push('');
  lines.push(
    `| case | ${impls.map((i) => `${i.label} wall ns/msg | ${i.label} CPU ns/msg | ${i.label} msg/s`).join(' | ')}${impls.length > 1 ? ' | current ÷ baseline, wall / CPU' : ''} |`,
  );
  lines.push(`|---|${impls.map(() => '---:|---:|---:').join('|')}|${impls.length > 1 ? '---:|' : ''}`);
  console.log(lines.join('\n'));
  lines.length = 0;
  for (const c of CASES) {
    const t = measure(c);
    const cells = t.map(
      (x) => `${fmt(x.median)} (${fmt(x.min)}–${fmt(x.max)}) | ${fmt(x.cpu)} | ${fmt(1e9 / x.median)}`,
    );
    const [a, b] = t as [Timing, Timing];
    const ratio =
      t.length > 1 ? ` | ${(b.median / a.median).toFixed(2)} / ${(b.cpu / a.cpu).toFixed(2)}` : '';
    console.log(`| ${c.name} | ${cells.join(' | ')}${ratio} |`);
  }
  console.log(
    `\n(load average after: ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' / ')}; sink ${sinkValue() > 0 ? 'ok' : '0'})`,
  );
}

main();

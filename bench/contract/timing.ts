// Throughput timing of bench/contract.ts: timed runs of each case, per decoder, interleaved.
import {
  CAPTURE,
  captureTelemetry,
  impls,
  invalidSchema,
  mix90,
  NOW,
  RUN_MS,
  RUNS,
  telemetryObject,
  validAll,
  WARMUP_MS,
} from './setup';
import type { Impl, Msg } from './setup';

let sink = 0;

/** What the timed runs accepted (kept so the work is not optimised away). */
export function sinkValue(): number {
  return sink;
}

/** One timed run: wall and CPU (this process, all threads) nanoseconds per message. */
function timeRun(fn: (m: Msg) => boolean, msgs: readonly Msg[], n: number): { wall: number; cpu: number } {
  let ok = 0;
  let j = 0;
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    if (fn(msgs[j] as Msg)) ok++;
    if (++j === msgs.length) j = 0;
  }
  const wall = Number(process.hrtime.bigint() - t0);
  const c = process.cpuUsage(c0);
  sink += ok;
  return { wall: wall / n, cpu: ((c.user + c.system) * 1000) / n };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export interface Case {
  name: string;
  msgs: readonly Msg[];
  fn: (impl: Impl) => (m: Msg) => boolean;
}
const viaDecode = (impl: Impl) => (m: Msg) => impl.decode(m.topic, m.payload, NOW).ok;
export const CASES: Case[] = [
  {
    name: `capture: node telemetry (${captureTelemetry.length} lines)`,
    msgs: captureTelemetry,
    fn: viaDecode,
  },
  { name: `capture: all lines (${CAPTURE.length})`, msgs: CAPTURE, fn: viaDecode },
  { name: `valid: one of each of the 8 kinds`, msgs: validAll, fn: viaDecode },
  { name: `invalid: corpus schema errors (${invalidSchema.length})`, msgs: invalidSchema, fn: viaDecode },
  { name: `mix: 90 % capture telemetry, 10 % invalid`, msgs: mix90, fn: viaDecode },
  {
    name: 'validatePayload only: NodeTelemetry object',
    msgs: [{ topic: '', payload: telemetryObject }],
    fn: (impl) => (m) => impl.validatePayload('NodeTelemetry', m.payload, { timestampOptional: true }).ok,
  },
];

export interface Timing {
  /** Wall ns/msg: median, fastest and slowest run. */
  median: number;
  min: number;
  max: number;
  /** CPU ns/msg of the median-CPU run (less disturbed by other processes than wall time). */
  cpu: number;
}

export function measure(c: Case): Timing[] {
  const fns = impls.map((impl) => c.fn(impl));
  // warm-up, and how many messages make one run of ~RUN_MS
  const perRun: number[] = [];
  for (const fn of fns) {
    let n = 1000;
    let spent = 0;
    let done = 0;
    while (spent < WARMUP_MS * 1e6) {
      spent += timeRun(fn, c.msgs, n).wall * n;
      done += n;
      n *= 2;
    }
    perRun.push(Math.max(1000, Math.round((done / spent) * RUN_MS * 1e6)));
  }
  const runs: { wall: number; cpu: number }[][] = fns.map(() => []);
  for (let r = 0; r < RUNS; r++) {
    fns.forEach((fn, i) => runs[i]?.push(timeRun(fn, c.msgs, perRun[i] as number)));
  }
  return runs.map((xs) => {
    const wall = xs.map((x) => x.wall);
    return {
      median: median(wall),
      min: Math.min(...wall),
      max: Math.max(...wall),
      cpu: median(xs.map((x) => x.cpu)),
    };
  });
}

export const fmt = (x: number, d = 0): string =>
  x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

// Measurements of bench/api-http.ts: latency percentiles, the runtime's CPU and memory, the
// load average, and one row of the results table.
import fs from 'node:fs';
import os from 'node:os';
import { execSync } from 'node:child_process';

export interface Pct {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function percentiles(latUs: Float64Array): Pct {
  const a = Float64Array.from(latUs).sort();
  const q = (p: number): number => (a.length ? a[Math.min(a.length - 1, Math.floor(p * a.length))]! : NaN);
  return { n: a.length, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: a.length ? a[a.length - 1]! : NaN };
}

const CLK_TCK = ((): number => {
  try {
    return Number(execSync('getconf CLK_TCK', { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of a process, seconds. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK; // fields 14 and 15 of stat(5)
  } catch {
    return NaN;
  }
}

export function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

export const loadavg = (): string =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ');

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Row {
  endpoint: string;
  concurrency: number;
  pct: Pct;
  rps: number;
  ok: number;
  notFound: number;
  other: number;
  errors: number;
  firstError: string | null;
  serverCpu: number;
  loadBefore: string;
  loadAfter: string;
  rssAfterMb: number;
  tsQueries: string;
  durationS: number;
}

/** Runtime CPU time per answered request, ms (less sensitive to a busy machine than req/s). */
export function cpuPerReq(r: Row): string {
  const n = r.pct.n + r.errors;
  return n > 0 && Number.isFinite(r.serverCpu) ? ((r.serverCpu * 10 * r.durationS) / n).toFixed(2) : '—';
}

export function ms(us: number): string {
  return (us / 1000).toFixed(2);
}

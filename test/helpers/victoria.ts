// VictoriaMetrics, the server of the InfluxDB v2 write API used by the tests and benches:
// starting one, and reading back what it stored. VictoriaMetrics names a series
// `<measurement>_<field>` with the tags as labels; /api/v1/export gives one JSON object a
// line per series.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { freePort } from '../../runtime/free-port';

/** Debian's VictoriaMetrics binary (apt-get install victoria-metrics). */
export const VICTORIA_METRICS_BIN = '/usr/bin/victoria-metrics';

/** One series of /api/v1/export. */
export interface Series {
  metric: Record<string, string>;
  values: number[];
  timestamps: number[];
}

export interface VictoriaMetrics {
  url: string;
  /** Stops the server (and removes its data directory when startVictoriaMetrics made it). */
  stop(): Promise<void>;
}

/**
 * Starts VICTORIA_METRICS_BIN on a free loopback port and waits until /health answers
 * (throws when the binary is not installed or the server does not answer).
 * `dataDir`: where it stores; without one, a temporary directory removed by stop().
 */
export async function startVictoriaMetrics(dataDir?: string): Promise<VictoriaMetrics> {
  if (!fs.existsSync(VICTORIA_METRICS_BIN)) {
    throw new Error(`no ${VICTORIA_METRICS_BIN} (apt-get install victoria-metrics, or set INFLUX_URL)`);
  }
  const dir = dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'wpt-vm-'));
  const port = await freePort();
  const proc = spawn(
    VICTORIA_METRICS_BIN,
    [`-httpListenAddr=127.0.0.1:${port}`, `-storageDataPath=${dir}`, '-retentionPeriod=100y'],
    { stdio: 'ignore' },
  );
  // Never outlive the tests or benches, even when they end abruptly.
  const killOnExit = () => proc.kill('SIGKILL');
  process.on('exit', killOnExit);
  proc.once('exit', () => process.off('exit', killOnExit));
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
    if (!dataDir) fs.rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${url}/health`)).ok) return { url, stop };
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`victoria-metrics did not answer on ${url}`);
}

/** Makes what was written searchable (POST, or GET on versions that want it). */
export async function forceFlush(url: string): Promise<void> {
  const r = await fetch(`${url}/internal/force_flush`, { method: 'POST' });
  await r.arrayBuffer();
  if (!r.ok) await (await fetch(`${url}/internal/force_flush`)).arrayBuffer();
}

/** The series matching a series selector (`metric{label="v"}` or `{__name__=~"…"}`). */
export async function exportSeries(url: string, match: string): Promise<Series[]> {
  const r = await fetch(`${url}/api/v1/export?${new URLSearchParams({ 'match[]': match }).toString()}`);
  assert.equal(r.status, 200, `export ${match}`);
  return (await r.text())
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Series);
}

/**
 * Flushes and exports until `done` holds (data becomes searchable shortly after a flush) or
 * `ms` passed; returns the last export either way (callers assert on it).
 */
export async function exportWhen(
  url: string,
  match: string,
  done: (s: Series[]) => boolean,
  ms = 5000,
): Promise<Series[]> {
  const end = Date.now() + ms;
  for (;;) {
    await forceFlush(url);
    const s = await exportSeries(url, match);
    if (done(s) || Date.now() > end) return s;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Number of samples over all series. */
export const sampleCount = (s: Series[]): number => s.reduce((n, x) => n + x.values.length, 0);

/** Flushes, then counts the samples stored under `match`. */
export async function storedSamples(url: string, match: string): Promise<number> {
  await forceFlush(url);
  return sampleCount(await exportSeries(url, match));
}

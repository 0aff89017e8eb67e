// Load generator of bench/api-http.ts: a closed loop in a worker thread (its own event loop; the
// server is another process). This file is also the worker's entry point.
import http from 'node:http';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

export interface GenRequest {
  method: 'GET' | 'POST';
  path: string;
  body?: string;
}

export interface GenInput {
  url: string;
  token: string;
  requests: GenRequest[];
  concurrency: number;
  warmupMs: number;
  durationMs: number;
}

export interface GenResult {
  /** Latency of each request of the measured window, µs. */
  latUs: Float64Array;
  statuses: Record<string, number>;
  errors: number;
  firstError: string | null;
  /** Monotonic µs (process.hrtime) at the start and end of the measured window. */
  windowStartUs: number;
  windowEndUs: number;
}

async function generate(input: GenInput): Promise<GenResult> {
  const u = new URL(input.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: input.concurrency });
  const prepared = input.requests.map((r) => {
    const body = r.body === undefined ? undefined : Buffer.from(r.body);
    const headers: Record<string, string | number> = { Authorization: `Bearer ${input.token}` };
    if (body) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = body.length;
    }
    return { method: r.method, path: r.path, body, headers };
  });
  const lat: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  let firstError: string | null = null;
  const t0 = process.hrtime.bigint();
  const measureFrom = t0 + BigInt(input.warmupMs) * 1_000_000n;
  const end = measureFrom + BigInt(input.durationMs) * 1_000_000n;
  let next = 0;

  const once = (): Promise<void> =>
    new Promise((resolve) => {
      const r = prepared[next++ % prepared.length]!;
      const start = process.hrtime.bigint();
      const record = (status: string | null, err?: Error): void => {
        const stop = process.hrtime.bigint();
        if (start >= measureFrom && stop <= end) {
          if (status === null) {
            errors++;
            firstError ??= err?.message ?? 'error';
          } else {
            statuses[status] = (statuses[status] ?? 0) + 1;
            lat.push(Number(stop - start) / 1000);
          }
        }
        resolve();
      };
      const req = http.request(
        {
          host: u.hostname,
          port: u.port,
          method: r.method,
          path: r.path,
          headers: r.headers,
          agent,
        },
        (res) => {
          res.on('data', () => {});
          res.on('end', () => record(String(res.statusCode)));
          res.on('error', (e) => record(null, e));
        },
      );
      req.on('error', (e) => record(null, e));
      req.end(r.body);
    });

  const client = async (): Promise<void> => {
    while (process.hrtime.bigint() < end) await once();
  };
  await Promise.all(Array.from({ length: input.concurrency }, client));
  agent.destroy();
  return {
    latUs: Float64Array.from(lat),
    statuses,
    errors,
    firstError,
    windowStartUs: Number(measureFrom / 1000n),
    windowEndUs: Number(end / 1000n),
  };
}

if (!isMainThread) {
  generate(workerData as GenInput).then(
    (r) => parentPort!.postMessage(r, [r.latUs.buffer as ArrayBuffer]),
    (e: unknown) => {
      throw e;
    },
  );
}

export function runGenerator(input: GenInput): Promise<GenResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(__filename, { workerData: input });
    w.once('message', (m: GenResult) => resolve(m));
    w.once('error', reject);
    w.once('exit', (code) => {
      if (code !== 0) reject(new Error(`load generator exited with ${code}`));
    });
  });
}

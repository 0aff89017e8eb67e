// Buffered writer to the InfluxDB v2 write API (`POST /api/v2/write`).
//
// Written over plain `fetch` rather than the client's `WriteApi`: the client keeps its own
// retry buffer that, when full, drops ~30 % of it at once, gives up after maxRetries or
// maxRetryTime, and only logs what it dropped. That makes "the oldest points beyond the
// bound are dropped and counted exactly" impossible to guarantee. Here every point that
// write() accepted ends in exactly one of: written (2xx from the server), dropped
// (counted), or still buffered. So at any time:
//   accepted == written + dropped + buffered.
//
// One request is in flight at a time (ordering is kept; on localhost a 1,000-point
// request takes a few ms, well above the throughput we need). Failed batches go back to
// the front of the queue and are retried with exponential backoff; the queue holds at
// most maxBufferPoints (plus the one batch in flight) and overflow drops the oldest
// points first.
import { toLineProtocol, type InfluxPoint, type Precision } from './points';

export type WriterState = 'ok' | 'retrying' | 'down';

export interface InfluxWriterConfig {
  /** Base URL, e.g. `http://influxdb:8086` (a trailing `/` or `/api/v2` is ignored). */
  url: string;
  token?: string;
  org?: string;
  bucket: string;
  /** Timestamp precision on the wire (default `ms`). */
  precision?: Precision;
  /** Points per request (default 1000). */
  batchSize?: number;
  /** A partial batch is sent at the latest this long after it started (default 1000). */
  flushIntervalMs?: number;
  /**
   * Points queued at most (default 100,000); beyond, the oldest are dropped. The batch in
   * flight (at most batchSize) comes on top: if it fails it goes back to the front of the
   * queue and, being the oldest, is the first to be dropped.
   */
  maxBufferPoints?: number;
  /** First retry delay (default 250 ms); doubles per consecutive failure. */
  minRetryDelayMs?: number;
  /** Retry delay cap (default 30,000 ms). */
  maxRetryDelayMs?: number;
  /** Per-request timeout (default 10,000 ms). */
  timeoutMs?: number;
  /** Consecutive failures after which the state is `down` instead of `retrying` (default 3). */
  downAfterFailures?: number;
  /** Called whenever `state` changes. Exceptions thrown by it are swallowed. */
  onStatusChange?: (state: WriterState, stats: InfluxWriterStats) => void;
  /** Injected for tests; default: the global fetch. */
  fetch?: typeof fetch;
}

export interface InfluxWriterStats {
  /** Points accepted but not yet confirmed by the server (queued + in flight). */
  buffered: number;
  /** Points the server confirmed (2xx). */
  written: number;
  /** Points lost for good: buffer overflow, rejected by the server, left at close. */
  dropped: number;
  /** Of `dropped`: points in batches the server refused as invalid (400, 422, …). */
  rejected: number;
  /** Points given to write() that could not be turned into line protocol (not accepted). */
  invalid: number;
  /** Failed requests that were (or will be) retried. */
  retries: number;
  lastError: string | null;
  state: WriterState;
}

export interface PingResult {
  ok: boolean;
  status?: number;
  error?: string;
  latencyMs: number;
}

const DEFAULTS = {
  precision: 'ms' as Precision,
  batchSize: 1000,
  flushIntervalMs: 1000,
  maxBufferPoints: 100_000,
  minRetryDelayMs: 250,
  maxRetryDelayMs: 30_000,
  timeoutMs: 10_000,
  downAfterFailures: 3,
};

/** FIFO of lines with O(1) amortised shift and drop-from-front. */
class LineQueue {
  private items: string[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(line: string): void {
    this.items.push(line);
  }
  /** Removes up to n lines from the front and returns them. */
  take(n: number): string[] {
    const out = this.items.slice(this.head, this.head + n);
    this.head += out.length;
    this.compact();
    return out;
  }
  /** Drops up to n lines from the front; returns how many. */
  drop(n: number): number {
    const k = Math.min(n, this.length);
    this.head += k;
    this.compact();
    return k;
  }
  unshift(lines: string[]): void {
    if (lines.length === 0) return;
    if (lines.length <= this.head) {
      this.head -= lines.length;
      for (let i = 0; i < lines.length; i++) this.items[this.head + i] = lines[i] as string;
    } else {
      this.items = lines.concat(this.items.slice(this.head));
      this.head = 0;
    }
  }
  clear(): number {
    const n = this.length;
    this.items = [];
    this.head = 0;
    return n;
  }
  private compact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

type SendOutcome = 'ok' | 'retry' | 'rejected' | 'split';

class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfterMs: number | undefined,
  ) {
    super(message);
  }
}

export class InfluxWriter {
  private readonly cfg: Required<Omit<InfluxWriterConfig, 'token' | 'org' | 'onStatusChange' | 'fetch'>> & {
    token: string;
    org: string;
  };
  private readonly writeUrl: string;
  private readonly baseUrl: string;
  private readonly fetchFn: typeof fetch;
  private readonly onStatusChange: InfluxWriterConfig['onStatusChange'];

  private readonly queue = new LineQueue();
  private inflight: string[] = [];
  private inflightAbort: AbortController | undefined;
  /** True from the start of a request until its outcome has been applied. */
  private busy = false;
  private sending: Promise<void> | undefined;
  /** Set by the interval or flush(): send partial batches until the queue is empty. */
  private draining = false;
  /** Effective batch size (shrunk after a 413, restored after a success). */
  private batchLimit: number;

  private written = 0;
  private dropped = 0;
  private rejected = 0;
  private invalid = 0;
  private retries = 0;
  private lastError: string | null = null;
  private state: WriterState = 'ok';
  private failures = 0;

  private interval: ReturnType<typeof setInterval> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private idleWaiters: Array<(drained: boolean) => void> = [];

  constructor(config: InfluxWriterConfig) {
    const posInt = (v: number | undefined, d: number): number =>
      typeof v === 'number' && Number.isFinite(v) && v >= 1 ? Math.floor(v) : d;
    const maxBufferPoints = posInt(config.maxBufferPoints, DEFAULTS.maxBufferPoints);
    this.cfg = {
      url: config.url,
      token: config.token ?? '',
      org: config.org ?? '',
      bucket: config.bucket,
      precision: config.precision === 'ns' ? 'ns' : 'ms',
      maxBufferPoints,
      batchSize: Math.min(posInt(config.batchSize, DEFAULTS.batchSize), maxBufferPoints),
      flushIntervalMs: posInt(config.flushIntervalMs, DEFAULTS.flushIntervalMs),
      minRetryDelayMs: posInt(config.minRetryDelayMs, DEFAULTS.minRetryDelayMs),
      maxRetryDelayMs: posInt(config.maxRetryDelayMs, DEFAULTS.maxRetryDelayMs),
      timeoutMs: posInt(config.timeoutMs, DEFAULTS.timeoutMs),
      downAfterFailures: posInt(config.downAfterFailures, DEFAULTS.downAfterFailures),
    };
    this.batchLimit = this.cfg.batchSize;
    this.baseUrl = config.url.replace(/\/+$/, '').replace(/\/api\/v2$/, '');
    const q = new URLSearchParams({
      org: this.cfg.org,
      bucket: this.cfg.bucket,
      precision: this.cfg.precision,
    });
    this.writeUrl = `${this.baseUrl}/api/v2/write?${q.toString()}`;
    this.fetchFn = config.fetch ?? fetch;
    this.onStatusChange = config.onStatusChange;
    this.interval = setInterval(() => this.tick(), this.cfg.flushIntervalMs);
    this.interval.unref?.();
  }

  /**
   * Enqueues points (nulls are skipped). Synchronous; never throws, never blocks.
   * Returns how many points were accepted. After close() nothing is accepted and the
   * points are counted as dropped.
   */
  write(points: InfluxPoint | null | undefined | ReadonlyArray<InfluxPoint | null | undefined>): number {
    try {
      const list = Array.isArray(points) ? points : [points];
      let accepted = 0;
      for (const p of list as ReadonlyArray<InfluxPoint | null | undefined>) {
        if (p === null || p === undefined) continue;
        let line: string | null = null;
        try {
          line = toLineProtocol(p, this.cfg.precision);
        } catch {
          line = null;
        }
        if (line === null) {
          this.invalid++;
          continue;
        }
        if (this.closed) {
          this.dropped++;
          continue;
        }
        this.queue.push(line);
        accepted++;
      }
      this.enforceBound();
      if (this.queue.length >= this.batchLimit) this.pump();
      return accepted;
    } catch (err) {
      this.lastError = `write: ${errorText(err)}`;
      return 0;
    }
  }

  stats(): InfluxWriterStats {
    return {
      buffered: this.queue.length + this.inflight.length,
      written: this.written,
      dropped: this.dropped,
      rejected: this.rejected,
      invalid: this.invalid,
      retries: this.retries,
      lastError: this.lastError,
      state: this.state,
    };
  }

  /**
   * Sends everything buffered now (a pending retry delay is skipped). Resolves true when
   * the buffer is empty, false when a request failed (the points stay buffered and the
   * normal retry schedule resumes) or `timeoutMs` passed. Never rejects.
   */
  flush(timeoutMs: number = this.cfg.timeoutMs): Promise<boolean> {
    if (this.queue.length === 0 && this.inflight.length === 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      let done = false;
      const finish = (v: boolean): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(v);
      };
      const timer = setTimeout(
        () => {
          this.idleWaiters = this.idleWaiters.filter((w) => w !== finish);
          finish(false);
        },
        Math.max(0, timeoutMs),
      );
      this.idleWaiters.push(finish);
      this.draining = true;
      if (this.retryTimer) {
        clearTimeout(this.retryTimer);
        this.retryTimer = undefined;
      }
      this.pump();
    });
  }

  /**
   * Stops accepting points, keeps trying to send what is buffered until `timeoutMs`
   * (default: the request timeout) has passed, then counts whatever is left as dropped
   * and stops every timer. Resolves with the final stats. Never rejects.
   */
  async close(timeoutMs: number = this.cfg.timeoutMs): Promise<InfluxWriterStats> {
    const deadline = Date.now() + Math.max(0, timeoutMs);
    this.closed = true;
    if (this.interval) clearInterval(this.interval);
    this.interval = undefined;
    while (this.queue.length + this.inflight.length > 0) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      const drained = await this.flush(left);
      if (drained) break;
      const wait = Math.min(this.retryDelay(), deadline - Date.now());
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (this.inflightAbort) this.inflightAbort.abort();
    if (this.sending) await this.sending.catch(() => undefined);
    this.dropped += this.queue.clear();
    this.resolveWaiters(this.queue.length === 0);
    return this.stats();
  }

  /** Health check: `GET /ping` (InfluxDB 1.x/2.x, VictoriaMetrics answer 204). Never rejects. */
  async ping(timeoutMs: number = this.cfg.timeoutMs): Promise<PingResult> {
    const t0 = Date.now();
    const abort = new AbortController();
    const ms = Math.max(1, timeoutMs);
    const timer = setTimeout(() => abort.abort(timeoutError(ms)), ms);
    try {
      const res = await this.fetchFn(`${this.baseUrl}/ping`, {
        method: 'GET',
        headers: this.authHeaders(),
        signal: abort.signal,
      });
      await res.arrayBuffer().catch(() => undefined);
      return { ok: res.ok, status: res.status, latencyMs: Date.now() - t0 };
    } catch (err) {
      return { ok: false, error: errorText(err), latencyMs: Date.now() - t0 };
    } finally {
      clearTimeout(timer);
    }
  }

  // -------------------------------------------------------------------------------------

  private tick(): void {
    if (this.queue.length === 0) return;
    this.draining = true;
    this.pump();
  }

  private enforceBound(): void {
    const over = this.queue.length - this.cfg.maxBufferPoints;
    if (over > 0) this.dropped += this.queue.drop(over);
  }

  /** Starts a request when none is in flight, none is waiting for a retry, and one is due. */
  private pump(): void {
    if (this.busy || this.retryTimer) return;
    if (this.queue.length === 0) {
      this.draining = false;
      this.batchLimit = this.cfg.batchSize; // a limit shrunk by a 413 holds until the queue is empty
      this.resolveWaiters(true);
      return;
    }
    if (!this.draining && this.queue.length < this.batchLimit) return;
    const batch = this.queue.take(this.batchLimit);
    this.inflight = batch;
    this.busy = true;
    this.sending = this.send(batch);
  }

  private async send(batch: string[]): Promise<void> {
    let outcome: SendOutcome;
    let retryAfterMs: number | undefined;
    const abort = new AbortController();
    this.inflightAbort = abort;
    await Promise.resolve(); // never run the request synchronously inside write()
    const timer = setTimeout(() => abort.abort(timeoutError(this.cfg.timeoutMs)), this.cfg.timeoutMs);
    try {
      const res = await this.fetchFn(this.writeUrl, {
        method: 'POST',
        headers: { 'content-type': 'text/plain; charset=utf-8', ...this.authHeaders() },
        body: batch.join('\n'),
        signal: abort.signal,
      });
      const text = await res.text().catch(() => '');
      if (res.ok) {
        outcome = 'ok';
      } else {
        const ra = parseRetryAfter(res.headers.get('retry-after'));
        const err = new HttpStatusError(res.status, `HTTP ${res.status}: ${text.slice(0, 300)}`.trim(), ra);
        this.lastError = err.message;
        retryAfterMs = ra;
        outcome = classify(res.status, batch.length);
      }
    } catch (err) {
      this.lastError = errorText(err);
      outcome = 'retry';
    } finally {
      clearTimeout(timer);
      this.inflightAbort = undefined;
    }
    this.inflight = [];
    this.busy = false;
    switch (outcome) {
      case 'ok':
        this.written += batch.length;
        this.failures = 0;
        this.setState('ok');
        break;
      case 'rejected':
        // The server is up but refuses these lines: retrying cannot help.
        this.dropped += batch.length;
        this.rejected += batch.length;
        this.failures = 0;
        this.setState('ok');
        break;
      case 'split':
        this.batchLimit = Math.max(1, Math.floor(batch.length / 2));
        this.queue.unshift(batch);
        this.enforceBound();
        break;
      case 'retry':
        this.retries++;
        this.failures++;
        this.queue.unshift(batch);
        this.enforceBound();
        this.setState(this.failures >= this.cfg.downAfterFailures ? 'down' : 'retrying');
        this.resolveWaiters(false);
        if (!this.closed) this.scheduleRetry(retryAfterMs);
        return;
    }
    if (!this.closed || this.idleWaiters.length > 0) this.pump();
  }

  private retryDelay(): number {
    const exp = this.cfg.minRetryDelayMs * 2 ** Math.max(0, this.failures - 1);
    const jitter = 0.8 + Math.random() * 0.4;
    return Math.min(this.cfg.maxRetryDelayMs, Math.round(exp * jitter));
  }

  private scheduleRetry(retryAfterMs: number | undefined): void {
    const delay = Math.min(this.cfg.maxRetryDelayMs, Math.max(retryAfterMs ?? 0, this.retryDelay()));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.draining = true;
      this.pump();
    }, delay);
    this.retryTimer.unref?.();
  }

  private resolveWaiters(drained: boolean): void {
    if (this.idleWaiters.length === 0) return;
    const ws = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of ws) w(drained);
  }

  private setState(s: WriterState): void {
    if (s === this.state) return;
    this.state = s;
    if (!this.onStatusChange) return;
    try {
      this.onStatusChange(s, this.stats());
    } catch {
      /* a listener must not break the writer */
    }
  }

  private authHeaders(): Record<string, string> {
    return this.cfg.token ? { authorization: `Token ${this.cfg.token}` } : {};
  }
}

function classify(status: number, batchLength: number): SendOutcome {
  if (status === 413) return batchLength > 1 ? 'split' : 'rejected';
  // 401/403 (token), 404 (org/bucket not found yet), 408, 429, 5xx: configuration or
  // availability problems that an operator can fix; keep the points (bounded) meanwhile.
  if (
    status === 401 ||
    status === 403 ||
    status === 404 ||
    status === 408 ||
    status === 429 ||
    status >= 500
  ) {
    return 'retry';
  }
  return 'rejected';
}

function timeoutError(ms: number): Error {
  const e = new Error(`request timed out after ${ms} ms`);
  e.name = 'TimeoutError';
  return e;
}

function parseRetryAfter(v: string | null): number | undefined {
  if (!v) return undefined;
  const s = Number(v);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const t = Date.parse(v);
  return Number.isFinite(t) ? Math.max(0, t - Date.now()) : undefined;
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: unknown }).cause;
    const c = cause instanceof Error ? `: ${(cause as Error & { code?: string }).code ?? cause.message}` : '';
    return `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}${c}`;
  }
  return String(err);
}

// Buffered writer to the InfluxDB v2 write API (`POST /api/v2/write`), on the client's
// WriteApi: `Point` makes the lines, the WriteApi batches them (batchSize, flushInterval)
// and sends them over the client's HTTP transport (keep-alive, gzip, timeouts,
// HttpError), and its writeSuccess / writeFailed hooks report every request's outcome.
//
// Every line that write() takes ends in exactly one of: written (writeSuccess), dropped
// (counted here), or buffered (waiting in the queue here, or inside the WriteApi: its
// batch or a request in flight). So at any moment:
//   accepted == written + dropped + buffered.
// At most maxBufferPoints lines wait; beyond, the oldest are dropped. The lines inside the
// WriteApi (at most maxRequests batches) come on top: when their request fails they go
// back to the front of the queue and, being the oldest, are the first to be dropped.
//
// The client's retry buffer is not used: writeFailed always returns a promise, which
// tells the WriteApi that the hook took the failed lines. The RetryBuffer cannot keep
// the guarantee: beyond maxBufferLines it drops down to 70 % at once; it gives up after
// maxRetries / maxRetryTime through the same writeFailed call as a retry, so the hook
// cannot tell lost lines from lines that will be retried without copying the client's
// private rule; and WriteApi.close() discards it without one more attempt. Here failed
// lines go back to the front of the bounded queue (oldest dropped first, one by one,
// counted) and are sent again after a backoff, one batch at a time until the server
// answers.
import http from 'node:http';
import https from 'node:https';
import { HttpError, InfluxDB, type Point, type WriteApi } from '@influxdata/influxdb-client';
import { LineQueue } from './line-queue';
import { toLine } from './points';
import { ClosableTransport, errorText, retriable, retryAfterMs } from './transport';

export type WriterState = 'ok' | 'retrying' | 'down';

export interface InfluxWriterConfig {
  /** Base URL, e.g. `http://influxdb:8086` (a trailing `/` or `/api/v2` is ignored). */
  url: string;
  token?: string;
  org?: string;
  bucket: string;
  /** Lines per request (default 1000). */
  batchSize?: number;
  /** A partial batch is sent at the latest this long after its first line (default 1000). */
  flushIntervalMs?: number;
  /** Lines waiting at most (default 100,000); beyond, the oldest are dropped. Lines in flight come on top. */
  maxBufferPoints?: number;
  /** Batches inside the WriteApi at most while the server answers (default 4); one after a failure. */
  maxRequests?: number;
  /** First retry delay (default 250 ms); doubles per consecutive failure. */
  minRetryDelayMs?: number;
  /** Retry delay cap (default 30,000 ms). */
  maxRetryDelayMs?: number;
  /** Per-request timeout (default 10,000 ms). */
  timeoutMs?: number;
  /** Consecutive failures after which the state is `down` instead of `retrying` (default 3). */
  downAfterFailures?: number;
  /** Request bodies larger than this many bytes are sent gzipped (default: never). */
  gzipThreshold?: number;
  /** Called whenever `state` changes. Exceptions thrown by it are swallowed. */
  onStatusChange?: (state: WriterState, stats: InfluxWriterStats) => void;
}

export interface InfluxWriterStats {
  /** Lines taken by write() (including those dropped at once after close()). */
  accepted: number;
  /** Lines not yet confirmed by the server: waiting, in the client's batch or in flight. */
  buffered: number;
  /** Lines the server confirmed (2xx). */
  written: number;
  /** Lines lost for good: beyond the bound, refused by the server, left at close. */
  dropped: number;
  /** Of `dropped`: lines in requests the server refused as invalid (400, 413, 422, …). */
  rejected: number;
  /** Points given to write() that make no line (no field, no time): not accepted. */
  invalid: number;
  /** Failed requests, each retried. */
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

const posInt = (v: number | undefined, d: number): number =>
  typeof v === 'number' && Number.isFinite(v) && v >= 1 ? Math.floor(v) : d;
const RESOLVED: Promise<void> = Promise.resolve();

export class InfluxWriter {
  private readonly batchSize: number;
  private readonly maxBuffer: number;
  private readonly window: number;
  private readonly minRetryDelayMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly timeoutMs: number;
  private readonly downAfter: number;
  private readonly onStatusChange: InfluxWriterConfig['onStatusChange'];
  private readonly agent: http.Agent;
  private readonly transport: ClosableTransport;
  private readonly api: WriteApi;

  private readonly queue = new LineQueue();
  /** Lines handed to the WriteApi whose outcome has not been reported yet. */
  private inClient = 0;
  private accepted = 0;
  private written = 0;
  private dropped = 0;
  private rejected = 0;
  private invalid = 0;
  private retries = 0;
  private lastError: string | null = null;
  private state: WriterState = 'ok';
  /** Consecutive failed attempts (0 while the server answers). */
  private failures = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** Send partial batches at once until nothing is buffered (flush, close). */
  private draining = false;
  /** close() was called: new lines are dropped. */
  private closed = false;
  /** close() finished: nothing is sent any more, outcomes still arriving count as dropped. */
  private finished = false;
  private waiters: Array<(drained: boolean) => void> = [];

  constructor(config: InfluxWriterConfig) {
    this.maxBuffer = posInt(config.maxBufferPoints, 100_000);
    this.batchSize = Math.min(posInt(config.batchSize, 1000), this.maxBuffer);
    this.window = this.batchSize * posInt(config.maxRequests, 4);
    this.minRetryDelayMs = posInt(config.minRetryDelayMs, 250);
    this.maxRetryDelayMs = posInt(config.maxRetryDelayMs, 30_000);
    this.timeoutMs = posInt(config.timeoutMs, 10_000);
    this.downAfter = posInt(config.downAfterFailures, 3);
    this.onStatusChange = config.onStatusChange;

    const url = config.url
      .trim()
      .replace(/\/+$/, '')
      .replace(/\/api\/v2$/, '');
    const protocol = new URL(url).protocol; // throws on a text that is not a URL
    if (protocol !== 'http:' && protocol !== 'https:') throw new Error(`unsupported protocol ${protocol}`);
    // our own agent: close() destroys its sockets
    this.agent =
      protocol === 'https:' ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
    const client = new InfluxDB({
      url,
      token: config.token || undefined,
      timeout: this.timeoutMs,
      transportOptions: { agent: this.agent },
    });
    this.transport = new ClosableTransport(client.transport);
    this.api = new InfluxDB({ url, transport: this.transport }).getWriteApi(
      config.org ?? '',
      config.bucket,
      'ms',
      {
        batchSize: this.batchSize,
        flushInterval: posInt(config.flushIntervalMs, 1000),
        gzipThreshold: posInt(config.gzipThreshold, Number.MAX_SAFE_INTEGER),
        maxRetries: 0,
        writeSuccess: (lines: string[]) => this.succeeded(lines.length),
        writeFailed: (error: Error, lines: string[]) => this.failed(error, lines),
      },
    );
  }

  /**
   * Takes points (nulls are skipped) and returns how many made a line. Synchronous; never
   * throws, never blocks. After close() the lines are dropped at once (and counted).
   */
  write(points: Point | null | undefined | ReadonlyArray<Point | null | undefined>): number {
    const list: ReadonlyArray<Point | null | undefined> = Array.isArray(points) ? points : [points as Point];
    let n = 0;
    for (const p of list) {
      if (p === null || p === undefined) continue;
      let line: string | undefined;
      try {
        line = toLine(p);
      } catch {
        line = undefined;
      }
      if (line === undefined) {
        this.invalid++;
        continue;
      }
      n++;
      this.accepted++;
      if (this.closed) this.dropped++;
      else this.queue.push(line);
    }
    if (n > 0 && !this.closed) {
      this.enforceBound();
      this.pump();
    }
    return n;
  }

  stats(): InfluxWriterStats {
    return {
      accepted: this.accepted,
      buffered: this.buffered(),
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
   * Sends everything buffered now (a pending retry delay is skipped). Resolves true once
   * nothing is buffered, false when a request failed (the lines stay buffered and the
   * retry schedule resumes) or `timeoutMs` passed. Never rejects.
   */
  flush(timeoutMs: number = this.timeoutMs): Promise<boolean> {
    if (this.buffered() === 0) return Promise.resolve(true);
    if (this.finished) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      let settled = false;
      const finish = (drained: boolean): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== finish);
        resolve(drained);
      };
      const timer = setTimeout(() => finish(false), Math.max(0, timeoutMs));
      this.waiters.push(finish);
      this.draining = true;
      this.clearRetryTimer();
      this.pump();
    });
  }

  /**
   * Stops taking points, keeps sending what is buffered until `timeoutMs` (default: the
   * request timeout) has passed, then counts whatever is left as dropped, ends the
   * requests still open and releases every timer and socket. Resolves with the final
   * stats. Never rejects; a second call returns the stats.
   */
  async close(timeoutMs: number = this.timeoutMs): Promise<InfluxWriterStats> {
    if (this.closed) {
      while (!this.finished) await new Promise((r) => setTimeout(r, 10));
      return this.stats();
    }
    this.closed = true;
    const deadline = Date.now() + Math.max(0, timeoutMs);
    while (this.buffered() > 0 && Date.now() < deadline) {
      if (await this.flush(deadline - Date.now())) break;
      // a request failed: wait for the backoff (within the deadline) and try again
      const wait = Math.min(this.retryDelay(), deadline - Date.now());
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    this.finished = true;
    this.clearRetryTimer();
    this.dropped += this.queue.clear();
    const unsent = this.api.dispose(); // lines of the client's batch, never sent
    this.inClient -= unsent;
    this.dropped += unsent;
    this.transport.abortAll(new Error('writer closed')); // their lines are counted by failed()
    this.agent.destroy();
    this.resolveWaiters(this.buffered() === 0);
    return this.stats();
  }

  /** Health check: `GET /ping` (InfluxDB 1.x/2.x/3.x and VictoriaMetrics answer 204). Never rejects. */
  async ping(timeoutMs: number = this.timeoutMs): Promise<PingResult> {
    const t0 = Date.now();
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), Math.max(1, timeoutMs));
    try {
      await this.transport.request('/ping', '', { method: 'GET', signal: abort.signal });
      return { ok: true, status: 204, latencyMs: Date.now() - t0 };
    } catch (err) {
      const out: PingResult = { ok: false, error: errorText(err), latencyMs: Date.now() - t0 };
      if (err instanceof HttpError) out.status = err.statusCode;
      if (abort.signal.aborted) out.error = `no answer within ${timeoutMs} ms`;
      return out;
    } finally {
      clearTimeout(timer);
    }
  }

  // -------------------------------------------------------------------------------------

  private buffered(): number {
    return this.queue.length + this.inClient;
  }

  /** Drops the oldest waiting lines beyond the bound. */
  private enforceBound(): void {
    const over = this.queue.length - this.maxBuffer;
    if (over > 0) this.dropped += this.queue.drop(over);
  }

  /**
   * Hands waiting lines to the WriteApi, up to the window (one batch after a failure).
   * A full batch goes out at once, a partial one after flushIntervalMs, or now when
   * draining or probing a failed server.
   */
  private pump(): void {
    if (this.finished || this.retryTimer) return;
    const limit = this.failures > 0 ? this.batchSize : this.window;
    while (this.queue.length > 0 && this.inClient < limit) {
      const lines = this.queue.take(Math.min(limit - this.inClient, this.batchSize));
      this.inClient += lines.length;
      this.api.writeRecords(lines);
    }
    if (this.draining || this.failures > 0) this.api.flush().catch(() => undefined);
  }

  private succeeded(n: number): void {
    this.inClient -= n;
    this.written += n;
    if (!this.finished) {
      this.failures = 0;
      this.setState('ok');
    }
    this.next();
  }

  private failed(error: Error, lines: string[]): Promise<void> {
    const n = lines.length;
    const status = error instanceof HttpError ? error.statusCode : undefined;
    if (status !== undefined && status >= 200 && status < 300) {
      this.succeeded(n); // a 2xx other than 204/201: the server took the lines
      return RESOLVED;
    }
    this.inClient -= n;
    this.lastError = errorText(error);
    if (this.finished) {
      this.dropped += n;
    } else if (status === undefined || retriable(status)) {
      this.retries++;
      if (!this.retryTimer) this.failures++; // requests failing together are one attempt
      this.queue.unshift(lines);
      this.enforceBound();
      this.setState(this.failures >= this.downAfter ? 'down' : 'retrying');
      this.resolveWaiters(false);
      this.scheduleRetry(error);
      return RESOLVED;
    } else {
      // the server is up but refuses these lines: retrying cannot help
      this.dropped += n;
      this.rejected += n;
    }
    this.next();
    return RESOLVED;
  }

  /** After an outcome: wake the waiters when nothing is buffered, else keep sending. */
  private next(): void {
    if (this.buffered() === 0) {
      this.draining = false;
      this.resolveWaiters(true);
    } else {
      this.pump();
    }
  }

  private retryDelay(): number {
    const exp = this.minRetryDelayMs * 2 ** Math.max(0, this.failures - 1);
    return Math.min(this.maxRetryDelayMs, Math.round(exp * (0.8 + Math.random() * 0.4)));
  }

  private scheduleRetry(error: Error): void {
    if (this.retryTimer || this.closed) return;
    const after = error instanceof HttpError ? retryAfterMs(error.headers?.['retry-after']) : 0;
    const delay = Math.min(this.maxRetryDelayMs, Math.max(after, this.retryDelay()));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.pump();
    }, delay);
    this.retryTimer.unref?.();
  }

  private clearRetryTimer(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private resolveWaiters(drained: boolean): void {
    for (const w of this.waiters.splice(0)) w(drained);
  }

  private setState(s: WriterState): void {
    if (s === this.state) return;
    this.state = s;
    try {
      this.onStatusChange?.(s, this.stats());
    } catch {
      /* a listener must not break the writer */
    }
  }
}

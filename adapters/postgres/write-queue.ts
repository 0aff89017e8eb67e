// Write queue between the twin and PostgreSQL: coalesces rows by key (latest wins), writes
// them in batches (one statement per table), keeps them and retries with exponential backoff
// while the database is away, and stays bounded by dropping the oldest telemetry-derived
// rows first. Sessions, DLM events, the audit log, operator settings (hub/node control) and
// deletes are never dropped. A delete makes the rows of its entity still waiting obsolete
// (they are discarded, not counted as dropped) and is written before any row of a batch, so
// an entity deleted and created again ends up created. Time and timers are injected.
//
// Here: the timers, the batches and their writes (a batch refused for its content is written
// row by row to find the rows to reject), the status and close. The waiting rows and the drop
// policy are in write-pending.ts, the backoff in write-retry.ts, the tables in write-tables.ts.
import type { RepositoryWriter } from './repository';
import { systemTimers, type TimerApi, type WriteQueueOptions, type WriteQueueStats } from './write-options';
import { PendingRows, type Entry } from './write-pending';
import { retryDelay, type Backoff } from './write-retry';
import { TABLES, isDataError, type WriteItem, type WriteTable } from './write-tables';

export { systemTimers, type TimerApi, type WriteQueueOptions, type WriteQueueStats } from './write-options';
export {
  TABLE_ORDER,
  isDataError,
  type WriteItem,
  type WritePriority,
  type WriteRows,
  type WriteTable,
} from './write-tables';

export class WriteQueue {
  private readonly writer: RepositoryWriter;
  private readonly flushMs: number;
  private readonly batchSize: number;
  private readonly backoff: Backoff;
  private readonly timers: TimerApi;
  private readonly onStatus: WriteQueueOptions['onStatus'];
  private readonly onReject: WriteQueueOptions['onReject'];

  private readonly rows: PendingRows;
  private written = 0;
  private retries = 0;
  private rejected = 0;
  private lastError: string | null = null;
  private connected = true;
  private failures = 0;
  private statusDirty = false;
  private flushTimer: unknown = undefined;
  private retryTimer: unknown = undefined;
  private flushing: Promise<boolean> | null = null;
  private closing = false;

  constructor(writer: RepositoryWriter, options: WriteQueueOptions = {}) {
    this.writer = writer;
    this.flushMs = options.flushMs ?? 50;
    this.batchSize = Math.max(1, options.batchSize ?? 500);
    this.rows = new PendingRows(Math.max(1, options.maxQueued ?? 100_000));
    this.backoff = {
      minMs: options.retryMinMs ?? 100,
      maxMs: options.retryMaxMs ?? 5000,
      jitter: Math.min(1, Math.max(0, options.jitter ?? 0.2)),
      random: options.random ?? Math.random,
    };
    this.timers = options.timers ?? systemTimers;
    this.onStatus = options.onStatus;
    this.onReject = options.onReject;
  }

  /** Queues one row. Returns false (and ignores it) once the queue is closing. */
  enqueue(item: WriteItem): boolean {
    if (this.closing) return false;
    if (this.rows.add(item) > 0) this.statusDirty = true;
    this.schedule();
    return true;
  }

  enqueueAll(items: Iterable<WriteItem>): void {
    for (const item of items) this.enqueue(item);
  }

  stats(): WriteQueueStats {
    return {
      queued: this.rows.waiting + this.rows.inFlight,
      written: this.written,
      retries: this.retries,
      dropped: this.rows.dropped,
      rejected: this.rejected,
      lastError: this.lastError,
      connected: this.connected,
    };
  }

  /**
   * Writes what is queued now (one batch after another) without waiting for the timer.
   * Resolves true when everything taken was written, false after a failed attempt.
   */
  async flush(): Promise<boolean> {
    this.clearFlushTimer();
    let ok: boolean;
    do {
      ok = await (this.flushing ?? this.runBatch());
    } while (ok && this.rows.waiting > 0);
    return ok;
  }

  /**
   * Stops the timers and writes what it can within timeoutMs (retrying with backoff).
   * Later enqueues are ignored. Resolves with the rows that could not be written.
   */
  async close(timeoutMs = 5000): Promise<{ remaining: number }> {
    this.closing = true;
    this.clearFlushTimer();
    this.clearRetryTimer();
    let stop = false;
    let deadlineTimer: unknown;
    const deadline = new Promise<void>((resolve) => {
      deadlineTimer = this.timers.setTimeout(resolve, timeoutMs);
    });
    const end = this.timers.now() + timeoutMs;
    const drain = async (): Promise<void> => {
      while (!stop && this.rows.waiting + this.rows.inFlight > 0) {
        const ok = await this.flush();
        if (ok || stop) continue;
        const wait = Math.min(retryDelay(this.failures, this.backoff), end - this.timers.now());
        if (wait <= 0) break;
        let t: unknown;
        await Promise.race([new Promise<void>((r) => (t = this.timers.setTimeout(r, wait))), deadline]);
        this.timers.clearTimeout(t);
      }
    };
    await Promise.race([drain(), deadline]);
    stop = true;
    this.timers.clearTimeout(deadlineTimer);
    this.clearFlushTimer();
    this.clearRetryTimer();
    return { remaining: this.rows.waiting + this.rows.inFlight };
  }

  // -------------------------------------------------------------------------------------

  private clearFlushTimer(): void {
    if (this.flushTimer !== undefined) this.timers.clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
  }

  private clearRetryTimer(): void {
    if (this.retryTimer !== undefined) this.timers.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  /** Arms the flush timer (or an immediate flush for a full batch) unless a flush or retry is due anyway. */
  private schedule(): void {
    if (this.closing || this.flushing || this.retryTimer !== undefined || this.rows.waiting === 0) return;
    if (this.rows.waiting >= this.batchSize) {
      this.clearFlushTimer();
      this.flushTimer = this.timers.setTimeout(() => this.onTimer(), 0);
    } else if (this.flushTimer === undefined) {
      this.flushTimer = this.timers.setTimeout(() => this.onTimer(), this.flushMs);
    }
  }

  private onTimer(): void {
    this.flushTimer = undefined;
    this.retryTimer = undefined;
    void this.runBatch();
  }

  /** Returns rows of a failed write to the queue. */
  private putBack(entries: Entry[]): void {
    if (this.rows.putBack(entries) > 0) this.statusDirty = true;
  }

  private async write(table: WriteTable, rows: object[]): Promise<void> {
    const fn = this.writer[TABLES[table].write] as (rows: object[]) => Promise<number>;
    await fn.call(this.writer, rows);
  }

  private reject(entry: Entry, err: unknown): void {
    this.rejected++;
    this.statusDirty = true;
    this.lastError = err instanceof Error ? err.message : String(err);
    try {
      this.onReject?.(
        { table: entry.table, row: entry.row },
        err instanceof Error ? err : new Error(String(err)),
      );
    } catch {
      /* a failing callback must not break the queue */
    }
  }

  /** One batch: true when every row taken was written (or rejected for its content). */
  private runBatch(): Promise<boolean> {
    if (this.flushing) return this.flushing;
    this.clearFlushTimer();
    this.clearRetryTimer();
    const run = async (): Promise<boolean> => {
      const groups = this.rows.take(this.batchSize);
      if (groups.length === 0) return true;
      for (let g = 0; g < groups.length; g++) {
        const group = groups[g] ?? [];
        const table = group[0]?.table;
        if (!table) continue;
        let failure: unknown = null;
        try {
          await this.write(
            table,
            group.map((e) => e.row),
          );
          this.written += group.length;
          this.rows.done(group);
        } catch (err) {
          if (!isDataError(err)) {
            failure = err;
          } else {
            // Some row is refused for its content: find it by writing the rows one by one.
            for (let i = 0; i < group.length; i++) {
              const entry = group[i] as Entry;
              try {
                await this.write(table, [entry.row]);
                this.written++;
                this.rows.done([entry]);
              } catch (rowErr) {
                if (isDataError(rowErr)) {
                  this.rows.done([entry]);
                  this.reject(entry, rowErr);
                } else {
                  failure = rowErr;
                  this.putBack(group.slice(i));
                  break;
                }
              }
            }
            if (failure) {
              for (const rest of groups.slice(g + 1)) this.putBack(rest);
              return this.failed(failure);
            }
            continue;
          }
        }
        if (failure) {
          for (const rest of groups.slice(g)) this.putBack(rest);
          return this.failed(failure);
        }
      }
      this.failures = 0;
      this.setConnected(true);
      return true;
    };
    const p = run().finally(() => {
      this.flushing = null;
      this.emitIfDirty();
      this.schedule();
    });
    this.flushing = p;
    return p;
  }

  private failed(err: unknown): false {
    this.failures++;
    this.retries++;
    this.lastError = err instanceof Error ? err.message : String(err);
    this.setConnected(false);
    if (!this.closing) {
      this.clearRetryTimer();
      this.retryTimer = this.timers.setTimeout(() => this.onTimer(), retryDelay(this.failures, this.backoff));
    }
    return false;
  }

  private setConnected(c: boolean): void {
    if (this.connected !== c) {
      this.connected = c;
      this.statusDirty = true;
    }
  }

  private emitIfDirty(): void {
    if (!this.statusDirty) return;
    this.statusDirty = false;
    try {
      this.onStatus?.(this.stats());
    } catch {
      /* a failing callback must not break the queue */
    }
  }
}

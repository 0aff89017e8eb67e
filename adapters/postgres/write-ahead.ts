// Write-ahead of our own DLM events: each is stored before it is published, so a DLM event a hub
// received is in dlm_events (and restores the limits in force) even after a kill -9. Waiting is
// bounded: when PostgreSQL is known to be away, or a write takes longer than `maxWaitMs`, the
// events are published anyway (the DLM keeps working without its database) and their rows go to
// the write queue, which retries them (the insert is idempotent by event key, so a write that
// completes late does no harm).
//
// Events are released in the order they were submitted. While one write is under way, the
// events that arrive meanwhile wait and are written together next: a burst (one allocation's
// decreases and increases) is one statement, and nothing waits for a timer.
import type { DlmEventInsert } from './rows';
import { systemTimers, type TimerApi } from './write-options';
import type { WriteItem } from './write-tables';

export interface WriteAheadOptions<T> {
  /** Stores the rows (one statement). */
  insert(rows: DlmEventInsert[]): Promise<unknown>;
  /** Rows the direct write could not store: handed to the write queue, which retries them. */
  fallback(items: WriteItem[]): void;
  /** Is PostgreSQL reachable, as far as the write queue knows? When it is not, nothing waits. */
  up(): boolean;
  /** The events, in submission order, once stored or given up on. */
  release(payloads: T[]): void;
  /** Longest wait for a write before the events go out anyway (ms). */
  maxWaitMs: number;
  timers?: TimerApi;
}

export interface WriteAheadStats {
  /** Events stored before they were released. */
  stored: number;
  /** Events released before their row was stored (PostgreSQL away or slow): retried. */
  releasedFirst: number;
}

export class WriteAhead<T> {
  private readonly o: WriteAheadOptions<T>;
  private readonly timers: TimerApi;
  private waiting: Array<{ item: WriteItem; payload: T }> = [];
  private busy: Promise<void> | null = null;
  private stored = 0;
  private releasedFirst = 0;

  constructor(options: WriteAheadOptions<T>) {
    this.o = options;
    this.timers = options.timers ?? systemTimers;
  }

  /** One DLM event row (a `dlmEvents` write item) and what to release once it is stored. */
  submit(item: WriteItem, payload: T): void {
    this.waiting.push({ item, payload });
    if (!this.busy) this.busy = this.run();
  }

  stats(): WriteAheadStats {
    return { stored: this.stored, releasedFirst: this.releasedFirst };
  }

  /** Resolves once everything submitted has been released. */
  async drain(): Promise<void> {
    while (this.busy) await this.busy;
  }

  private async run(): Promise<void> {
    // Always start on a later tick: `busy` must be set (in submit) before run() can clear it,
    // and the events submitted in the same turn go out in one batch.
    await Promise.resolve();
    while (this.waiting.length) {
      const batch = this.waiting;
      this.waiting = [];
      const ok = this.o.up() ? await this.write(batch.map((b) => b.item.row as DlmEventInsert)) : false;
      if (ok) this.stored += batch.length;
      else {
        this.releasedFirst += batch.length;
        this.o.fallback(batch.map((b) => b.item));
      }
      this.o.release(batch.map((b) => b.payload));
    }
    this.busy = null;
  }

  /** True when the rows were stored within maxWaitMs. */
  private write(rows: DlmEventInsert[]): Promise<boolean> {
    return new Promise((resolve) => {
      let settled = false;
      const finish = (ok: boolean) => {
        if (settled) return;
        settled = true;
        this.timers.clearTimeout(timer);
        resolve(ok);
      };
      const timer = this.timers.setTimeout(() => finish(false), this.o.maxWaitMs);
      this.o.insert(rows).then(
        () => finish(true),
        () => finish(false),
      );
    });
  }
}

// Options, statistics and the clock of the write queue.
import type { WriteTable } from './write-tables';

/** Clock and timers (inject a fake one in tests). */
export interface TimerApi {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemTimers: TimerApi = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface WriteQueueStats {
  /** Rows waiting or being written (after coalescing). */
  queued: number;
  /** Rows written successfully. */
  written: number;
  /** Failed write attempts that will be retried. */
  retries: number;
  /** Telemetry rows dropped because the queue was full. */
  dropped: number;
  /** Rows the database refused for their content (data/constraint errors); not retried. */
  rejected: number;
  lastError: string | null;
  /** False after a failed write until the next successful one. */
  connected: boolean;
}

export interface WriteQueueOptions {
  /** Flush this long after the first row waits (default 50 ms). */
  flushMs?: number;
  /** Flush at once when this many rows wait; also the maximum rows per batch (default 500). */
  batchSize?: number;
  /**
   * Bound on waiting rows (default 100,000; plus at most one batch being written). Past it the
   * oldest telemetry rows are dropped; durable rows are kept even beyond it.
   */
  maxQueued?: number;
  /** First retry delay (default 100 ms), doubled per failure up to retryMaxMs (default 5000 ms). */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** ± fraction of random jitter on retry delays (default 0.2). */
  jitter?: number;
  random?: () => number;
  timers?: TimerApi;
  /** Called when `connected` changes, and after a flush in which rows were dropped or rejected. */
  onStatus?: (stats: WriteQueueStats) => void;
  /** Called for each row the database refused (it is not retried). */
  onReject?: (item: { table: WriteTable; row: unknown }, error: Error) => void;
}

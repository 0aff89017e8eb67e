// Write queue between the twin and PostgreSQL: coalesces rows by key (latest wins), writes
// them in batches (one statement per table), keeps them and retries with exponential backoff
// while the database is away, and stays bounded by dropping the oldest telemetry-derived
// rows first. Sessions and DLM events are never dropped. Time and timers are injected.
import {
  dlmEventKey,
  hubKey,
  mergeDefined,
  mergeSession,
  nodeKey,
  sessionKey,
  vehicleKey,
  type RepositoryWriter,
} from './repository';
import type {
  DlmEventInsert,
  HubUpsert,
  NodeUpsert,
  SessionUpsert,
  VehicleProfile,
  VehicleTelemetryUpsert,
} from './rows';

export interface WriteRows {
  hubs: HubUpsert;
  nodes: NodeUpsert;
  vehicles: VehicleTelemetryUpsert;
  vehicleProfiles: VehicleProfile;
  sessions: SessionUpsert;
  dlmEvents: DlmEventInsert;
}
export type WriteTable = keyof WriteRows;
/** 'telemetry' rows may be dropped when the queue is full; 'durable' ones never. */
export type WritePriority = 'telemetry' | 'durable';
export type WriteItem = {
  [T in WriteTable]: {
    table: T;
    row: WriteRows[T];
    /** Default: 'telemetry' for hubs/nodes/vehicles, 'durable' otherwise. Sessions and DLM events are always durable. */
    priority?: WritePriority;
  };
}[WriteTable];

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

interface Entry {
  table: WriteTable;
  key: string;
  row: object;
  durable: boolean;
}

interface TableSpec {
  key: (row: never) => string;
  merge: (prev: never, next: never) => object;
  write: keyof RepositoryWriter;
  defaultDurable: boolean;
  alwaysDurable: boolean;
}

const TABLES: Record<WriteTable, TableSpec> = {
  hubs: {
    key: hubKey,
    merge: mergeDefined,
    write: 'upsertHubs',
    defaultDurable: false,
    alwaysDurable: false,
  },
  nodes: {
    key: nodeKey,
    merge: mergeDefined,
    write: 'upsertNodes',
    defaultDurable: false,
    alwaysDurable: false,
  },
  vehicles: {
    key: vehicleKey,
    merge: mergeDefined,
    write: 'upsertVehicles',
    defaultDurable: false,
    alwaysDurable: false,
  },
  vehicleProfiles: {
    key: vehicleKey,
    merge: mergeDefined,
    write: 'upsertVehicleProfiles',
    defaultDurable: true,
    alwaysDurable: false,
  },
  sessions: {
    key: sessionKey,
    merge: mergeSession,
    write: 'upsertSessions',
    defaultDurable: true,
    alwaysDurable: true,
  },
  dlmEvents: {
    key: dlmEventKey,
    merge: (first: object) => first, // insert-only: the first row of a key wins
    write: 'insertDlmEvents',
    defaultDurable: true,
    alwaysDurable: true,
  },
};

/** Write order inside a batch: parents first. */
export const TABLE_ORDER: readonly WriteTable[] = [
  'hubs',
  'nodes',
  'vehicles',
  'vehicleProfiles',
  'sessions',
  'dlmEvents',
];

/** PostgreSQL data exceptions (22xxx) and integrity violations (23xxx): retrying cannot help. */
export function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code);
}

function keyOf(table: WriteTable, row: object): string {
  return (TABLES[table].key as (r: object) => string)(row);
}

function mergeRows(table: WriteTable, prev: object, next: object): object {
  return (TABLES[table].merge as (a: object, b: object) => object)(prev, next);
}

export class WriteQueue {
  private readonly writer: RepositoryWriter;
  private readonly flushMs: number;
  private readonly batchSize: number;
  private readonly maxQueued: number;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;
  private readonly jitter: number;
  private readonly random: () => number;
  private readonly timers: TimerApi;
  private readonly onStatus: WriteQueueOptions['onStatus'];
  private readonly onReject: WriteQueueOptions['onReject'];

  private pending: Record<WriteTable, Map<string, Entry>> = {
    hubs: new Map(),
    nodes: new Map(),
    vehicles: new Map(),
    vehicleProfiles: new Map(),
    sessions: new Map(),
    dlmEvents: new Map(),
  };
  /** Pending non-durable entries, least recently updated first (drop order). */
  private droppable = new Map<string, Entry>();
  private pendingCount = 0;
  private inFlight = 0;
  private written = 0;
  private retries = 0;
  private dropped = 0;
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
    this.maxQueued = Math.max(1, options.maxQueued ?? 100_000);
    this.retryMinMs = options.retryMinMs ?? 100;
    this.retryMaxMs = options.retryMaxMs ?? 5000;
    this.jitter = Math.min(1, Math.max(0, options.jitter ?? 0.2));
    this.random = options.random ?? Math.random;
    this.timers = options.timers ?? systemTimers;
    this.onStatus = options.onStatus;
    this.onReject = options.onReject;
  }

  /** Queues one row. Returns false (and ignores it) once the queue is closing. */
  enqueue(item: WriteItem): boolean {
    if (this.closing) return false;
    const spec = TABLES[item.table];
    const durable =
      spec.alwaysDurable || (item.priority === undefined ? spec.defaultDurable : item.priority === 'durable');
    const key = keyOf(item.table, item.row);
    const map = this.pending[item.table];
    const gk = `${item.table}\u0001${key}`;
    const existing = map.get(key);
    if (existing) {
      existing.row = mergeRows(item.table, existing.row, item.row);
      existing.durable ||= durable;
      this.droppable.delete(gk);
      if (!existing.durable) this.droppable.set(gk, existing);
    } else {
      const entry: Entry = { table: item.table, key, row: item.row, durable };
      map.set(key, entry);
      this.pendingCount++;
      if (!durable) this.droppable.set(gk, entry);
    }
    this.enforceBound();
    this.schedule();
    return true;
  }

  enqueueAll(items: Iterable<WriteItem>): void {
    for (const item of items) this.enqueue(item);
  }

  stats(): WriteQueueStats {
    return {
      queued: this.pendingCount + this.inFlight,
      written: this.written,
      retries: this.retries,
      dropped: this.dropped,
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
    } while (ok && this.pendingCount > 0);
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
      while (!stop && this.pendingCount + this.inFlight > 0) {
        const ok = await this.flush();
        if (ok || stop) continue;
        const wait = Math.min(this.retryDelay(), end - this.timers.now());
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
    return { remaining: this.pendingCount + this.inFlight };
  }

  // -------------------------------------------------------------------------------------

  private enforceBound(): void {
    // Rows being written are not counted: if their write fails they come back (at the front,
    // as the oldest) and are checked then; if it succeeds nothing needed dropping.
    while (this.pendingCount > this.maxQueued && this.droppable.size > 0) {
      const first = this.droppable.entries().next().value;
      if (!first) break;
      const [gk, entry] = first;
      this.droppable.delete(gk);
      this.pending[entry.table].delete(entry.key);
      this.pendingCount--;
      this.dropped++;
      this.statusDirty = true;
    }
  }

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
    if (this.closing || this.flushing || this.retryTimer !== undefined || this.pendingCount === 0) return;
    if (this.pendingCount >= this.batchSize) {
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

  private retryDelay(): number {
    const base = Math.min(this.retryMaxMs, this.retryMinMs * 2 ** Math.max(0, this.failures - 1));
    const factor = 1 - this.jitter + 2 * this.jitter * this.random();
    return Math.max(0, Math.min(this.retryMaxMs, Math.round(base * factor)));
  }

  private takeBatch(): Entry[][] {
    const groups: Entry[][] = [];
    let room = this.batchSize;
    for (const table of TABLE_ORDER) {
      if (room === 0) break;
      const map = this.pending[table];
      if (map.size === 0) continue;
      const group: Entry[] = [];
      for (const entry of map.values()) {
        if (room === 0) break;
        group.push(entry);
        room--;
      }
      for (const e of group) {
        map.delete(e.key);
        this.droppable.delete(`${table}\u0001${e.key}`);
      }
      this.pendingCount -= group.length;
      this.inFlight += group.length;
      groups.push(group);
    }
    return groups;
  }

  /** Returns rows of a failed write to the front of the queue, merged under newer rows of the same key. */
  private putBack(entries: Entry[]): void {
    this.inFlight -= entries.length;
    const byTable = new Map<WriteTable, Entry[]>();
    const returnedDroppable: [string, Entry][] = [];
    for (const old of entries) {
      const map = this.pending[old.table];
      const newer = map.get(old.key);
      const gk = `${old.table}\u0001${old.key}`;
      if (newer) {
        newer.row = mergeRows(old.table, old.row, newer.row);
        newer.durable ||= old.durable;
        if (newer.durable) this.droppable.delete(gk);
        continue;
      }
      let list = byTable.get(old.table);
      if (!list) byTable.set(old.table, (list = []));
      list.push(old);
      this.pendingCount++;
      if (!old.durable) returnedDroppable.push([gk, old]);
    }
    for (const [table, list] of byTable) {
      this.pending[table] = new Map([
        ...list.map((e): [string, Entry] => [e.key, e]),
        ...this.pending[table],
      ]);
    }
    if (returnedDroppable.length) this.droppable = new Map([...returnedDroppable, ...this.droppable]);
    this.enforceBound();
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
      const groups = this.takeBatch();
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
          this.inFlight -= group.length;
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
                this.inFlight--;
              } catch (rowErr) {
                if (isDataError(rowErr)) {
                  this.inFlight--;
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
      this.retryTimer = this.timers.setTimeout(() => this.onTimer(), this.retryDelay());
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

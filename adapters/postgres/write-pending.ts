// The rows of the write queue waiting to be written: one map per table, coalesced by key (latest
// wins, merged), the rows taken by the batch being written, and the drop policy: past the bound
// the oldest telemetry rows (least recently updated first) are dropped; durable rows never are.
// A delete makes the rows of its entity still waiting obsolete (discarded, not counted as
// dropped) and marks those being written so a failed write does not put them back.
import type { EntityDelete } from './rows';
import {
  TABLE_ORDER,
  TABLES,
  keyOf,
  mergeRows,
  obsoleteBy,
  type WriteItem,
  type WriteTable,
} from './write-tables';

export interface Entry {
  table: WriteTable;
  key: string;
  row: object;
  durable: boolean;
  /** Being written when a delete of its entity came: not put back if the write fails. */
  superseded?: boolean;
}

const globalKey = (table: WriteTable, key: string): string => `${table}\u0001${key}`;

export class PendingRows {
  private readonly maxQueued: number;
  private pending = Object.fromEntries(TABLE_ORDER.map((t) => [t, new Map<string, Entry>()])) as Record<
    WriteTable,
    Map<string, Entry>
  >;
  /** Entries taken by the batch being written. */
  private taken = new Set<Entry>();
  /** Pending non-durable entries, least recently updated first (drop order). */
  private droppable = new Map<string, Entry>();
  private waitingCount = 0;
  private inFlightCount = 0;
  private droppedCount = 0;

  /** maxQueued: bound on waiting rows (rows being written are not counted). */
  constructor(maxQueued: number) {
    this.maxQueued = maxQueued;
  }

  /** Rows waiting (after coalescing). */
  get waiting(): number {
    return this.waitingCount;
  }
  /** Rows taken by the batch being written. */
  get inFlight(): number {
    return this.inFlightCount;
  }
  /** Telemetry rows dropped by the bound so far. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** Adds (or merges) one row. Returns how many rows the bound dropped. */
  add(item: WriteItem): number {
    const spec = TABLES[item.table];
    const durable =
      spec.alwaysDurable || (item.priority === undefined ? spec.defaultDurable : item.priority === 'durable');
    const key = keyOf(item.table, item.row);
    const map = this.pending[item.table];
    const gk = globalKey(item.table, key);
    const existing = map.get(key);
    if (existing) {
      existing.row = mergeRows(item.table, existing.row, item.row);
      existing.durable ||= durable;
      this.droppable.delete(gk);
      if (!existing.durable) this.droppable.set(gk, existing);
    } else {
      const entry: Entry = { table: item.table, key, row: item.row, durable };
      map.set(key, entry);
      this.waitingCount++;
      if (!durable) this.droppable.set(gk, entry);
    }
    if (item.table === 'deletes') this.discardObsolete(item.row);
    return this.enforceBound();
  }

  /** Takes up to batchSize rows, one group per table in TABLE_ORDER; they are in flight until written or put back. */
  take(batchSize: number): Entry[][] {
    const groups: Entry[][] = [];
    let room = batchSize;
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
        this.droppable.delete(globalKey(table, e.key));
      }
      this.waitingCount -= group.length;
      this.inFlightCount += group.length;
      for (const e of group) this.taken.add(e);
      groups.push(group);
    }
    return groups;
  }

  /** Taken rows that are done with (written, or rejected for their content). */
  done(entries: readonly Entry[]): void {
    this.inFlightCount -= entries.length;
    for (const e of entries) this.taken.delete(e);
  }

  /**
   * Returns rows of a failed write to the front of the queue, merged under newer rows of the
   * same key. Returns how many rows the bound dropped.
   */
  putBack(entries: readonly Entry[]): number {
    this.inFlightCount -= entries.length;
    const byTable = new Map<WriteTable, Entry[]>();
    const returnedDroppable: [string, Entry][] = [];
    for (const old of entries) {
      this.taken.delete(old);
      if (old.superseded) continue; // its entity was deleted meanwhile
      const map = this.pending[old.table];
      const newer = map.get(old.key);
      const gk = globalKey(old.table, old.key);
      if (newer) {
        newer.row = mergeRows(old.table, old.row, newer.row);
        newer.durable ||= old.durable;
        if (newer.durable) this.droppable.delete(gk);
        continue;
      }
      let list = byTable.get(old.table);
      if (!list) byTable.set(old.table, (list = []));
      list.push(old);
      this.waitingCount++;
      if (!old.durable) returnedDroppable.push([gk, old]);
    }
    for (const [table, list] of byTable) {
      this.pending[table] = new Map([
        ...list.map((e): [string, Entry] => [e.key, e]),
        ...this.pending[table],
      ]);
    }
    if (returnedDroppable.length) this.droppable = new Map([...returnedDroppable, ...this.droppable]);
    return this.enforceBound();
  }

  private enforceBound(): number {
    // Rows being written are not counted: if their write fails they come back (at the front,
    // as the oldest) and are checked then; if it succeeds nothing needed dropping.
    let dropped = 0;
    while (this.waitingCount > this.maxQueued && this.droppable.size > 0) {
      const first = this.droppable.entries().next().value;
      if (!first) break;
      const [gk, entry] = first;
      this.droppable.delete(gk);
      this.pending[entry.table].delete(entry.key);
      this.waitingCount--;
      dropped++;
    }
    this.droppedCount += dropped;
    return dropped;
  }

  /** Rows of a deleted entity still waiting are discarded; those being written are not put back. */
  private discardObsolete(d: EntityDelete): void {
    for (const [table, obsolete] of obsoleteBy(d)) {
      const map = this.pending[table];
      for (const key of [...map.keys()]) {
        if (!obsolete(key)) continue;
        map.delete(key);
        this.droppable.delete(globalKey(table, key));
        this.waitingCount--;
      }
    }
    const tables = new Map(obsoleteBy(d));
    for (const e of this.taken) if (tables.get(e.table)?.(e.key)) e.superseded = true;
  }
}

// Counts of accepted and rejected messages per topic kind, with the last rejection.
// Bounded: keyed by the 8 contract kinds plus 'unknown' (never by raw topic strings, which
// a hostile client could make unbounded).

export interface KindCounts {
  accepted: number;
  rejected: number;
  lastError?: { message: string; topic: string; ts: number };
}

export type CountKey = string;

export class IngestCounters {
  private readonly byKind = new Map<CountKey, KindCounts>();

  private entry(kind: CountKey): KindCounts {
    let e = this.byKind.get(kind);
    if (!e) {
      e = { accepted: 0, rejected: 0 };
      this.byKind.set(kind, e);
    }
    return e;
  }

  accept(kind: CountKey): void {
    this.entry(kind).accepted++;
  }

  reject(kind: CountKey | undefined, topic: string, message: string, ts: number): void {
    const e = this.entry(kind ?? 'unknown');
    e.rejected++;
    e.lastError = { message, topic: topic.slice(0, 200), ts };
  }

  totals(): { accepted: number; rejected: number } {
    let accepted = 0;
    let rejected = 0;
    for (const e of this.byKind.values()) {
      accepted += e.accepted;
      rejected += e.rejected;
    }
    return { accepted, rejected };
  }

  snapshot(): { totals: { accepted: number; rejected: number }; byKind: Record<string, KindCounts> } {
    const byKind: Record<string, KindCounts> = {};
    for (const [k, v] of [...this.byKind.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      byKind[k] = { ...v, ...(v.lastError ? { lastError: { ...v.lastError } } : {}) };
    }
    return { totals: this.totals(), byKind };
  }

  reset(): void {
    this.byKind.clear();
  }
}

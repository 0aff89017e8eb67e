// What the fault tests assert and print about a FaultFleet (helpers/fault-fleet.ts): Σ of the
// limits against C at every message of each observer, requests acknowledged and answered, DLM
// events stored as ours, RESYNCs that would put a pad back to an older limit, re-sends.
import assert from 'node:assert/strict';
import type { Client } from 'pg';
import type { LimitObserver } from '../../sim/observer';
import type { FaultFleet, RequestRecord, SeenEvent } from './fault-fleet';
import { poll } from './wait';

const round6 = (x: number): number => Math.round(x * 1e6) / 1e6;

export interface HubSigma {
  hubId: string;
  /** Highest Σ of the limits seen at any message (kW). */
  maxSumKw: number;
  capacityKw: number | null;
  /** maxSumKw / capacity. */
  ratio: number | null;
  samples: number;
}

export function sigmaByHub(obs: LimitObserver, hubIds: readonly string[]): HubSigma[] {
  return hubIds.map((hubId) => {
    let maxSumKw = 0;
    let ratio: number | null = null;
    const samples = obs.samples(hubId);
    for (const s of samples) {
      maxSumKw = Math.max(maxSumKw, s.sumKw);
      if (s.capacityKw) ratio = Math.max(ratio ?? 0, s.sumKw / s.capacityKw);
    }
    return { hubId, maxSumKw, capacityKw: obs.capacityKw(hubId), ratio, samples: samples.length };
  });
}

/** One of our DLM commands as dlm_events has it (source 'orchestrator'). */
export interface StoredCommand {
  hubId: string;
  nodeId: string;
  tsMs: number;
  newKw: number;
  reason: string;
}

/**
 * RESYNCs that put a pad back to an older limit. A RESYNC re-send (original limit = new limit;
 * the allocation run after a RESYNC goes out with that reason too, and is a new decision)
 * repeats the limit last published for the pad: the last one the broker delivered, or a newer
 * command of ours that never got through (dropped while the broker was away: it is in
 * dlm_events, issued after — or in the same millisecond as — the delivered one). Anything else
 * is older than what the pad last received (e.g. restored from storage that missed a newer one).
 */
export function resyncRegressions(
  events: readonly SeenEvent[],
  commands: readonly StoredCommand[],
): Array<{ event: SeenEvent; lastKw: number; lastTsMs: number | null }> {
  const issued = new Map<string, StoredCommand[]>();
  for (const c of commands) {
    if (c.reason === 'RESYNC') continue;
    const k = `${c.hubId}/${c.nodeId}`;
    issued.set(k, [...(issued.get(k) ?? []), c]);
  }
  const last = new Map<string, SeenEvent>();
  const out: Array<{ event: SeenEvent; lastKw: number; lastTsMs: number | null }> = [];
  for (const e of events) {
    const k = `${e.hubId}/${e.nodeId}`;
    const prev = last.get(k);
    last.set(k, e);
    // A re-send (original = new); a RESYNC that changes the limit is the allocation run after it.
    if (e.reason !== 'RESYNC' || round6(e.originalKw) !== round6(e.newKw)) continue;
    const lastKw = prev?.newKw ?? 0;
    if (round6(e.newKw) === round6(lastKw)) continue;
    const after = prev?.tsMs ?? Number.NEGATIVE_INFINITY;
    const newer = (issued.get(k) ?? []).some(
      (c) => c.tsMs >= after && c.tsMs <= e.tsMs && round6(c.newKw) === round6(e.newKw),
    );
    if (!newer) out.push({ event: e, lastKw, lastTsMs: prev?.tsMs ?? null });
  }
  return out;
}

/** The same command of ours: hub, node, allocation and limit (its sends differ only in time). */
export const commandKey = (e: SeenEvent): string =>
  `${e.hubId}/${e.nodeId}/${e.allocationId}/${round6(e.newKw)}`;

/** Events sent more than once for the same allocation (re-sends: attempt > 1), by commandKey. */
export function resent(events: readonly SeenEvent[]): Map<string, SeenEvent[]> {
  const by = new Map<string, SeenEvent[]>();
  for (const e of events) {
    if (e.reason === 'RESYNC') continue;
    const k = commandKey(e);
    by.set(k, [...(by.get(k) ?? []), e]);
  }
  for (const [k, list] of by) if (list.length < 2) by.delete(k);
  return by;
}

/** The key wpt-store gives an event (adapters/postgres/dlm-rows.ts dlmEventKeyOf). */
export function storedKey(
  hubId: string,
  nodeId: string,
  tsMs: number,
  newKw: number,
  allocationId: string | null,
): string {
  return JSON.stringify([hubId, nodeId, tsMs, round6(newKw), allocationId]);
}

interface StoredRow {
  hub_id: string;
  node_id: string;
  ms: number;
  new_limit: number;
  allocation_id: string | null;
  source: string;
  trigger_reason: string;
}

async function storedRows(db: Client): Promise<StoredRow[]> {
  const r = await db.query<StoredRow>(
    `SELECT hub_id, node_id, (extract(epoch FROM ts) * 1000)::float8 AS ms, new_limit, allocation_id, source,
            trigger_reason
       FROM dlm_events ORDER BY ts, id`,
  );
  return r.rows;
}

export interface StoreCheck {
  rows: number;
  /** Our commands in dlm_events, in time order. */
  commands: StoredCommand[];
  /** Events the broker delivered with no row at all. */
  missing: SeenEvent[];
  /** Events stored only as the hub's (the broker's echo), not as ours. */
  echoOnly: SeenEvent[];
}

/** Every event the watcher saw stored as ours (waits up to `ms` for the write queue to catch up). */
export async function checkStored(fleet: FaultFleet, ms: number): Promise<StoreCheck> {
  const db = await fleet.db();
  try {
    const check = async (): Promise<StoreCheck> => {
      const rows = await storedRows(db);
      const stored = new Map(
        rows.map((x) => [
          storedKey(x.hub_id, x.node_id, Math.round(x.ms), x.new_limit, x.allocation_id),
          x.source,
        ]),
      );
      const commands = rows
        .filter((x) => x.source === 'orchestrator')
        .map((x) => ({
          hubId: x.hub_id,
          nodeId: x.node_id,
          tsMs: Math.round(x.ms),
          newKw: x.new_limit,
          reason: x.trigger_reason,
        }));
      const missing: SeenEvent[] = [];
      const echoOnly: SeenEvent[] = [];
      for (const e of fleet.events) {
        const source = stored.get(storedKey(e.hubId, e.nodeId, e.tsMs, e.newKw, e.allocationId));
        if (source === undefined) missing.push(e);
        else if (source !== 'orchestrator') echoOnly.push(e);
      }
      return { rows: rows.length, commands, missing, echoOnly };
    };
    return await poll(check, (c) => c.missing.length === 0 && c.echoOnly.length === 0, ms, 250);
  } finally {
    await db.end();
  }
}

export interface RequestNumbers {
  sent: number;
  acked: number;
  answered: number;
  /** Acknowledged by the broker and never answered (lost). */
  lost: RequestRecord[];
  /** sent → answered (ms): median and max over the answered ones. */
  medianMs: number | null;
  maxMs: number | null;
}

export function requestNumbers(reqs: readonly RequestRecord[]): RequestNumbers {
  const delays = reqs
    .filter((r) => r.answeredAt !== null)
    .map((r) => (r.answeredAt as number) - r.sentAt)
    .sort((a, b) => a - b);
  return {
    sent: reqs.length,
    acked: reqs.filter((r) => r.ackedAt !== null).length,
    answered: delays.length,
    lost: reqs.filter((r) => r.ackedAt !== null && r.answeredAt === null),
    medianMs: delays.length ? (delays[Math.floor(delays.length / 2)] as number) : null,
    maxMs: delays.length ? (delays.at(-1) as number) : null,
  };
}

const f1 = (x: number | null) => (x === null ? '–' : x.toFixed(1));
const f3 = (x: number | null) => (x === null ? '–' : x.toFixed(3));

/** The numbers of a run, one line per item, for the test's output. */
export function report(fleet: FaultFleet, extra: Record<string, unknown> = {}): string {
  const lines: string[] = [];
  const phases = [...new Set(fleet.requests.map((r) => r.phase))];
  for (const p of phases) {
    const n = requestNumbers(fleet.requests.filter((r) => r.phase === p));
    lines.push(
      `requests [${p}]: sent ${n.sent}, acknowledged ${n.acked}, answered ${n.answered}, lost ${n.lost.length}; ` +
        `sent→event median ${n.medianMs ?? '–'} ms, max ${n.maxMs ?? '–'} ms`,
    );
  }
  const reasons = new Map<string, number>();
  for (const e of fleet.events) reasons.set(e.reason, (reasons.get(e.reason) ?? 0) + 1);
  lines.push(
    `DLM events on the broker: ${fleet.events.length} (${[...reasons].map(([r, c]) => `${r} ${c}`).join(', ')}); ` +
      `re-sent under the same allocation: ${resent(fleet.events).size}`,
  );
  for (const [name, obs] of [
    ['as the hubs applied them', fleet.asHub],
    ['as the broker delivered them', fleet.watch],
  ] as const) {
    const per = sigmaByHub(obs, fleet.hubIds)
      .map((h) => `${h.hubId} ${f3(h.maxSumKw)}/${f1(h.capacityKw)} kW (${f3(h.ratio)})`)
      .join(', ');
    lines.push(`max Σ/C ${name} (${obs.messages} messages): ${per}; violations ${obs.violations().length}`);
  }
  for (const [k, v] of Object.entries(extra))
    lines.push(`${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return lines.map((l) => `      ${l}`).join('\n');
}

// ---------------------------------------------------------------------------------------
// The verdict of a test

export const describeRequest = (r: RequestRecord) =>
  `#${r.n} ${r.hubId}/${r.nodeId} ${r.vehicleId} [${r.phase}] sent ${new Date(r.sentAt).toISOString()}` +
  ` acked ${r.ackedAt === null ? '–' : `+${r.ackedAt - r.sentAt} ms`}`;

/** The launcher's log, last lines, for a failure message. */
export const tail = (fleet: FaultFleet, lines = 60) => fleet.appLog().split('\n').slice(-lines).join('\n');

/** Answered requests sent in this phase. */
export const answeredIn = (fleet: FaultFleet, phase: string) =>
  fleet.requests.filter((r) => r.phase === phase && r.answeredAt !== null).length;

export const showEvent = (e: SeenEvent) =>
  `#${e.seq} ${e.hubId}/${e.nodeId} ${e.reason} ${e.originalKw} → ${e.newKw} kW (${e.allocationId}) ` +
  `at ${new Date(e.at).toISOString()}`;

/**
 * Stops asking, waits until every acknowledged request is answered, and checks everything a
 * fault test promises; returns the problems found (empty: none) and what dlm_events holds.
 * `stored: false`: dlm_events is not expected to hold every delivered event (the process
 * died while the database was away: what it had queued died with it).
 */
export async function verify(
  fleet: FaultFleet,
  opts: { stored?: boolean } = {},
): Promise<{ problems: string[]; stored: StoreCheck }> {
  const problems: string[] = [];
  const problem = (title: string, items: readonly unknown[]) => {
    if (items.length)
      problems.push(
        `${title}:\n${items.map((x) => `  ${typeof x === 'string' ? x : JSON.stringify(x)}`).join('\n')}`,
      );
  };
  fleet.stopRequests();
  await fleet.waitAnswered(60_000).catch(() => undefined); // reported below, with the details
  problem(
    'requests acknowledged by the broker without their DLM event',
    requestNumbers(fleet.requests).lost.map(describeRequest),
  );
  problem(
    'requests never acknowledged by the broker',
    fleet.requests.filter((r) => r.ackedAt === null).map(describeRequest),
  );
  if (fleet.asHub.messages === 0 || fleet.watch.messages === 0)
    problems.push('the observers saw no messages');
  problem('Σ > C as a hub applied the events', fleet.asHub.violations());
  problem('Σ > C in the order the broker delivered the events', fleet.watch.violations());
  problem(
    'hubs whose capacity the observer did not know',
    fleet.hubIds.filter((h) => fleet.asHub.capacityKw(h) !== fleet.capacityKw),
  );
  const all = opts.stored !== false;
  const stored = await checkStored(fleet, all ? 30_000 : 0);
  if (!all) return { problems, stored };
  problem('DLM events delivered but not in dlm_events', stored.missing.map(showEvent));
  problem(
    'DLM events stored only as the broker echoed them (source hub), not as ours',
    stored.echoOnly.map(showEvent),
  );
  problem(
    'RESYNCs that put a pad back to an older limit than the one it last received',
    resyncRegressions(fleet.events, stored.commands).map(
      (r) =>
        `${showEvent(r.event)}; last received ${r.lastKw} kW (event of ${r.lastTsMs === null ? '–' : new Date(r.lastTsMs).toISOString()})`,
    ),
  );
  return { problems, stored };
}

/**
 * Prints the numbers, then fails with every problem found (what the test saw is written to a
 * JSON file, named in the message, with the launcher's log).
 */
export function conclude(
  fleet: FaultFleet,
  problems: string[],
  stored: StoreCheck,
  numbers: Record<string, unknown>,
): void {
  fleet.concluded = true;
  console.log(report(fleet, numbers));
  if (problems.length) {
    const file = fleet.dump({ problems, numbers, stored: stored.commands });
    assert.fail(
      `${problems.join('\n')}\n(what the test saw: ${file})\n--- launcher, last lines:\n${tail(fleet)}`,
    );
  }
}

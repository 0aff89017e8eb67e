/**
 * What the DLM knows of one node's limit at its hub, and how a report from the hub (telemetry
 * `power_limit_kw`) changes it. Pure data and functions; the LimitBook owns the records.
 *
 * The hub applies the limits we send in order. `possible[0]` is the hub's state as last known
 * (reported, restored or assumed); `possible[1..]` are the limits sent after it that the hub
 * may still apply, oldest first. The node counts against C at `inForce` = max(possible): an
 * increase counts from the moment it is sent, a decrease only once a report shows the hub
 * has passed every higher value. A timer never settles anything.
 *
 * A report r is matched to the earliest possible value p with |r − p| ≤ tol (half the wire
 * resolution): the hub is at that value — counted at max(r, p) — and the values after it are
 * still possible. When none matches:
 * - r above every possible value (+ tol) is a limit we never commanded (the hub's own DLM, a
 *   reboot default, another orchestrator): it is in force, so it counts;
 * - otherwise the hub applied less than we sent (it clamps to its own maximum): r is matched
 *   to the earliest value it may come from (r ≤ p + tol) — never later, so a value still in
 *   flight is never dropped.
 * Values in flight right after the state that are not above it (within tol) change nothing
 * and are dropped; a value above the state, however small, is never dropped by the tolerance.
 * A value is never sent when a report of it would be ambiguous (`isAmbiguous`).
 *
 * A limit still unconfirmed after the delivery window is no longer in flight: it was applied
 * or lost (see the controller). Only a report drops it — never a timer alone — and the report
 * is then the state it left.
 */
import type { TriggerReason } from './types';

/** The command that set a node's published limit; re-sends repeat it. */
export interface SentCommand {
  originalLimitKw: number;
  reason: TriggerReason;
  allocationId: string;
}

export interface NodeLimits {
  /** Last limit commanded (or restored, or adopted from a report of a node never commanded). */
  published: number;
  /** The hub's known state, then the limits sent after it that it may still apply (oldest first). */
  possible: number[];
  /** When each limit of `possible` was (last) sent; the state's entry is −∞. */
  sentAt: number[];
  /** max(possible). */
  inForce: number;
  /** The command of `published`; null when restored or adopted. */
  command: SentCommand | null;
  /** Last (re-)send of `published` (epoch ms) and how many sends of it so far. */
  sentMs: number;
  attempts: number;
  /** Last report and its time. */
  reportedKw: number | null;
  reportedMs: number;
  /** A report came since the last RESYNC / restore. */
  verified: boolean;
  /** A RESYNC re-send not yet sent: it could raise the hub while Σ in force > C. */
  owed: boolean;
  /** First report, a grace period after the last (re-)send, by which the hub may be above `published`; null when none. */
  contradictedMs: number | null;
  /** Set when the hub still contradicts a re-send: it ignores our commands (alarm). */
  ignoredSinceMs: number | null;
  /**
   * After a restart (see restart.ts): the most the hub may still apply of limits our previous
   * run sent (the stored limit or the node's max power, whichever is higher); it counts until
   * the hub's reports settle it. Null: settled (or never restored).
   */
  priorKw: number | null;
  /** `published` is the stored limit (a hint), not a command of this run nor a report. */
  hinted: boolean;
  /** Highest report since the restore (null: none yet): what a send may reach while unsettled. */
  reportedMaxKw: number | null;
}

export function newNodeLimits(kw: number, verified: boolean): NodeLimits {
  return {
    published: kw,
    possible: [kw],
    sentAt: [Number.NEGATIVE_INFINITY],
    inForce: kw,
    command: null,
    sentMs: Number.NEGATIVE_INFINITY,
    attempts: 0,
    reportedKw: null,
    reportedMs: Number.NEGATIVE_INFINITY,
    verified,
    owed: false,
    contradictedMs: null,
    ignoredSinceMs: null,
    priorKw: null,
    hinted: false,
    reportedMaxKw: null,
  };
}

/**
 * The hub's reports do not (yet) confirm `published`: a limit is still in flight, or the hub
 * is at another value (a limit we never sent above it, or below it: an increase it lost or
 * clamped). Such a limit is re-sent with backoff.
 */
export function isUnconfirmed(s: NodeLimits, tol: number): boolean {
  return s.possible.length > 1 || Math.abs((s.possible[0] as number) - s.published) > tol;
}

/**
 * Would sending `kw` now make a later report ambiguous? A report carries a value, not a
 * message id: after [a, b] (b in flight) a send of a again makes a report of a fit both
 * "nothing applied yet" (b still to come) and "all applied". Such a send waits until the hub
 * has confirmed what is in flight.
 */
export function isAmbiguous(s: NodeLimits, kw: number, tol: number): boolean {
  for (let i = 0; i < s.possible.length - 1; i++)
    if (Math.abs((s.possible[i] as number) - kw) <= tol) return true;
  return false;
}

/** Lowest value the hub may be at or still apply (0 while a restart leaves it unsettled). */
export function minPossible(s: NodeLimits): number {
  if (s.priorKw !== null) return 0;
  let m = Number.POSITIVE_INFINITY;
  for (const p of s.possible) if (p < m) m = p;
  return m;
}

/** inForce = max(possible), and what a restart left unsettled. */
export function refresh(s: NodeLimits): void {
  let m = s.priorKw ?? 0;
  for (const p of s.possible) if (p > m) m = p;
  s.inForce = m;
}

/** Appends a limit sent to the hub (when it equals the last one, only that one's time moves). */
function pushSent(s: NodeLimits, kw: number, nowMs: number, tol: number): void {
  const n = s.possible.length;
  const last = s.possible[n - 1] as number;
  if (!(Math.abs(kw - last) <= tol && kw <= last)) {
    s.possible.push(kw);
    s.sentAt.push(nowMs);
  } else if (n > 1) {
    s.sentAt[n - 1] = nowMs;
  }
  refresh(s);
}

/** A new command for the node is sent. */
export function recordSend(s: NodeLimits, kw: number, cmd: SentCommand, nowMs: number, tol: number): void {
  s.published = kw;
  s.command = cmd;
  s.sentMs = nowMs;
  s.attempts = 1;
  s.contradictedMs = null;
  s.hinted = false;
  pushSent(s, kw, nowMs, tol);
}

/** `published` is sent again (RESYNC, or a re-send while unconfirmed). */
export function recordResend(s: NodeLimits, nowMs: number, tol: number): void {
  s.sentMs = nowMs;
  s.attempts += 1;
  s.contradictedMs = null;
  s.hinted = false;
  pushSent(s, s.published, nowMs, tol);
}

/**
 * The hub reported `r` for the node at `nowMs`. `graceMs`: how long after a send a report may
 * still show the old state. `deliveredBefore`: limits sent before this time are no longer in
 * flight — the hub has been reporting without a break long enough since (see the controller's
 * delivery window) that each was applied or lost — so this report is the state they left.
 */
export function applyReport(
  s: NodeLimits,
  r: number,
  nowMs: number,
  tol: number,
  graceMs: number,
  deliveredBefore: number,
): void {
  const possible = s.possible;
  let top = 0;
  for (const p of possible) if (p > top) top = p;
  let j = possible.findIndex((p) => Math.abs(r - p) <= tol);
  // A report within tol of a value is that value: counted at the higher of the two.
  const state = j >= 0 ? Math.max(r, possible[j] as number) : r;
  if (j < 0) j = r > top + tol ? 0 : possible.findIndex((p) => r <= p + tol);
  const next = [state];
  const at = [Number.NEGATIVE_INFINITY];
  for (let i = j + 1; i < possible.length; i++) {
    const t = s.sentAt[i] as number;
    if (t < deliveredBefore) continue;
    next.push(possible[i] as number);
    at.push(t);
  }
  while (next.length > 1 && Math.abs((next[1] as number) - state) <= tol && (next[1] as number) <= state) {
    next.splice(1, 1);
    at.splice(1, 1);
  }
  s.possible = next;
  s.sentAt = at;
  refresh(s);
  s.reportedKw = r;
  s.reportedMs = nowMs;
  s.verified = true;
  // The hub may be above what we commanded (a decrease not applied, a limit of its own): a
  // contradiction once the hub had time to apply it. Below it (an increase lost or clamped) is
  // safe: re-sent, but no alarm.
  // (What a restart left unsettled is not a contradiction: see restart.ts.)
  if (Math.max(...s.possible) <= s.published + tol) {
    s.contradictedMs = null;
    s.ignoredSinceMs = null;
  } else if (s.contradictedMs === null && nowMs >= s.sentMs + graceMs) {
    s.contradictedMs = nowMs;
  }
}

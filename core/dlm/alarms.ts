/**
 * The engine's alarms: raised and cleared once per transition, listed while active.
 * - `hub-ignores-commands`, per node: from the controller (`ignoredCommands`), kept in line
 *   with it whenever it says they changed;
 * - `hub-waiting-for-info`, per hub: its capacity is unknown, nothing is allocated there;
 * - `hub-limits-unknown`, per hub: two delivery windows after a restart (a hub that reports
 *   settles after one), the hub's reports have not settled every node yet (restart.ts); its
 *   increases stay held.
 */
import type { HubLimitController } from './controller';
import type { DlmAlarm, DlmAlarmEvent } from './types';

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export class AlarmBoard {
  private readonly active = new Map<string, DlmAlarm>();
  private events: DlmAlarmEvent[] = [];

  /** Active alarms, sorted by hub, kind and node. */
  list(): DlmAlarm[] {
    return [...this.active.entries()].sort((a, b) => cmp(a[0], b[0])).map(([, a]) => a);
  }

  /** Transitions since the last call, oldest first. */
  take(): DlmAlarmEvent[] {
    const e = this.events;
    this.events = [];
    return e;
  }

  /** Hubs waiting for their info, sorted. */
  waitingHubs(): Array<{ hubId: string; sinceMs: number }> {
    const out: Array<{ hubId: string; sinceMs: number }> = [];
    for (const a of this.list())
      if (a.kind === 'hub-waiting-for-info') out.push({ hubId: a.hubId, sinceMs: a.sinceMs });
    return out;
  }

  setWaiting(hubId: string, on: boolean, nowMs: number): void {
    const key = `${hubId}\u0000waiting`;
    if (on && !this.active.has(key))
      this.raise(key, { kind: 'hub-waiting-for-info', hubId, sinceMs: nowMs }, nowMs);
    else if (!on) this.clear(key, nowMs);
  }

  /**
   * Brings a hub's alarms in line with its controller: 'hub-limits-unknown', and the
   * 'hub-ignores-commands' ones when it says they changed.
   */
  sync(ctl: HubLimitController, nowMs: number): void {
    const key = `${ctl.hubId}\u0000restart`;
    const u = ctl.unsettled();
    if (u && nowMs >= u.sinceMs + 2 * ctl.deliveryWindowMs) {
      const alarm: DlmAlarm = { kind: 'hub-limits-unknown', hubId: ctl.hubId, ...u };
      if (!this.active.has(key)) this.raise(key, alarm, nowMs);
      else this.active.set(key, alarm);
    } else this.clear(key, nowMs);
    if (!ctl.takeAlarmChange()) return;
    const prefix = `${ctl.hubId}\u0000ignores\u0000`;
    const now = new Map(ctl.ignoredCommands().map((i) => [prefix + i.nodeId, i]));
    for (const key of [...this.active.keys()])
      if (key.startsWith(prefix) && !now.has(key)) this.clear(key, nowMs);
    for (const [key, i] of now) {
      const alarm: DlmAlarm = { kind: 'hub-ignores-commands', hubId: ctl.hubId, ...i };
      if (this.active.has(key)) this.active.set(key, alarm);
      else this.raise(key, alarm, nowMs);
    }
  }

  /** When the hub's 'hub-limits-unknown' alarm is due (not raised yet), or null. */
  restartAlarmAtMs(ctl: HubLimitController): number | null {
    const u = ctl.unsettled();
    return u && !this.active.has(`${ctl.hubId}\u0000restart`) ? u.sinceMs + 2 * ctl.deliveryWindowMs : null;
  }

  /** The hub is gone (deleted by an operator): its alarms end. */
  forgetHub(hubId: string, nowMs: number): void {
    for (const key of [...this.active.keys()]) if (key.startsWith(`${hubId}\u0000`)) this.clear(key, nowMs);
  }

  private raise(key: string, alarm: DlmAlarm, nowMs: number): void {
    this.active.set(key, alarm);
    this.events.push({ state: 'raised', ts: nowMs, alarm });
  }

  private clear(key: string, nowMs: number): void {
    const alarm = this.active.get(key);
    if (!alarm) return;
    this.active.delete(key);
    this.events.push({ state: 'cleared', ts: nowMs, alarm });
  }
}

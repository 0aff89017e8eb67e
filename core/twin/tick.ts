// Time-driven transitions of the twin at nowMs.
import { expireAssignments } from './assignments';
import type { TwinChange } from './changes';
import { markStaleIfSilent } from './hubs';
import { closeSessionsIfSilent } from './sessions';
import type { TwinState } from './state';
import { estimateCharging } from './vehicle-soc';

/**
 * Hubs becoming stale, sessions of hubs offline/stale for longer than offlineSessionCloseS
 * closed, request assignments timed out, SoC estimates of charging vehicles between reports.
 */
export function tick(st: TwinState, nowMs: number): TwinChange[] {
  const out: TwinChange[] = [];
  for (const hub of st.hubs.values()) {
    markStaleIfSilent(st, hub, nowMs, out);
    closeSessionsIfSilent(st, hub, nowMs, out);
  }
  expireAssignments(st, nowMs, out);
  estimateCharging(st, nowMs, out);
  return out;
}

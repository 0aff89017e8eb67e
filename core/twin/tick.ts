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
 * A hub not watched (cluster mode: owned by another instance, which alone hears its
 * telemetry) is judged by its owner: it never becomes stale here.
 */
export function tick(st: TwinState, nowMs: number): TwinChange[] {
  const out: TwinChange[] = [];
  for (const hub of st.hubs.values()) {
    if (!hub.watched) continue;
    markStaleIfSilent(st, hub, nowMs, out);
    closeSessionsIfSilent(st, hub, nowMs, out);
  }
  expireAssignments(st, nowMs, out);
  estimateCharging(st, nowMs, out);
  return out;
}

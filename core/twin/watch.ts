// Cluster mode: the hubs this instance watches. On a single instance every hub is watched.
// With several instances (docs/scaling.md) each hub's telemetry reaches only its owner, so
// only the owner can count its sessions' energy and judge its silence; every instance still
// hears every hub's info, status and requests and keeps them (the fleet's structure, node
// states and assignments stay the same everywhere). A hub not watched here:
// - opens no session (status or telemetry) and closes none;
// - never becomes stale here, and its sessions are never closed for its silence (tick.ts).
// When this instance acquires a hub it watches it, continuing the sessions its previous
// owner stored (the same ids, energy, last sample: the next sample integrates from there, as
// after a restart); when it loses or releases one, it drops them without a close (the next
// owner continues them).
import type { TwinChange } from './changes';
import type { SessionRecord } from './records';
import { restoreSessions } from './restore';
import { dropSession } from './sessions';
import type { TwinState } from './state';

/** From now on only hubs passed to watchHub are watched; every hub's sessions are dropped. */
export function watchOwnedOnly(st: TwinState): void {
  st.watchAll = false;
  for (const hub of st.hubs.values()) unwatchHub(st, hub.hubId);
}

/**
 * Watches hubId (created unannounced if unknown: its info comes with the owner's
 * subscription), continuing `sessions` (its open sessions as stored; others are ignored).
 * Returns the changes to store: a stored open session older than one kept is closed
 * ('duplicate'), as at a restore.
 */
export function watchHub(
  st: TwinState,
  hubId: string,
  sessions: readonly SessionRecord[],
  nowMs: number,
): TwinChange[] {
  const hub = st.ensureHub(hubId, nowMs, null);
  const changes: TwinChange[] = [];
  hub.watched = true;
  restoreSessions(
    st,
    sessions.filter((s) => s.hubId === hubId),
    nowMs,
    changes,
  );
  return changes;
}

/** Stops watching hubId: its open sessions are dropped unreported; it is never stale here. */
export function unwatchHub(st: TwinState, hubId: string): void {
  const hub = st.hubs.get(hubId);
  if (!hub) return;
  hub.watched = false;
  hub.stale = false;
  for (const node of hub.nodes.values()) dropSession(st, node);
}

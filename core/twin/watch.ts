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

/** A node's last telemetry as its hub's owner stored it (cluster mode: PostgreSQL's node row). */
export interface RemoteTelemetry {
  readonly hubId: string;
  readonly nodeId: string;
  /** Time of that telemetry (epoch ms). */
  readonly ts: number;
  readonly powerKw: number | null;
  readonly powerLimitKw: number | null;
  readonly vehicleId: string | null;
}

/**
 * Cluster mode: the live values of hubs watched elsewhere, as their owners store them, so that
 * this instance's views (REST, dashboard, recommendations) show every hub's load. Only for
 * nodes of hubs not watched here, and only when newer than what this twin has; reports no
 * change (nothing to store or allocate: the owner did both). Voltage and current are not
 * stored: 0. Returns how many nodes were updated.
 */
export function applyRemoteTelemetry(st: TwinState, rows: readonly RemoteTelemetry[]): number {
  let n = 0;
  for (const r of rows) {
    const node = st.node(r.hubId, r.nodeId);
    if (!node || node.hub.watched || !Number.isFinite(r.ts)) continue;
    if (node.telemetry !== null && node.telemetry.ts >= r.ts) continue;
    node.telemetry = Object.freeze({
      ts: r.ts,
      voltage: 0,
      current: 0,
      powerKw: r.powerKw ?? 0,
      powerLimitKw: r.powerLimitKw ?? 0,
      isOccupied: r.vehicleId !== null,
      vehicleId: r.vehicleId,
      soc: null,
    });
    n++;
  }
  return n;
}

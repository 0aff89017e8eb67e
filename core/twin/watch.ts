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
import type { SessionRecord, VehicleRecord } from './records';
import { isNum, isSoc, optNum, optStr } from './guards';
import { geo } from './hubs';
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

/** What other instances stored (cluster mode): node telemetry of their hubs, vehicles. */
export interface RemoteState {
  readonly nodes?: readonly RemoteTelemetry[];
  /** Vehicle rows (lastSeenMs: the time of the vehicle's last telemetry). */
  readonly vehicles?: readonly VehicleRecord[];
}

/**
 * Cluster mode: what other instances hear, as they store it, so that this instance's views
 * (REST, dashboard, recommendations) show every hub's load and every vehicle. Reports no
 * change (nothing to store or allocate: the instance that heard it did both).
 * - Node telemetry: only for nodes of hubs not watched here, and only when newer than what
 *   this twin has. Voltage and current are not stored: 0.
 * - Vehicles: one unknown here is added (within maxVehicles) with its profile; position and
 *   SoC are taken when the row's last telemetry is newer than this twin's, except for a
 *   vehicle charging at a hub watched here (this instance hears it live).
 * Returns how many nodes and vehicles were updated.
 */
export function applyRemote(st: TwinState, r: RemoteState): { nodes: number; vehicles: number } {
  let nodes = 0;
  let vehicles = 0;
  for (const x of r.nodes ?? []) {
    const node = st.node(x.hubId, x.nodeId);
    if (!node || node.hub.watched || !Number.isFinite(x.ts)) continue;
    if (node.telemetry !== null && node.telemetry.ts >= x.ts) continue;
    node.telemetry = Object.freeze({
      ts: x.ts,
      voltage: 0,
      current: 0,
      powerKw: x.powerKw ?? 0,
      powerLimitKw: x.powerLimitKw ?? 0,
      isOccupied: x.vehicleId !== null,
      vehicleId: x.vehicleId,
      soc: null,
    });
    nodes++;
  }
  for (const x of r.vehicles ?? []) {
    let v = st.vehicles.get(x.vehicleId);
    if (!v) {
      if (st.vehicles.size >= st.config.maxVehicles) continue;
      v = st.ensureVehicle(x.vehicleId, 0, null);
      v.priority = x.priority === true;
      v.batteryKwh = isNum(x.batteryKwh) && x.batteryKwh > 0 ? x.batteryKwh : null;
      v.model = optStr(x.model);
      v.manufacturer = optStr(x.manufacturer);
      v.driver = optStr(x.driver);
      v.registered = x.registered === true;
    }
    const seen = optNum(x.lastSeenMs);
    if (seen === null || (v.lastSeenMs !== null && v.lastSeenMs >= seen)) continue;
    if (v.hubId !== null && st.hubs.get(v.hubId)?.watched) continue;
    v.lastSeenMs = seen;
    if (x.position) v.position = geo(x.position);
    if (isSoc(x.soc)) {
      v.soc = x.soc;
      v.socSource = x.socSource ?? 'vehicle';
      v.socTs = seen;
      v.socReported = x.soc;
      v.socReportedTs = seen;
      // A stored estimate is a report of the instance that made it.
      v.socReportedSource = v.socSource === 'estimate' ? 'vehicle' : v.socSource;
      v.energySinceReportKwh = 0;
      if (x.socClass === 'critical' || x.socClass === 'normal') v.socClass = x.socClass;
    }
    vehicles++;
  }
  return { nodes, vehicles };
}

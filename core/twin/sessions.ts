// Charging sessions: identity, opening and closing, and the energy integrated from node
// telemetry (trapezoids of power_kw over the message timestamps). At most one open session
// per node.
import { trapezoidKwh } from '../soc/soc';
import { clearAssignment } from './assignments';
import type { HubEntity, NodeEntity, SessionEntity } from './entities';
import type { TwinChange } from './changes';
import type { TwinState } from './state';
import type { SessionCloseReason } from './view-types';
import { sessionView } from './views';

/**
 * Deterministic session id from (hubId, nodeId, startTs): a replay or a restart gives
 * the same id. Ids cannot contain '/' (CONTRACT.md), so the id is unambiguous.
 */
export function sessionIdOf(hubId: string, nodeId: string, startTs: number): string {
  return `${hubId}/${nodeId}/${startTs}`;
}

/** Is session a later than b (start time, then id)? A vehicle is at its latest open session. */
export function isLater(a: SessionEntity, b: SessionEntity): boolean {
  return a.startTs > b.startTs || (a.startTs === b.startTs && a.sessionId > b.sessionId);
}

/** Opens a session of vehicleId on node at ts; a pending assignment there is cleared. */
export function startSession(
  st: TwinState,
  node: NodeEntity,
  vehicleId: string,
  ts: number,
  out: TwinChange[],
): void {
  const v = st.ensureVehicle(vehicleId, ts, out);
  const s: SessionEntity = {
    sessionId: sessionIdOf(node.hub.hubId, node.nodeId, ts),
    hubId: node.hub.hubId,
    nodeId: node.nodeId,
    vehicleId,
    startTs: ts,
    lastSampleTs: null,
    lastPowerKw: null,
    energyKwh: 0,
    peakPowerKw: 0,
    startSoc: v.soc,
    endSoc: v.soc,
  };
  node.session = s;
  st.sessionNodes.add(node);
  const current = v.hubId !== null && v.nodeId !== null ? st.node(v.hubId, v.nodeId)?.session : null;
  if (!current || current.vehicleId !== vehicleId || isLater(s, current)) {
    v.hubId = s.hubId;
    v.nodeId = s.nodeId;
  }
  out.push({
    type: 'session-opened',
    ts,
    hubId: s.hubId,
    nodeId: s.nodeId,
    vehicleId,
    sessionId: s.sessionId,
    session: sessionView(s),
  });
  if (node.assignedVehicleId !== null) {
    clearAssignment(st, node, node.assignedVehicleId === vehicleId ? 'charging' : 'replaced', ts, out);
  }
}

/**
 * Takes the open session off node (if any) and returns it; its vehicle moves to its latest
 * other open session, if any. Reports nothing: endSession reports a close, watch.ts drops
 * the sessions of a hub another instance now counts.
 */
export function dropSession(st: TwinState, node: NodeEntity): SessionEntity | null {
  const s = node.session;
  if (!s) return null;
  node.session = null;
  st.sessionNodes.delete(node);
  const v = st.vehicles.get(s.vehicleId);
  if (v) {
    s.endSoc = v.soc ?? s.endSoc;
    if (v.hubId === s.hubId && v.nodeId === s.nodeId) {
      // Charging elsewhere too (the data says so)? Then it is at its latest other session.
      let other: SessionEntity | null = null;
      for (const n of st.sessionNodes) {
        const o = n.session;
        if (o && o.vehicleId === v.vehicleId && (!other || isLater(o, other))) other = o;
      }
      v.hubId = other?.hubId ?? null;
      v.nodeId = other?.nodeId ?? null;
    }
  }
  return s;
}

/** Closes the open session of node (if any), ending at endTs; the change carries ts. */
export function endSession(
  st: TwinState,
  node: NodeEntity,
  reason: SessionCloseReason,
  endTs: number,
  ts: number,
  out: TwinChange[],
): void {
  const s = dropSession(st, node);
  if (!s) return;
  out.push({
    type: 'session-closed',
    ts,
    hubId: s.hubId,
    nodeId: s.nodeId,
    vehicleId: s.vehicleId,
    sessionId: s.sessionId,
    reason,
    session: sessionView(s, Math.max(endTs, s.startTs), reason),
  });
}

/**
 * Opens a session of vehicleId on node (status or telemetry says it charges), closing one of
 * another vehicle first. Not for the vehicle whose session an operator just ended.
 */
export function switchVehicle(
  st: TwinState,
  node: NodeEntity,
  vehicleId: string,
  ts: number,
  out: TwinChange[],
): void {
  if (node.operatorEndedVehicleId === vehicleId) return;
  const s = node.session;
  if (s === null) startSession(st, node, vehicleId, ts, out);
  else if (s.vehicleId !== vehicleId && ts > s.startTs) {
    endSession(st, node, 'vehicle-changed', ts, ts, out);
    startSession(st, node, vehicleId, ts, out);
  }
}

/**
 * Integrates one telemetry sample (power at ts) into the open session of node. Returns the
 * session when the sample was taken (newer than the last one, not before the start), else null.
 * Never integrates across a silence long enough to make the hub stale.
 */
export function integrateSample(
  st: TwinState,
  node: NodeEntity,
  powerKw: number,
  ts: number,
): SessionEntity | null {
  const s = node.session;
  if (s === null || ts < s.startTs || (s.lastSampleTs !== null && ts <= s.lastSampleTs)) return null;
  const maxGapMs = Math.max(st.config.staleAfterS * 1000, 1);
  if (s.lastSampleTs !== null && s.lastPowerKw !== null && ts - s.lastSampleTs <= maxGapMs) {
    const e = trapezoidKwh(s.lastPowerKw, powerKw, s.lastSampleTs, ts);
    s.energyKwh += e;
    const v = st.vehicles.get(s.vehicleId);
    if (v) v.energySinceReportKwh += e;
  }
  s.lastSampleTs = ts;
  s.lastPowerKw = powerKw;
  if (powerKw > s.peakPowerKw) s.peakPowerKw = powerKw;
  return s;
}

/** A session-updated change for s at ts. */
export function pushSessionUpdated(s: SessionEntity, ts: number, out: TwinChange[]): void {
  out.push({
    type: 'session-updated',
    ts,
    hubId: s.hubId,
    nodeId: s.nodeId,
    vehicleId: s.vehicleId,
    sessionId: s.sessionId,
    session: sessionView(s),
  });
}

/** Open sessions of a hub offline or stale for at least offlineSessionCloseS are closed (hub-offline). */
export function closeSessionsIfSilent(st: TwinState, hub: HubEntity, nowMs: number, out: TwinChange[]): void {
  let since: number | null = hub.state === 'offline' ? hub.offlineSinceMs : null;
  if (hub.stale && hub.sessionClockMs !== null)
    since = since === null ? hub.sessionClockMs : Math.min(since, hub.sessionClockMs);
  if (since === null || nowMs - since < st.config.offlineSessionCloseS * 1000) return;
  for (const node of hub.nodes.values()) {
    const s = node.session;
    if (s) endSession(st, node, 'hub-offline', s.lastSampleTs ?? s.startTs, nowMs, out);
  }
}

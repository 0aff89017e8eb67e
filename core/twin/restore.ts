// Snapshot and restore: the twin as plain records, and a twin rebuilt from them (a snapshot,
// or PostgreSQL rows mapped by adapters/postgres, where only ids are required).
import { classify } from '../soc';
import type { SessionEntity } from './entities';
import type { TwinChange } from './changes';
import { configFrom, type TwinConfig } from './config';
import { TwinInputError } from './errors';
import { isId, isNonNeg, isNum, isSoc, optNum, optStr } from './guards';
import { geo } from './hubs';
import type { HubRecord, NodeRecord, SessionRecord, TwinSnapshot, VehicleRecord } from './records';
import { isLater, sessionIdOf } from './sessions';
import { openSessionViews, TwinState } from './state';
import type { CapacityOverride, NodeView } from './view-types';
import { hubView, nodeView, sessionView, vehicleView } from './views';

const HUB_STATES: ReadonlySet<string> = new Set(['online', 'offline', 'maintenance', 'unknown']);
const NODE_STATES: ReadonlySet<string> = new Set(['idle', 'charging', 'full', 'faulted', 'unknown']);

function fail(message: string): never {
  throw new TwinInputError(message);
}

/** Plain, JSON-serialisable state: hubs, nodes, vehicles and open sessions. */
export function snapshotOf(st: TwinState): TwinSnapshot {
  const nodes: NodeView[] = [];
  for (const h of st.hubs.values()) for (const n of h.nodes.values()) nodes.push(nodeView(n));
  const sessions = openSessionViews(st);
  return {
    version: 1,
    hubs: [...st.hubs.values()].map(hubView),
    nodes,
    vehicles: [...st.vehicles.values()].map(vehicleView),
    sessions,
  };
}

function capacityOverrideOf(o: HubRecord['capacityOverride']): CapacityOverride | null {
  if (!o || !isNonNeg(o.kw)) return null;
  return Object.freeze({ kw: o.kw, fromMs: optNum(o.fromMs), untilMs: optNum(o.untilMs) });
}

function restoreHub(st: TwinState, r: HubRecord, nowMs: number | undefined): void {
  if (!isId(r.hubId)) fail('hub record without hubId');
  const h = st.ensureHub(r.hubId, 0, null);
  h.location = r.location ? geo(r.location) : null;
  h.maxGridCapacityKw = optNum(r.maxGridCapacityKw);
  h.ipAddress = optStr(r.ipAddress);
  h.firmwareVersion = optStr(r.firmwareVersion);
  h.state = r.state && HUB_STATES.has(r.state) ? r.state : 'unknown';
  h.cpuTempC = optNum(r.cpuTempC);
  h.lastSeenMs = optNum(r.lastSeenMs);
  h.infoTs = optNum(r.infoTs);
  h.statusTs = optNum(r.statusTs);
  h.registered = r.registered === true;
  h.active = r.active !== false;
  h.capacityOverride = capacityOverrideOf(r.capacityOverride);
  h.stale = r.stale === true;
  h.sessionClockMs = h.lastSeenMs;
  h.offlineSinceMs =
    h.state === 'offline' ? (optNum(r.offlineSinceMs) ?? h.lastSeenMs ?? nowMs ?? null) : null;
  if (nowMs !== undefined) {
    // Stale by the age of its last sign of life: a hub silent for long is not revived by a
    // restart (it is available again at its next live status or telemetry) …
    h.stale = h.lastSeenMs !== null && nowMs - h.lastSeenMs > st.config.staleAfterS * 1000;
    // … but the orchestrator's own downtime is not the hub's silence when closing sessions.
    h.sessionClockMs = Math.max(h.sessionClockMs ?? nowMs, nowMs);
    if (h.offlineSinceMs !== null) h.offlineSinceMs = Math.max(h.offlineSinceMs, nowMs);
  }
}

function restoreNode(st: TwinState, r: NodeRecord): void {
  if (!isId(r.hubId) || !isId(r.nodeId)) fail('node record without hubId/nodeId');
  const n = st.ensureNode(st.ensureHub(r.hubId, 0, null), r.nodeId, 0, null);
  n.name = optStr(r.name);
  n.maxPowerKw = optNum(r.maxPowerKw);
  n.state = r.state && NODE_STATES.has(r.state) ? r.state : 'unknown';
  n.errorCode = optNum(r.errorCode) ?? 0;
  n.statusVehicleId = optStr(r.statusVehicleId);
  n.operatorMaintenance = r.operatorMaintenance === true;
  n.telemetry = r.telemetry ? Object.freeze({ ...r.telemetry }) : null;
  n.lastSeenMs = optNum(r.lastSeenMs);
  n.infoTs = optNum(r.infoTs);
  n.statusTs = optNum(r.statusTs);
  n.registered = r.registered === true;
  n.maxPowerOverrideKw = isNonNeg(r.maxPowerOverrideKw) ? r.maxPowerOverrideKw : null;
  n.operatorEndedVehicleId = optStr(r.operatorEndedVehicleId);
  if (isId(r.assignedVehicleId) && isNum(r.assignedAtMs)) {
    n.assignedVehicleId = r.assignedVehicleId;
    n.assignedAtMs = r.assignedAtMs;
    n.assignedTs = optNum(r.assignedTs);
    n.assignedSoc = optNum(r.assignedSoc);
    st.assignedNodes.add(n);
  }
}

function restoreVehicle(st: TwinState, r: VehicleRecord): void {
  if (!isId(r.vehicleId)) fail('vehicle record without vehicleId');
  const v = st.ensureVehicle(r.vehicleId, 0, null);
  v.position = r.position ? geo(r.position) : null;
  v.speedKmh = optNum(r.speedKmh);
  v.engineTempC = optNum(r.engineTempC);
  v.isCharging = r.isCharging === true;
  v.soc = isSoc(r.soc) ? r.soc : null;
  v.socSource = r.socSource ?? (v.soc === null ? null : 'vehicle');
  v.socTs = optNum(r.socTs);
  v.socReported = isSoc(r.socReported) ? r.socReported : v.soc;
  v.socReportedTs = optNum(r.socReportedTs) ?? v.socTs;
  v.socReportedSource = r.socReportedSource ?? (v.socReported === null ? null : 'vehicle');
  v.energySinceReportKwh = isNonNeg(r.energySinceReportKwh) ? r.energySinceReportKwh : 0;
  v.priority = r.priority === true;
  v.batteryKwh = isNum(r.batteryKwh) && r.batteryKwh > 0 ? r.batteryKwh : null;
  v.model = optStr(r.model);
  v.manufacturer = optStr(r.manufacturer);
  v.driver = optStr(r.driver);
  v.lastSeenMs = optNum(r.lastSeenMs);
  v.telemetryTs = optNum(r.telemetryTs);
  v.registered = r.registered === true;
  v.socClass =
    r.socClass === 'critical' || r.socClass === 'normal'
      ? r.socClass
      : classify(v.soc, v.priority, null, {
          criticalSoc: st.config.criticalSoc,
          hysteresis: st.config.socHysteresis,
        });
}

function sessionOf(r: SessionRecord): SessionEntity {
  if (!isId(r.hubId) || !isId(r.nodeId) || !isId(r.vehicleId) || !isNum(r.startTs))
    fail('session record without hubId/nodeId/vehicleId/startTs');
  const s: SessionEntity = {
    sessionId: isId(r.sessionId) ? r.sessionId : sessionIdOf(r.hubId, r.nodeId, r.startTs),
    hubId: r.hubId,
    nodeId: r.nodeId,
    vehicleId: r.vehicleId,
    startTs: r.startTs,
    lastSampleTs: optNum(r.lastSampleTs),
    lastPowerKw: optNum(r.lastPowerKw),
    energyKwh: isNonNeg(r.energyKwh) ? r.energyKwh : 0,
    peakPowerKw: isNonNeg(r.peakPowerKw) ? r.peakPowerKw : 0,
    startSoc: isSoc(r.startSoc) ? r.startSoc : null,
    endSoc: isSoc(r.endSoc) ? r.endSoc : null,
  };
  if (s.lastSampleTs === null || s.lastPowerKw === null) {
    s.lastSampleTs = null;
    s.lastPowerKw = null;
  }
  return s;
}

/**
 * Open sessions: the latest of a node continues; older open ones of the same node are
 * reported closed ('duplicate').
 */
export function restoreSessions(
  st: TwinState,
  records: readonly SessionRecord[],
  nowMs: number | undefined,
  changes: TwinChange[],
): void {
  const open = records.filter((s) => s.endTs === null || s.endTs === undefined);
  // Latest first, so that the latest open session of a node wins.
  const sorted = [...open].sort((a, b) => b.startTs - a.startTs);
  for (const r of sorted) {
    const s = sessionOf(r);
    const n = st.ensureNode(st.ensureHub(r.hubId, 0, null), r.nodeId, 0, null);
    const v = st.ensureVehicle(r.vehicleId, 0, null);
    const kept = n.session;
    if (kept) {
      if (kept.sessionId === s.sessionId) continue; // the same row twice
      const endTs = Math.max(s.startTs, Math.min(kept.startTs, s.lastSampleTs ?? kept.startTs));
      changes.push({
        type: 'session-closed',
        ts: nowMs ?? endTs,
        hubId: s.hubId,
        nodeId: s.nodeId,
        vehicleId: s.vehicleId,
        sessionId: s.sessionId,
        reason: 'duplicate',
        session: sessionView(s, endTs, 'duplicate'),
      });
      continue;
    }
    n.session = s;
    st.sessionNodes.add(n);
    // A vehicle is at the node of its latest open session.
    const current = v.hubId !== null && v.nodeId !== null ? st.node(v.hubId, v.nodeId)?.session : null;
    if (!current || isLater(s, current)) {
      v.hubId = s.hubId;
      v.nodeId = s.nodeId;
    }
  }
}

/**
 * Rebuilds the state from a snapshot. When nowMs is given, a hub is stale by the age of its
 * last sign of life at nowMs (no grace: a restart never revives a hub), while the clock that
 * closes the sessions of silent or offline hubs starts at nowMs at the latest (the
 * orchestrator's own downtime is not the hub's silence). Returns the changes to persist
 * (session-closed 'duplicate' for extra open sessions). Bounds are not applied to restored
 * records (they were accepted when stored).
 */
export function restoreState(
  snapshot: TwinSnapshot,
  config: Partial<TwinConfig> | undefined,
  nowMs: number | undefined,
): { state: TwinState; changes: TwinChange[] } {
  if (nowMs !== undefined && !isNum(nowMs)) fail('nowMs must be a finite number');
  const st = new TwinState(configFrom(config));
  for (const r of snapshot.hubs ?? []) restoreHub(st, r, nowMs);
  for (const r of snapshot.nodes ?? []) restoreNode(st, r);
  for (const r of snapshot.vehicles ?? []) restoreVehicle(st, r);
  const changes: TwinChange[] = [];
  restoreSessions(st, snapshot.sessions ?? [], nowMs, changes);
  return { state: st, changes };
}

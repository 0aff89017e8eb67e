// Hubs: info and status messages, signs of life and staleness.
import type { DlmEventMessage, HubInfoMessage, HubStatusMessage } from '../contract';
import { clearAssignment } from './assignments';
import { admit } from './bounds';
import { maintenanceOf, type HubEntity, type NodeEntity } from './entities';
import type { TwinChange } from './changes';
import { emitHubState, emitNodeState, hubBefore } from './emit';
import { TwinInputError } from './errors';
import type { TwinState } from './state';
import type { GeoPoint } from './view-types';
import { hubView } from './views';
import { optNum, optStr } from './guards';

export function geo(
  v: { latitude: number; longitude: number; altitude?: number } | undefined | null,
): GeoPoint | null {
  if (!v) return null;
  return Object.freeze({ latitude: v.latitude, longitude: v.longitude, altitude: v.altitude ?? 0 });
}

export function sameGeo(a: GeoPoint | null, b: GeoPoint | null): boolean {
  if (a === null || b === null) return a === b;
  return a.latitude === b.latitude && a.longitude === b.longitude && a.altitude === b.altitude;
}

/**
 * Is this message, received at nowMs, a sign of life of its hub (or vehicle)? Only a status
 * or telemetry that is live and fresh is:
 * - a retained message (MQTT retain flag) is the broker's memory, not the device talking:
 *   after a restart, retained `online` statuses never revive hubs dead for long;
 * - a message whose own timestamp is older than staleAfterS at receipt (queued, replayed,
 *   a clock far behind) says nothing about now;
 * - info messages (retained by the contract) set data but are never a sign of life; nor are
 *   requests and DLM events (they come from others).
 * Whatever is not a sign of life still updates the data it carries.
 */
export function isSignOfLife(st: TwinState, ts: number, nowMs: number, retained: boolean): boolean {
  return !retained && nowMs - ts <= st.config.staleAfterS * 1000;
}

/** A sign of life of the hub (or one of its nodes) received at nowMs. */
function heard(hub: HubEntity, nowMs: number, node: NodeEntity | null): void {
  hub.lastSeenMs = hub.lastSeenMs === null ? nowMs : Math.max(hub.lastSeenMs, nowMs);
  hub.sessionClockMs = hub.sessionClockMs === null ? nowMs : Math.max(hub.sessionClockMs, nowMs);
  hub.stale = false;
  if (node) node.lastSeenMs = node.lastSeenMs === null ? nowMs : Math.max(node.lastSeenMs, nowMs);
}

/**
 * A sign of life of the hub (or one of its nodes) at nowMs; a hub-state change (ts) when it
 * makes the hub fresh or alive. A hub already alive and fresh cannot change by it (the common
 * case: no transition to look for).
 */
export function alive(
  hub: HubEntity,
  nowMs: number,
  ts: number,
  out: TwinChange[],
  node: NodeEntity | null,
): void {
  if (!hub.stale && hub.lastSeenMs !== null) {
    heard(hub, nowMs, node);
    return;
  }
  const before = hubBefore(hub);
  heard(hub, nowMs, node);
  emitHubState(hub, before, ts, out);
}

/** Hub info: data only, never a sign of life. */
export function applyHubInfo(st: TwinState, msg: HubInfoMessage, out: TwinChange[]): void {
  const d = msg.data;
  const loc = geo(d.location);
  const ip = optStr(d.ip_address);
  const fw = optStr(d.firmware_version);
  const existing = st.hubs.get(msg.hubId);
  admit(st, msg.hubId, existing, null, undefined, null, undefined);
  if (existing && existing.infoTs !== null) {
    if (msg.ts < existing.infoTs) return; // out of order
    const same =
      sameGeo(existing.location, loc) &&
      existing.maxGridCapacityKw === d.max_grid_capacity_kw &&
      existing.ipAddress === ip &&
      existing.firmwareVersion === fw;
    if (msg.ts === existing.infoTs && same) return; // duplicate
  }
  const hub = existing ?? st.ensureHub(msg.hubId, msg.ts, null);
  const previous = existing ? hubView(hub) : null;
  hub.infoTs = msg.ts;
  hub.location = loc;
  hub.maxGridCapacityKw = d.max_grid_capacity_kw;
  hub.ipAddress = ip;
  hub.firmwareVersion = fw;
  out.push({
    type: 'hub-upserted',
    ts: msg.ts,
    hubId: hub.hubId,
    created: !existing,
    hub: hubView(hub),
    previous,
  });
}

/** Hub status: a sign of life when `live` (see isSignOfLife). */
export function applyHubStatus(
  st: TwinState,
  msg: HubStatusMessage,
  nowMs: number,
  live: boolean,
  out: TwinChange[],
): void {
  const d = msg.data;
  const cpuTempC = optNum(d.cpu_temp);
  const existing = st.hubs.get(msg.hubId);
  admit(st, msg.hubId, existing, null, undefined, null, undefined);
  if (existing && existing.statusTs !== null) {
    if (msg.ts < existing.statusTs) return; // out of order
    if (msg.ts === existing.statusTs && existing.state === d.state && existing.cpuTempC === cpuTempC) return;
  }
  const hub = existing ?? st.ensureHub(msg.hubId, msg.ts, out);
  out.push({ type: 'hub-status', ts: msg.ts, hubId: hub.hubId, state: d.state, cpuTempC });
  const before = hubBefore(hub);
  const maintBefore =
    (hub.state === 'maintenance') !== (d.state === 'maintenance')
      ? [...hub.nodes.values()].map((n) => [n, maintenanceOf(n)] as const)
      : null;
  if (d.state === 'offline' && hub.state !== 'offline') hub.offlineSinceMs = nowMs;
  if (d.state !== 'offline') hub.offlineSinceMs = null;
  hub.state = d.state;
  hub.cpuTempC = cpuTempC;
  hub.statusTs = msg.ts;
  if (live) heard(hub, nowMs, null);
  emitHubState(hub, before, msg.ts, out);
  for (const [n, prev] of maintBefore ?? []) {
    if (maintenanceOf(n) === prev) continue;
    emitNodeState(n, n.state, prev, msg.ts, out);
    if (!prev) clearAssignment(st, n, 'maintenance', msg.ts, out);
  }
}

/** Marks hub stale when its last sign of life is older than staleAfterS. */
export function markStaleIfSilent(st: TwinState, hub: HubEntity, nowMs: number, out: TwinChange[]): void {
  if (hub.stale || hub.lastSeenMs === null || nowMs - hub.lastSeenMs <= st.config.staleAfterS * 1000) return;
  const before = hubBefore(hub);
  hub.stale = true;
  emitHubState(hub, before, nowMs, out);
}

/** The hub-dlm-event change of a DLM event message: always the hub's, whatever it claims. */
export function hubDlmEventOf(msg: DlmEventMessage): Extract<TwinChange, { type: 'hub-dlm-event' }> {
  const d = msg.data;
  return {
    type: 'hub-dlm-event',
    ts: msg.ts,
    hubId: msg.hubId,
    nodeId: d.affected_node_id,
    reason: d.trigger_reason,
    originalLimitKw: d.original_limit,
    newLimitKw: d.new_limit,
    totalGridLoadKw: d.total_grid_load,
    availableCapacityKw: d.available_capacity,
    allocationId: d.allocation_id ?? null,
    claimedSource: d.source ?? null,
  };
}

/**
 * A DLM event received from the broker: reported as the hub's (whatever it claims), nothing
 * else changes — it is not a sign of life either. An event about a hub or node the twin does
 * not know is refused: it never creates one.
 */
export function applyDlmEvent(st: TwinState, msg: DlmEventMessage, out: TwinChange[]): void {
  const hub = st.hubs.get(msg.hubId);
  if (!hub)
    throw new TwinInputError(`dlm event for unknown hub ${msg.hubId}: a DLM event never creates a hub`);
  admit(st, msg.hubId, hub, null, undefined, null, undefined);
  if (!hub.nodes.has(msg.data.affected_node_id))
    throw new TwinInputError(
      `dlm event for unknown node ${msg.hubId}/${msg.data.affected_node_id}: a DLM event never creates a node`,
    );
  out.push(hubDlmEventOf(msg));
}

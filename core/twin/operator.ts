// Operator commands on the twin: hubs, nodes, vehicles and sessions. Each command is checked
// (operator-input.ts) before anything changes, makes its ordinary changes and reports them,
// followed by one operator-action change for the audit log.
import { clearAssignment } from './assignments';
import { hubRefusal, nodeRefusal, vehicleRefusal } from './bounds';
import type { OperatorCommand, OperatorResult, AuditTarget } from './commands';
import { maintenanceOf, type HubEntity, type NodeEntity, type VehicleEntity } from './entities';
import type { AuditState, TwinChange } from './changes';
import { emitNodeState } from './emit';
import { TwinConflict, TwinInputError, TwinNotFound } from './errors';
import { isNum } from './guards';
import { geo } from './hubs';
import { checkActor, parseCommand } from './operator-input';
import { endSession } from './sessions';
import { removeNode, type TwinState } from './state';
import { classifyVehicle } from './vehicle-soc';
import type { HubRecord, NodeRecord, VehicleRecord } from './records';
import type { SessionView } from './view-types';
import { hubView, nodeView, vehicleView } from './views';

type Cmd<K extends OperatorCommand['op']> = Extract<OperatorCommand, { op: K }>;

interface Ctx {
  st: TwinState;
  actor: string;
  nowMs: number;
  out: TwinChange[];
  note: string | null;
}

function audit(
  c: Ctx,
  op: OperatorCommand['op'],
  target: AuditTarget,
  before: AuditState | null,
  after: AuditState | null,
): void {
  c.out.push({
    type: 'operator-action',
    ts: c.nowMs,
    actor: c.actor,
    op,
    target,
    before,
    after,
    note: c.note,
  });
}

const same = (a: AuditState | null, b: AuditState | null): boolean => JSON.stringify(a) === JSON.stringify(b);

function hubSettings(h: HubEntity): AuditState {
  return {
    location: h.location,
    maxGridCapacityKw: h.maxGridCapacityKw,
    ipAddress: h.ipAddress,
    firmwareVersion: h.firmwareVersion,
    active: h.active,
    capacityOverride: h.capacityOverride,
    registered: h.registered,
  };
}

function nodeSettings(n: NodeEntity): AuditState {
  return {
    name: n.name,
    maxPowerKw: n.maxPowerKw,
    operatorMaintenance: n.operatorMaintenance,
    maxPowerOverrideKw: n.maxPowerOverrideKw,
    registered: n.registered,
  };
}

function vehicleSettings(v: VehicleEntity): AuditState {
  return {
    model: v.model,
    manufacturer: v.manufacturer,
    driver: v.driver,
    batteryKwh: v.batteryKwh,
    priority: v.priority,
    registered: v.registered,
  };
}

function needHub(st: TwinState, hubId: string): HubEntity {
  const h = st.hubs.get(hubId);
  if (!h) throw new TwinNotFound(`hub ${hubId} is unknown`);
  return h;
}

function needNode(st: TwinState, hubId: string, nodeId: string): NodeEntity {
  const n = needHub(st, hubId).nodes.get(nodeId);
  if (!n) throw new TwinNotFound(`node ${hubId}/${nodeId} is unknown`);
  return n;
}

/** Reports a changed hub (hub-upserted) when its settings differ from `before`. */
function hubChanged(
  c: Ctx,
  h: HubEntity,
  before: AuditState | null,
  previous: ReturnType<typeof hubView> | null,
): void {
  if (before === null || !same(before, hubSettings(h)))
    c.out.push({
      type: 'hub-upserted',
      ts: c.nowMs,
      hubId: h.hubId,
      created: before === null,
      hub: hubView(h),
      previous,
    });
}

function nodeChanged(
  c: Ctx,
  n: NodeEntity,
  before: AuditState | null,
  previous: ReturnType<typeof nodeView> | null,
): void {
  if (before === null || !same(before, nodeSettings(n)))
    c.out.push({
      type: 'node-upserted',
      ts: c.nowMs,
      hubId: n.hub.hubId,
      nodeId: n.nodeId,
      created: before === null,
      node: nodeView(n),
      previous,
    });
}

/** Closes the node's session (operator) and assignment, removes it: node-deleted. */
function deleteNode(c: Ctx, n: NodeEntity): void {
  const s = n.session;
  if (s) endSession(c.st, n, 'operator', s.lastSampleTs ?? c.nowMs, c.nowMs, c.out);
  clearAssignment(c.st, n, 'deleted', c.nowMs, c.out);
  const previous = nodeView(n);
  removeNode(c.st, n);
  c.out.push({ type: 'node-deleted', ts: c.nowMs, hubId: n.hub.hubId, nodeId: n.nodeId, previous });
}

function hubUpsert(c: Ctx, cmd: Cmd<'hub-upsert'>): OperatorResult {
  const existing = c.st.hubs.get(cmd.hub_id);
  if (!existing) {
    const refused = hubRefusal(c.st, cmd.hub_id, undefined, true);
    if (refused) throw refused;
  }
  const before = existing ? hubSettings(existing) : null;
  const previous = existing ? hubView(existing) : null;
  const h = existing ?? c.st.ensureHub(cmd.hub_id, c.nowMs, null);
  if (cmd.location !== undefined) h.location = geo(cmd.location);
  if (cmd.max_grid_capacity_kw !== undefined) h.maxGridCapacityKw = cmd.max_grid_capacity_kw;
  if (cmd.ip_address !== undefined) h.ipAddress = cmd.ip_address;
  if (cmd.firmware_version !== undefined) h.firmwareVersion = cmd.firmware_version;
  h.registered = true;
  hubChanged(c, h, before, previous);
  audit(c, cmd.op, { hubId: h.hubId }, before, hubSettings(h));
  return hubView(h);
}

/** A hub and its nodes out of the twin (their sessions ended, assignments cleared). */
function deleteHub(c: Ctx, h: HubEntity): void {
  const previous = hubView(h);
  for (const n of [...h.nodes.values()]) deleteNode(c, n);
  c.st.hubs.delete(h.hubId);
  c.out.push({ type: 'hub-deleted', ts: c.nowMs, hubId: h.hubId, previous });
}

function hubDelete(c: Ctx, cmd: Cmd<'hub-delete'>): OperatorResult {
  const h = needHub(c.st, cmd.hub_id);
  const before = hubSettings(h);
  deleteHub(c, h);
  audit(c, cmd.op, { hubId: h.hubId }, before, null);
  return null;
}

function hubActive(c: Ctx, cmd: Cmd<'hub-active'>): OperatorResult {
  const h = needHub(c.st, cmd.hub_id);
  const before = hubSettings(h);
  const previous = hubView(h);
  h.active = cmd.active;
  hubChanged(c, h, before, previous);
  audit(c, cmd.op, { hubId: h.hubId }, { active: before.active }, { active: h.active });
  return hubView(h);
}

function hubCapacityOverride(c: Ctx, cmd: Cmd<'hub-capacity-override'>): OperatorResult {
  const h = needHub(c.st, cmd.hub_id);
  const before = hubSettings(h);
  const previous = hubView(h);
  const o = cmd.override;
  h.capacityOverride =
    o === null ? null : Object.freeze({ kw: o.kw, fromMs: o.from_ms ?? null, untilMs: o.until_ms ?? null });
  hubChanged(c, h, before, previous);
  audit(
    c,
    cmd.op,
    { hubId: h.hubId },
    { capacityOverride: before.capacityOverride },
    { capacityOverride: h.capacityOverride },
  );
  return hubView(h);
}

function nodeUpsert(c: Ctx, cmd: Cmd<'node-upsert'>): OperatorResult {
  const hub = needHub(c.st, cmd.hub_id);
  const existing = hub.nodes.get(cmd.node_id);
  if (!existing) {
    const refused = nodeRefusal(c.st, cmd.hub_id, cmd.node_id, undefined, true);
    if (refused) throw refused;
  }
  const before = existing ? nodeSettings(existing) : null;
  const previous = existing ? nodeView(existing) : null;
  const n = existing ?? c.st.ensureNode(hub, cmd.node_id, c.nowMs, null);
  if (cmd.name !== undefined) n.name = cmd.name;
  if (cmd.max_power_kw !== undefined) n.maxPowerKw = cmd.max_power_kw;
  n.registered = true;
  nodeChanged(c, n, before, previous);
  audit(c, cmd.op, { hubId: hub.hubId, nodeId: n.nodeId }, before, nodeSettings(n));
  return nodeView(n);
}

function nodeDelete(c: Ctx, cmd: Cmd<'node-delete'>): OperatorResult {
  const n = needNode(c.st, cmd.hub_id, cmd.node_id);
  const before = nodeSettings(n);
  deleteNode(c, n);
  audit(c, cmd.op, { hubId: cmd.hub_id, nodeId: cmd.node_id }, before, null);
  return null;
}

function nodeMaintenance(c: Ctx, cmd: Cmd<'node-maintenance'>): OperatorResult {
  const n = needNode(c.st, cmd.hub_id, cmd.node_id);
  const before = nodeSettings(n);
  const previous = nodeView(n);
  const effectiveBefore = maintenanceOf(n);
  n.operatorMaintenance = cmd.maintenance;
  nodeChanged(c, n, before, previous);
  if (maintenanceOf(n) !== effectiveBefore) {
    emitNodeState(n, n.state, effectiveBefore, c.nowMs, c.out);
    if (!effectiveBefore) clearAssignment(c.st, n, 'maintenance', c.nowMs, c.out);
  }
  audit(
    c,
    cmd.op,
    { hubId: cmd.hub_id, nodeId: cmd.node_id },
    { operatorMaintenance: before.operatorMaintenance },
    { operatorMaintenance: n.operatorMaintenance },
  );
  return nodeView(n);
}

function nodeMaxPowerOverride(c: Ctx, cmd: Cmd<'node-max-power-override'>): OperatorResult {
  const n = needNode(c.st, cmd.hub_id, cmd.node_id);
  const before = nodeSettings(n);
  const previous = nodeView(n);
  n.maxPowerOverrideKw = cmd.kw;
  nodeChanged(c, n, before, previous);
  audit(
    c,
    cmd.op,
    { hubId: cmd.hub_id, nodeId: cmd.node_id },
    { maxPowerOverrideKw: before.maxPowerOverrideKw },
    { maxPowerOverrideKw: n.maxPowerOverrideKw },
  );
  return nodeView(n);
}

function vehicleUpsert(c: Ctx, cmd: Cmd<'vehicle-upsert'>): OperatorResult {
  const existing = c.st.vehicles.get(cmd.vehicle_id);
  if (!existing) {
    const refused = vehicleRefusal(c.st, cmd.vehicle_id, undefined, true);
    if (refused) throw refused;
  }
  const before = existing ? vehicleSettings(existing) : null;
  const v = existing ?? c.st.ensureVehicle(cmd.vehicle_id, c.nowMs, null);
  if (cmd.battery_capacity_kwh !== undefined) v.batteryKwh = cmd.battery_capacity_kwh;
  if (cmd.model !== undefined) v.model = cmd.model;
  if (cmd.manufacturer !== undefined) v.manufacturer = cmd.manufacturer;
  if (cmd.driver !== undefined) v.driver = cmd.driver;
  const priorityChanged = cmd.priority !== undefined && cmd.priority !== v.priority;
  if (cmd.priority !== undefined) v.priority = cmd.priority;
  v.registered = true;
  const after = vehicleSettings(v);
  if (before === null || !same(before, after))
    c.out.push({
      type: 'vehicle-upserted',
      ts: c.nowMs,
      vehicleId: v.vehicleId,
      created: !existing,
      vehicle: vehicleView(v),
    });
  if (priorityChanged) classifyVehicle(c.st, v, c.nowMs, c.out);
  audit(c, cmd.op, { vehicleId: v.vehicleId }, before, after);
  return vehicleView(v);
}

function vehicleDelete(c: Ctx, cmd: Cmd<'vehicle-delete'>): OperatorResult {
  const v = c.st.vehicles.get(cmd.vehicle_id);
  if (!v) throw new TwinNotFound(`vehicle ${cmd.vehicle_id} is unknown`);
  if (v.hubId !== null)
    throw new TwinConflict(
      `vehicle ${v.vehicleId} is charging at ${v.hubId}/${v.nodeId}: end its session first (session-end)`,
    );
  const before = vehicleSettings(v);
  deleteVehicle(c, v);
  audit(c, cmd.op, { vehicleId: v.vehicleId }, before, null);
  return null;
}

function sessionEnd(c: Ctx, cmd: Cmd<'session-end'>): OperatorResult {
  const n = needNode(c.st, cmd.hub_id, cmd.node_id);
  const s = n.session;
  if (!s && !n.hub.watched)
    // Cluster mode: only the hub's owner counts its sessions (watch.ts).
    throw new TwinConflict(
      `hub ${cmd.hub_id} is handled by another instance (cluster mode): end the session on the instance that owns it`,
    );
  if (!s) throw new TwinNotFound(`node ${cmd.hub_id}/${cmd.node_id} has no open session`);
  const open = c.out.length;
  endSession(c.st, n, 'operator', s.lastSampleTs ?? c.nowMs, c.nowMs, c.out);
  n.operatorEndedVehicleId = s.vehicleId;
  const closed = c.out.slice(open).find((x) => x.type === 'session-closed');
  const session = (closed as { session: SessionView }).session;
  audit(
    c,
    cmd.op,
    { hubId: s.hubId, nodeId: s.nodeId, vehicleId: s.vehicleId, sessionId: s.sessionId },
    { endTs: null, energyKwh: s.energyKwh },
    { endTs: session.endTs, energyKwh: session.energyKwh, closeReason: 'operator' },
  );
  return session;
}

/**
 * Runs one operator command (raw input: checked here) for `actor` at nowMs. Throws, before
 * any change: TwinInputError (malformed; `problems` field by field), TwinNotFound,
 * TwinConflict, TwinRefusal (a bound).
 */
export function operate(
  st: TwinState,
  raw: unknown,
  actorRaw: unknown,
  nowMs: number,
): { changes: TwinChange[]; result: OperatorResult } {
  if (!isNum(nowMs)) throw new TwinInputError('nowMs must be a finite number');
  const actor = checkActor(actorRaw);
  const cmd = parseCommand(raw);
  const c: Ctx = { st, actor, nowMs, out: [], note: cmd.note ?? null };
  let result: OperatorResult;
  switch (cmd.op) {
    case 'hub-upsert':
      result = hubUpsert(c, cmd);
      break;
    case 'hub-delete':
      result = hubDelete(c, cmd);
      break;
    case 'hub-active':
      result = hubActive(c, cmd);
      break;
    case 'hub-capacity-override':
      result = hubCapacityOverride(c, cmd);
      break;
    case 'node-upsert':
      result = nodeUpsert(c, cmd);
      break;
    case 'node-delete':
      result = nodeDelete(c, cmd);
      break;
    case 'node-maintenance':
      result = nodeMaintenance(c, cmd);
      break;
    case 'node-max-power-override':
      result = nodeMaxPowerOverride(c, cmd);
      break;
    case 'vehicle-upsert':
      result = vehicleUpsert(c, cmd);
      break;
    case 'vehicle-delete':
      result = vehicleDelete(c, cmd);
      break;
    case 'session-end':
      result = sessionEnd(c, cmd);
      break;
  }
  return { changes: c.out, result };
}

/** A vehicle out of the twin (a node waiting for it cleared). The caller checked it is not charging. */
function deleteVehicle(c: Ctx, v: VehicleEntity): void {
  const previous = vehicleView(v);
  for (const n of [...c.st.assignedNodes]) {
    if (n.assignedVehicleId === v.vehicleId) clearAssignment(c.st, n, 'deleted', c.nowMs, c.out);
  }
  c.st.vehicles.delete(v.vehicleId);
  c.out.push({ type: 'vehicle-deleted', ts: c.nowMs, vehicleId: v.vehicleId, previous });
}

/** Operator settings as stored (restore records); ids name the entities, the rest is applied. */
export interface ControlRecords {
  readonly hubs?: readonly HubRecord[];
  readonly nodes?: readonly NodeRecord[];
  readonly vehicles?: readonly VehicleRecord[];
  /** Entities an operator deleted (through another instance). */
  readonly deleted?: {
    readonly hubs?: readonly string[];
    readonly nodes?: readonly { readonly hubId: string; readonly nodeId: string }[];
    readonly vehicles?: readonly string[];
  };
}

/**
 * Cluster mode: operator settings another instance applied (read back from PostgreSQL, where
 * every instance writes them) applied here too, with the changes an operator command makes
 * (hub-upserted, node-upserted with a maintenance transition, vehicle-upserted and its SoC
 * class), but no audit (the instance that took the command audited it). Hubs and nodes unknown
 * here are skipped (their structure comes from the hubs); a vehicle registered elsewhere is
 * added. Settings equal to this twin's change nothing. Only the operator's settings are
 * taken: hub active and capacity override; node maintenance and max power override; vehicle
 * profile and priority; registrations. Entities deleted are removed with what a delete does
 * (sessions ended, assignments cleared), except a vehicle charging here: its telemetry keeps it.
 */
export function syncControls(st: TwinState, r: ControlRecords, nowMs: number): TwinChange[] {
  if (!isNum(nowMs)) throw new TwinInputError('nowMs must be a finite number');
  const c: Ctx = { st, actor: 'cluster', nowMs, out: [], note: null };
  for (const x of r.hubs ?? []) {
    const h = st.hubs.get(x.hubId);
    if (!h) continue;
    const before = hubSettings(h);
    const previous = hubView(h);
    if (typeof x.active === 'boolean') h.active = x.active;
    if (x.capacityOverride !== undefined) {
      const o = x.capacityOverride;
      h.capacityOverride =
        o && isNum(o.kw) && o.kw >= 0
          ? Object.freeze({ kw: o.kw, fromMs: o.fromMs ?? null, untilMs: o.untilMs ?? null })
          : null;
    }
    if (typeof x.registered === 'boolean') h.registered = x.registered;
    hubChanged(c, h, before, previous);
  }
  for (const x of r.nodes ?? []) {
    const n = st.node(x.hubId, x.nodeId);
    if (!n) continue;
    const before = nodeSettings(n);
    const previous = nodeView(n);
    const effectiveBefore = maintenanceOf(n);
    if (typeof x.operatorMaintenance === 'boolean') n.operatorMaintenance = x.operatorMaintenance;
    if (x.maxPowerOverrideKw !== undefined)
      n.maxPowerOverrideKw =
        isNum(x.maxPowerOverrideKw) && x.maxPowerOverrideKw >= 0 ? x.maxPowerOverrideKw : null;
    if (typeof x.registered === 'boolean') n.registered = x.registered;
    nodeChanged(c, n, before, previous);
    if (maintenanceOf(n) !== effectiveBefore) {
      emitNodeState(n, n.state, effectiveBefore, nowMs, c.out);
      if (!effectiveBefore) clearAssignment(st, n, 'maintenance', nowMs, c.out);
    }
  }
  for (const x of r.vehicles ?? []) {
    let v = st.vehicles.get(x.vehicleId);
    const created = !v;
    if (!v) {
      // Registered through another instance (not heard yet here): added as the command did there.
      if (x.registered !== true || vehicleRefusal(st, x.vehicleId, undefined, true)) continue;
      v = st.ensureVehicle(x.vehicleId, nowMs, null);
    }
    const before = created ? null : vehicleSettings(v);
    if (x.model !== undefined) v.model = x.model ?? null;
    if (x.manufacturer !== undefined) v.manufacturer = x.manufacturer ?? null;
    if (x.driver !== undefined) v.driver = x.driver ?? null;
    if (x.batteryKwh !== undefined)
      v.batteryKwh = isNum(x.batteryKwh) && x.batteryKwh > 0 ? x.batteryKwh : null;
    const priorityChanged = typeof x.priority === 'boolean' && x.priority !== v.priority;
    if (typeof x.priority === 'boolean') v.priority = x.priority;
    if (typeof x.registered === 'boolean') v.registered = x.registered;
    if (before === null || !same(before, vehicleSettings(v)))
      c.out.push({
        type: 'vehicle-upserted',
        ts: nowMs,
        vehicleId: v.vehicleId,
        created,
        vehicle: vehicleView(v),
      });
    if (priorityChanged) classifyVehicle(st, v, nowMs, c.out);
  }
  for (const hubId of r.deleted?.hubs ?? []) {
    const h = st.hubs.get(hubId);
    if (h) deleteHub(c, h);
  }
  for (const x of r.deleted?.nodes ?? []) {
    const n = st.node(x.hubId, x.nodeId);
    if (n) deleteNode(c, n);
  }
  for (const vehicleId of r.deleted?.vehicles ?? []) {
    const v = st.vehicles.get(vehicleId);
    if (v && v.hubId === null) deleteVehicle(c, v);
  }
  return c.out;
}

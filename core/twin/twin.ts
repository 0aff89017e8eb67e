// The live digital twin: hubs, nodes (keyed by hub and node id), vehicles, open charging
// sessions. Pure: no I/O, no clock (time is always a parameter), no timers.
import type {
  HubInfoMessage,
  HubStatusMessage,
  InboundMessage,
  NodeInfoMessage,
  NodeStatusMessage,
  NodeTelemetryMessage,
  VehicleRequestMessage,
  VehicleTelemetryMessage,
} from '../contract';
import { classify, estimateSoc, trapezoidKwh, type SocClass, type SocSource } from '../soc';
import { sessionIdOf, sessionView, type SessionState } from './sessions';
import {
  DEFAULT_TWIN_CONFIG,
  TwinInputError,
  type AssignRejectReason,
  type AssignResult,
  type AssignmentClearReason,
  type GeoPoint,
  type HubStateName,
  type HubView,
  type NodeStateName,
  type NodeTelemetryView,
  type NodeView,
  type SessionCloseReason,
  type SessionView,
  type TwinChange,
  type TwinConfig,
  type TwinSnapshot,
  type VehicleProfile,
  type VehicleView,
} from './types';

// ---- internal mutable state (never handed out) ------------------------------------

interface HubState {
  hubId: string;
  location: GeoPoint | null;
  maxGridCapacityKw: number | null;
  ipAddress: string | null;
  firmwareVersion: string | null;
  state: HubStateName;
  cpuTempC: number | null;
  lastSeenMs: number | null;
  /** Staleness clock: lastSeenMs, or the restore time when restored with a grace. */
  heardMs: number | null;
  stale: boolean;
  offlineSinceMs: number | null;
  infoTs: number | null;
  statusTs: number | null;
  nodes: Map<string, NodeState>;
}

interface NodeState {
  hub: HubState;
  nodeId: string;
  name: string | null;
  maxPowerKw: number | null;
  state: NodeStateName;
  errorCode: number;
  statusVehicleId: string | null;
  operatorMaintenance: boolean;
  telemetry: NodeTelemetryView | null;
  assignedVehicleId: string | null;
  assignedAtMs: number | null;
  assignedSoc: number | null;
  lastSeenMs: number | null;
  infoTs: number | null;
  statusTs: number | null;
  session: SessionState | null;
}

interface VehicleState {
  vehicleId: string;
  position: GeoPoint | null;
  speedKmh: number | null;
  engineTempC: number | null;
  isCharging: boolean;
  soc: number | null;
  socSource: SocSource | null;
  socTs: number | null;
  socReported: number | null;
  socReportedTs: number | null;
  socReportedSource: Exclude<SocSource, 'estimate'> | null;
  energySinceReportKwh: number;
  socClass: SocClass | null;
  priority: boolean;
  batteryKwh: number | null;
  model: string | null;
  manufacturer: string | null;
  driver: string | null;
  lastSeenMs: number | null;
  telemetryTs: number | null;
  hubId: string | null;
  nodeId: string | null;
}

interface HubBefore {
  state: HubStateName;
  stale: boolean;
  available: boolean;
}

const NODE_STATES: ReadonlySet<string> = new Set(['idle', 'charging', 'full', 'faulted']);
const HUB_STATES: ReadonlySet<string> = new Set(['online', 'offline', 'maintenance']);

function isId(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0;
}
function isNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}
function isNonNeg(v: unknown): v is number {
  return isNum(v) && v >= 0;
}
function isSoc(v: unknown): v is number {
  return isNum(v) && v >= 0 && v <= 100;
}
function optNum(v: unknown): number | null {
  return isNum(v) ? v : null;
}
function optStr(v: unknown): string | null {
  return typeof v === 'string' && v.length > 0 ? v : null;
}
function geo(
  v: { latitude: number; longitude: number; altitude?: number } | undefined | null,
): GeoPoint | null {
  if (!v) return null;
  return Object.freeze({ latitude: v.latitude, longitude: v.longitude, altitude: v.altitude ?? 0 });
}
function sameGeo(a: GeoPoint | null, b: GeoPoint | null): boolean {
  if (a === null || b === null) return a === b;
  return a.latitude === b.latitude && a.longitude === b.longitude && a.altitude === b.altitude;
}
function fail(message: string): never {
  throw new TwinInputError(message);
}

/** Structural checks of an InboundMessage before anything is changed (decode normally did it all). */
function checkMessage(msg: InboundMessage, nowMs: number): void {
  if (!isNum(nowMs)) fail('nowMs must be a finite number');
  if (typeof msg !== 'object' || msg === null) fail('message must be an object');
  if (!isNum(msg.ts)) fail('message ts must be a finite number');
  const d: unknown = (msg as { data?: unknown }).data;
  if (typeof d !== 'object' || d === null) fail('message data must be an object');
  switch (msg.kind) {
    case 'hubInfo':
      if (!isId(msg.hubId)) fail('hubId missing');
      if (!isNonNeg(msg.data.max_grid_capacity_kw)) fail('max_grid_capacity_kw must be a number ≥ 0');
      if (!msg.data.location || !isNum(msg.data.location.latitude) || !isNum(msg.data.location.longitude))
        fail('location must have latitude and longitude');
      return;
    case 'hubStatus':
      if (!isId(msg.hubId)) fail('hubId missing');
      if (!HUB_STATES.has(msg.data.state)) fail(`unknown hub state ${String(msg.data.state)}`);
      return;
    case 'nodeInfo':
      if (!isId(msg.hubId) || !isId(msg.nodeId)) fail('hubId/nodeId missing');
      if (!isNonNeg(msg.data.max_power_kw)) fail('max_power_kw must be a number ≥ 0');
      return;
    case 'nodeStatus':
      if (!isId(msg.hubId) || !isId(msg.nodeId)) fail('hubId/nodeId missing');
      if (!NODE_STATES.has(msg.data.state)) fail(`unknown node state ${String(msg.data.state)}`);
      return;
    case 'nodeTelemetry': {
      if (!isId(msg.hubId) || !isId(msg.nodeId)) fail('hubId/nodeId missing');
      const t = msg.data;
      if (!isNonNeg(t.power_kw) || !isNonNeg(t.power_limit_kw) || !isNum(t.voltage) || !isNum(t.current))
        fail('telemetry power_kw, power_limit_kw, voltage, current must be finite numbers');
      if (
        t.current_vehicle_soc !== null &&
        t.current_vehicle_soc !== undefined &&
        !isSoc(t.current_vehicle_soc)
      )
        fail('current_vehicle_soc must be 0..100 or null');
      return;
    }
    case 'vehicleTelemetry':
      if (!isId(msg.vehicleId)) fail('vehicleId missing');
      if (!isSoc(msg.data.battery_level)) fail('battery_level must be 0..100');
      return;
    case 'vehicleRequest':
      if (!isId(msg.hubId) || !isId(msg.data.vehicle_id) || !isId(msg.data.node_id))
        fail('hubId, vehicle_id and node_id are required');
      if (!isSoc(msg.data.soc_percent)) fail('soc_percent must be 0..100');
      return;
    case 'dlmEvent':
      return;
    default:
      fail(`unknown message kind ${String((msg as { kind?: unknown }).kind)}`);
  }
}

function configFrom(partial: Partial<TwinConfig> | undefined): TwinConfig {
  const c: TwinConfig = { ...DEFAULT_TWIN_CONFIG, ...(partial ?? {}) };
  for (const [k, v] of Object.entries(c)) {
    if (!isNonNeg(v)) fail(`config ${k} must be a finite number ≥ 0`);
  }
  if (c.defaultBatteryKwh <= 0) fail('config defaultBatteryKwh must be > 0');
  return Object.freeze(c);
}

/**
 * The digital twin. Feed it decoded messages with `apply`, call `tick` periodically;
 * both return the list of changes (for storage and for the DLM). Views handed out are
 * frozen copies.
 */
export class Twin {
  readonly config: TwinConfig;
  private readonly hubMap = new Map<string, HubState>();
  private readonly vehicleMap = new Map<string, VehicleState>();
  /** Nodes with an open session. */
  private readonly sessionNodes = new Set<NodeState>();
  /** Nodes with a pending request assignment. */
  private readonly assignedNodes = new Set<NodeState>();

  constructor(config?: Partial<TwinConfig>) {
    this.config = configFrom(config);
  }

  // ---- entry points ----------------------------------------------------------------

  /**
   * Applies one decoded message (receipt time nowMs). Out-of-order (older than what was
   * applied for the same entity and kind) and duplicate messages change nothing but the
   * hub's last-seen time. Throws TwinInputError on a malformed message, before any change.
   */
  apply(msg: InboundMessage, nowMs: number): TwinChange[] {
    checkMessage(msg, nowMs);
    const out: TwinChange[] = [];
    switch (msg.kind) {
      case 'hubInfo':
        this.applyHubInfo(msg, nowMs, out);
        break;
      case 'hubStatus':
        this.applyHubStatus(msg, nowMs, out);
        break;
      case 'nodeInfo':
        this.applyNodeInfo(msg, nowMs, out);
        break;
      case 'nodeStatus':
        this.applyNodeStatus(msg, nowMs, out);
        break;
      case 'nodeTelemetry':
        this.applyNodeTelemetry(msg, nowMs, out);
        break;
      case 'vehicleTelemetry':
        this.applyVehicleTelemetry(msg, nowMs, out);
        break;
      case 'vehicleRequest':
        return this.applyRequest(msg, nowMs);
      case 'dlmEvent':
        // Limits are owned by the allocator; a DLM event is not a sign of life of the hub.
        break;
    }
    return out;
  }

  /**
   * Time-driven transitions at nowMs: hubs becoming stale, SoC estimates of charging
   * vehicles between reports, sessions of hubs offline/stale for longer than
   * offlineSessionCloseS closed, request assignments timed out.
   */
  tick(nowMs: number): TwinChange[] {
    if (!isNum(nowMs)) fail('nowMs must be a finite number');
    const out: TwinChange[] = [];
    const staleMs = this.config.staleAfterS * 1000;
    const closeMs = this.config.offlineSessionCloseS * 1000;
    for (const hub of this.hubMap.values()) {
      if (!hub.stale && hub.heardMs !== null && nowMs - hub.heardMs > staleMs) {
        const before = this.hubBefore(hub);
        hub.stale = true;
        this.emitHubState(hub, before, nowMs, out);
      }
      let since: number | null = hub.state === 'offline' ? hub.offlineSinceMs : null;
      if (hub.stale && hub.heardMs !== null)
        since = since === null ? hub.heardMs : Math.min(since, hub.heardMs);
      if (since !== null && nowMs - since >= closeMs) {
        for (const node of hub.nodes.values()) {
          const s = node.session;
          if (s) this.endSession(node, 'hub-offline', s.lastSampleTs ?? s.startTs, nowMs, out);
        }
      }
    }
    const timeoutMs = this.config.assignmentTimeoutS * 1000;
    for (const node of [...this.assignedNodes]) {
      if (node.assignedAtMs !== null && nowMs - node.assignedAtMs > timeoutMs) {
        this.clearAssignment(node, 'timeout', nowMs, out);
      }
    }
    for (const node of this.sessionNodes) {
      const s = node.session;
      if (!s) continue;
      const v = this.vehicleMap.get(s.vehicleId);
      if (!v || v.socReported === null || v.energySinceReportKwh <= 0) continue;
      const est =
        Math.round(
          estimateSoc(v.socReported, v.energySinceReportKwh, v.batteryKwh ?? this.config.defaultBatteryKwh) *
            100,
        ) / 100;
      if (
        v.soc === null ||
        Math.abs(est - v.soc) >= this.config.socEstimateStep ||
        (est >= 100 && v.soc < 100)
      ) {
        this.setSoc(v, est, 'estimate', nowMs, out);
      }
    }
    return out;
  }

  /**
   * Why a request of vehicleId for (hubId, nodeId) would be refused now, or null when it
   * would be accepted. Changes nothing (the REST API asks before publishing a request).
   */
  checkAssign(hubId: string, nodeId: string, vehicleId: string, nowMs: number): AssignRejectReason | null {
    if (!isNum(nowMs) || !isId(hubId) || !isId(nodeId) || !isId(vehicleId)) return 'invalid-input';
    const hub = this.hubMap.get(hubId);
    const node = hub?.nodes.get(nodeId);
    if (!hub || !node) return 'unknown-node';
    if (!this.hubAvailable(hub)) return 'hub-unavailable';
    if (node.state === 'faulted') return 'node-faulted';
    if (this.maintenanceOf(node)) return 'node-maintenance';
    const busyWith =
      node.session?.vehicleId ??
      (node.state === 'charging' ? node.statusVehicleId : null) ??
      (node.assignedAtMs !== null && nowMs - node.assignedAtMs <= this.config.assignmentTimeoutS * 1000
        ? node.assignedVehicleId
        : null);
    if (busyWith !== null && busyWith !== vehicleId) return 'node-busy';
    return null;
  }

  /**
   * A request assigned vehicleId to (hubId, nodeId). Rejected (nothing changed) when the
   * node is unknown, its hub unavailable, the node faulted, in maintenance or busy with
   * another vehicle. `ts` is the request's message time (for ordering the SoC report).
   */
  assign(
    hubId: string,
    nodeId: string,
    vehicleId: string,
    soc: number | null,
    nowMs: number,
    ts: number = nowMs,
  ): AssignResult {
    if (!isNum(ts)) return { ok: false, reason: 'invalid-input' };
    if (soc !== null && !isSoc(soc)) return { ok: false, reason: 'invalid-input' };
    const refused = this.checkAssign(hubId, nodeId, vehicleId, nowMs);
    if (refused) return { ok: false, reason: refused };
    const node = this.hubMap.get(hubId)!.nodes.get(nodeId)!;

    const out: TwinChange[] = [];
    const v = this.ensureVehicle(vehicleId, ts, out);
    if (node.session === null || node.session.vehicleId !== vehicleId) {
      if (node.assignedVehicleId !== vehicleId) {
        if (node.assignedVehicleId !== null) this.clearAssignment(node, 'replaced', ts, out);
        node.assignedVehicleId = vehicleId;
        node.assignedAtMs = nowMs;
        node.assignedSoc = soc;
        this.assignedNodes.add(node);
        out.push({ type: 'node-assigned', ts, hubId, nodeId, vehicleId, soc });
      } else {
        node.assignedAtMs = nowMs;
        node.assignedSoc = soc;
      }
    }
    if (soc !== null) this.reportSoc(v, soc, 'request', ts, out);
    return { ok: true, changes: out };
  }

  /** Registers or updates a vehicle's profile. Throws TwinInputError on invalid values. */
  setVehicleProfile(vehicleId: string, profile: VehicleProfile, nowMs: number): TwinChange[] {
    if (!isId(vehicleId)) fail('vehicleId missing');
    if (!isNum(nowMs)) fail('nowMs must be a finite number');
    const { batteryKwh, priority, model, manufacturer, driver } = profile;
    if (
      batteryKwh !== undefined &&
      batteryKwh !== null &&
      (!isNum(batteryKwh) || batteryKwh <= 0 || batteryKwh > 1000)
    )
      fail('batteryKwh must be in (0, 1000]');
    if (priority !== undefined && typeof priority !== 'boolean') fail('priority must be a boolean');
    for (const [k, s] of [
      ['model', model],
      ['manufacturer', manufacturer],
      ['driver', driver],
    ] as const) {
      if (s !== undefined && s !== null && (typeof s !== 'string' || s.length > 200))
        fail(`${k} must be a string of at most 200 characters or null`);
    }
    const out: TwinChange[] = [];
    const created = !this.vehicleMap.has(vehicleId);
    const v = this.ensureVehicle(vehicleId, nowMs, out);
    let changed = false;
    if (batteryKwh !== undefined && v.batteryKwh !== batteryKwh) {
      v.batteryKwh = batteryKwh;
      changed = true;
    }
    if (model !== undefined && v.model !== model) {
      v.model = model;
      changed = true;
    }
    if (manufacturer !== undefined && v.manufacturer !== manufacturer) {
      v.manufacturer = manufacturer;
      changed = true;
    }
    if (driver !== undefined && v.driver !== driver) {
      v.driver = driver;
      changed = true;
    }
    const priorityChanged = priority !== undefined && v.priority !== priority;
    if (priorityChanged) {
      v.priority = priority;
      changed = true;
    }
    if (changed && !created) {
      out.push({
        type: 'vehicle-upserted',
        ts: nowMs,
        vehicleId,
        created: false,
        vehicle: this.vehicleView(v),
      });
    } else if (changed && created) {
      // Replace the creation entry by one carrying the profile.
      const i = out.findIndex((c) => c.type === 'vehicle-upserted');
      if (i >= 0)
        out[i] = {
          type: 'vehicle-upserted',
          ts: nowMs,
          vehicleId,
          created: true,
          vehicle: this.vehicleView(v),
        };
    }
    if (priorityChanged) this.reclassify(v, nowMs, out);
    return out;
  }

  /** Operator maintenance of one node. Throws TwinInputError for an unknown node. */
  setNodeMaintenance(hubId: string, nodeId: string, on: boolean, nowMs: number): TwinChange[] {
    if (!isNum(nowMs)) fail('nowMs must be a finite number');
    const node = this.hubMap.get(hubId)?.nodes.get(nodeId);
    if (!node) fail(`unknown node ${hubId}/${nodeId}`);
    const out: TwinChange[] = [];
    const before = this.maintenanceOf(node);
    node.operatorMaintenance = on;
    if (this.maintenanceOf(node) !== before) {
      this.emitNodeState(node, node.state, before, nowMs, out);
      if (!before) this.clearAssignment(node, 'maintenance', nowMs, out);
    }
    return out;
  }

  // ---- getters ---------------------------------------------------------------------

  hub(hubId: string): HubView | undefined {
    const h = this.hubMap.get(hubId);
    return h ? this.hubView(h) : undefined;
  }

  hubs(): HubView[] {
    return [...this.hubMap.values()].map((h) => this.hubView(h));
  }

  node(hubId: string, nodeId: string): NodeView | undefined {
    const n = this.hubMap.get(hubId)?.nodes.get(nodeId);
    return n ? this.nodeView(n) : undefined;
  }

  nodesOf(hubId: string): NodeView[] {
    const h = this.hubMap.get(hubId);
    return h ? [...h.nodes.values()].map((n) => this.nodeView(n)) : [];
  }

  vehicle(vehicleId: string): VehicleView | undefined {
    const v = this.vehicleMap.get(vehicleId);
    return v ? this.vehicleView(v) : undefined;
  }

  vehicles(): VehicleView[] {
    return [...this.vehicleMap.values()].map((v) => this.vehicleView(v));
  }

  openSession(hubId: string, nodeId: string): SessionView | undefined {
    const s = this.hubMap.get(hubId)?.nodes.get(nodeId)?.session;
    return s ? sessionView(s) : undefined;
  }

  openSessions(): SessionView[] {
    const r: SessionView[] = [];
    for (const n of this.sessionNodes) if (n.session) r.push(sessionView(n.session));
    return r;
  }

  /** Online (or state not yet reported) and not stale. Unknown hub: false. */
  isAvailable(hubId: string): boolean {
    const h = this.hubMap.get(hubId);
    return h ? this.hubAvailable(h) : false;
  }

  /** Counts, cheap. */
  stats(): { hubs: number; nodes: number; vehicles: number; openSessions: number } {
    let nodes = 0;
    for (const h of this.hubMap.values()) nodes += h.nodes.size;
    return {
      hubs: this.hubMap.size,
      nodes,
      vehicles: this.vehicleMap.size,
      openSessions: this.sessionNodes.size,
    };
  }

  // ---- snapshot / restore ----------------------------------------------------------

  /** Plain, JSON-serialisable state: hubs, nodes, vehicles and open sessions. */
  snapshot(): TwinSnapshot {
    const nodes: NodeView[] = [];
    for (const h of this.hubMap.values()) for (const n of h.nodes.values()) nodes.push(this.nodeView(n));
    return {
      version: 1,
      hubs: this.hubs(),
      nodes,
      vehicles: this.vehicles(),
      sessions: this.openSessions(),
    };
  }

  /**
   * Rebuilds a twin from a snapshot or from PostgreSQL rows (only ids are required in each
   * record). When nowMs is given, hubs are not considered silent during the orchestrator's
   * own downtime: their staleness clock starts at nowMs at the latest. Open sessions
   * continue (energy, last sample); of two open sessions on one node only the latest is
   * kept (see restoreWithChanges for the closing changes of the others).
   */
  static restore(snapshot: TwinSnapshot, config?: Partial<TwinConfig>, nowMs?: number): Twin {
    return Twin.restoreWithChanges(snapshot, config, nowMs).twin;
  }

  /** restore, plus the changes to persist (session-closed 'duplicate' for extra open sessions). */
  static restoreWithChanges(
    snapshot: TwinSnapshot,
    config?: Partial<TwinConfig>,
    nowMs?: number,
  ): { twin: Twin; changes: TwinChange[] } {
    if (nowMs !== undefined && !isNum(nowMs)) fail('nowMs must be a finite number');
    const t = new Twin(config);
    const sink: TwinChange[] = [];
    for (const r of snapshot.hubs ?? []) {
      if (!isId(r.hubId)) fail('hub record without hubId');
      const h = t.ensureHub(r.hubId, 0, sink);
      h.location = r.location ? geo(r.location) : null;
      h.maxGridCapacityKw = optNum(r.maxGridCapacityKw);
      h.ipAddress = optStr(r.ipAddress);
      h.firmwareVersion = optStr(r.firmwareVersion);
      h.state = r.state && (HUB_STATES.has(r.state) || r.state === 'unknown') ? r.state : 'unknown';
      h.cpuTempC = optNum(r.cpuTempC);
      h.lastSeenMs = optNum(r.lastSeenMs);
      h.infoTs = optNum(r.infoTs);
      h.statusTs = optNum(r.statusTs);
      h.stale = r.stale === true;
      h.heardMs = h.lastSeenMs;
      h.offlineSinceMs =
        h.state === 'offline' ? (optNum(r.offlineSinceMs) ?? h.lastSeenMs ?? nowMs ?? null) : null;
      if (nowMs !== undefined) {
        h.heardMs = Math.max(h.heardMs ?? nowMs, nowMs);
        h.stale = false;
        if (h.offlineSinceMs !== null) h.offlineSinceMs = Math.max(h.offlineSinceMs, nowMs);
      }
    }
    for (const r of snapshot.nodes ?? []) {
      if (!isId(r.hubId) || !isId(r.nodeId)) fail('node record without hubId/nodeId');
      const n = t.ensureNode(t.ensureHub(r.hubId, 0, sink), r.nodeId, 0, sink);
      n.name = optStr(r.name);
      n.maxPowerKw = optNum(r.maxPowerKw);
      n.state = r.state && (NODE_STATES.has(r.state) || r.state === 'unknown') ? r.state : 'unknown';
      n.errorCode = optNum(r.errorCode) ?? 0;
      n.statusVehicleId = optStr(r.statusVehicleId);
      n.operatorMaintenance = r.operatorMaintenance === true;
      n.telemetry = r.telemetry ? Object.freeze({ ...r.telemetry }) : null;
      n.lastSeenMs = optNum(r.lastSeenMs);
      n.infoTs = optNum(r.infoTs);
      n.statusTs = optNum(r.statusTs);
      if (isId(r.assignedVehicleId) && isNum(r.assignedAtMs)) {
        n.assignedVehicleId = r.assignedVehicleId;
        n.assignedAtMs = r.assignedAtMs;
        n.assignedSoc = optNum(r.assignedSoc);
        t.assignedNodes.add(n);
      }
    }
    for (const r of snapshot.vehicles ?? []) {
      if (!isId(r.vehicleId)) fail('vehicle record without vehicleId');
      const v = t.ensureVehicle(r.vehicleId, 0, sink);
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
      v.socClass =
        r.socClass === 'critical' || r.socClass === 'normal'
          ? r.socClass
          : classify(v.soc, v.priority, null, {
              criticalSoc: t.config.criticalSoc,
              hysteresis: t.config.socHysteresis,
            });
    }
    const changes: TwinChange[] = [];
    const open = (snapshot.sessions ?? []).filter((s) => s.endTs === null || s.endTs === undefined);
    // Latest first, so that the latest open session of a node wins.
    const sorted = [...open].sort((a, b) => b.startTs - a.startTs);
    for (const r of sorted) {
      if (!isId(r.hubId) || !isId(r.nodeId) || !isId(r.vehicleId) || !isNum(r.startTs))
        fail('session record without hubId/nodeId/vehicleId/startTs');
      const n = t.ensureNode(t.ensureHub(r.hubId, 0, sink), r.nodeId, 0, sink);
      const v = t.ensureVehicle(r.vehicleId, 0, sink);
      const s: SessionState = {
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
      t.sessionNodes.add(n);
      v.hubId = s.hubId;
      v.nodeId = s.nodeId;
    }
    return { twin: t, changes };
  }

  // ---- message handlers ------------------------------------------------------------

  private applyHubInfo(msg: HubInfoMessage, nowMs: number, out: TwinChange[]): void {
    const created = !this.hubMap.has(msg.hubId);
    const hub = this.ensureHub(msg.hubId, msg.ts, null);
    const before = this.hubBefore(hub);
    if (hub.infoTs === null || msg.ts >= hub.infoTs) {
      const previous = created ? null : this.hubView(hub);
      const d = msg.data;
      const loc = geo(d.location);
      const ip = optStr(d.ip_address);
      const fw = optStr(d.firmware_version);
      const changed =
        !sameGeo(hub.location, loc) ||
        hub.maxGridCapacityKw !== d.max_grid_capacity_kw ||
        hub.ipAddress !== ip ||
        hub.firmwareVersion !== fw;
      hub.infoTs = msg.ts;
      if (changed) {
        hub.location = loc;
        hub.maxGridCapacityKw = d.max_grid_capacity_kw;
        hub.ipAddress = ip;
        hub.firmwareVersion = fw;
      }
      if (changed || created) {
        out.push({
          type: 'hub-upserted',
          ts: msg.ts,
          hubId: hub.hubId,
          created,
          hub: this.hubView(hub),
          previous,
        });
      }
    }
    this.heard(hub, nowMs);
    this.emitHubState(hub, before, msg.ts, out);
  }

  private applyHubStatus(msg: HubStatusMessage, nowMs: number, out: TwinChange[]): void {
    const hub = this.ensureHub(msg.hubId, msg.ts, out);
    const before = this.hubBefore(hub);
    let maintBefore: (readonly [NodeState, boolean])[] | null = null;
    if (hub.statusTs === null || msg.ts >= hub.statusTs) {
      const state = msg.data.state;
      if ((hub.state === 'maintenance') !== (state === 'maintenance')) {
        maintBefore = [...hub.nodes.values()].map((n) => [n, this.maintenanceOf(n)] as const);
      }
      if (state === 'offline' && hub.state !== 'offline') hub.offlineSinceMs = nowMs;
      if (state !== 'offline') hub.offlineSinceMs = null;
      hub.state = state;
      hub.cpuTempC = optNum(msg.data.cpu_temp);
      hub.statusTs = msg.ts;
    }
    this.heard(hub, nowMs);
    this.emitHubState(hub, before, msg.ts, out);
    for (const [n, prev] of maintBefore ?? []) {
      if (this.maintenanceOf(n) === prev) continue;
      this.emitNodeState(n, n.state, prev, msg.ts, out);
      if (!prev) this.clearAssignment(n, 'maintenance', msg.ts, out);
    }
  }

  private applyNodeInfo(msg: NodeInfoMessage, nowMs: number, out: TwinChange[]): void {
    const hub = this.ensureHub(msg.hubId, msg.ts, out);
    const before = this.hubBefore(hub);
    const created = !hub.nodes.has(msg.nodeId);
    const node = this.ensureNode(hub, msg.nodeId, msg.ts, null);
    if (node.infoTs === null || msg.ts >= node.infoTs) {
      const previous = created ? null : this.nodeView(node);
      const name = optStr(msg.data.name);
      const changed = node.name !== name || node.maxPowerKw !== msg.data.max_power_kw;
      node.infoTs = msg.ts;
      node.name = name;
      node.maxPowerKw = msg.data.max_power_kw;
      if (changed || created) {
        out.push({
          type: 'node-upserted',
          ts: msg.ts,
          hubId: hub.hubId,
          nodeId: node.nodeId,
          created,
          node: this.nodeView(node),
          previous,
        });
      }
    } else if (created) {
      this.pushNodeCreated(node, msg.ts, out);
    }
    this.heard(hub, nowMs, node);
    this.emitHubState(hub, before, msg.ts, out);
  }

  private applyNodeStatus(msg: NodeStatusMessage, nowMs: number, out: TwinChange[]): void {
    const hub = this.ensureHub(msg.hubId, msg.ts, out);
    const before = this.hubBefore(hub);
    const node = this.ensureNode(hub, msg.nodeId, msg.ts, out);
    this.heard(hub, nowMs, node);
    this.emitHubState(hub, before, msg.ts, out);
    if (node.statusTs !== null && msg.ts < node.statusTs) return; // out of order
    const d = msg.data;
    const vehicleId = optStr(d.current_vehicle_id);
    const errorCode = optNum(d.error_code) ?? 0;
    const prevState = node.state;
    const changed =
      prevState !== d.state || node.errorCode !== errorCode || node.statusVehicleId !== vehicleId;
    node.statusTs = msg.ts;
    node.state = d.state;
    node.errorCode = errorCode;
    node.statusVehicleId = vehicleId;
    if (vehicleId !== null) this.ensureVehicle(vehicleId, msg.ts, out);
    if (changed) {
      const m = this.maintenanceOf(node);
      this.emitNodeState(node, prevState, m, msg.ts, out);
    }
    const s = node.session;
    if (d.state === 'charging') {
      if (vehicleId !== null) {
        if (s === null) this.startSession(node, vehicleId, msg.ts, out);
        else if (s.vehicleId !== vehicleId && msg.ts > s.startTs) {
          this.endSession(node, 'vehicle-changed', msg.ts, msg.ts, out);
          this.startSession(node, vehicleId, msg.ts, out);
        }
      }
    } else {
      if (s !== null && msg.ts >= s.startTs) this.endSession(node, d.state, msg.ts, msg.ts, out);
      if (d.state === 'faulted') this.clearAssignment(node, 'faulted', msg.ts, out);
    }
  }

  private applyNodeTelemetry(msg: NodeTelemetryMessage, nowMs: number, out: TwinChange[]): void {
    const hub = this.ensureHub(msg.hubId, msg.ts, out);
    const before = this.hubBefore(hub);
    const node = this.ensureNode(hub, msg.nodeId, msg.ts, out);
    this.heard(hub, nowMs, node);
    this.emitHubState(hub, before, msg.ts, out);
    if (node.telemetry !== null && msg.ts <= node.telemetry.ts) return; // duplicate or out of order
    const d = msg.data;
    const vehicleId = optStr(d.connected_vehicle_id);
    const soc = vehicleId !== null && isSoc(d.current_vehicle_soc) ? d.current_vehicle_soc : null;
    const tel: NodeTelemetryView = Object.freeze({
      ts: msg.ts,
      voltage: d.voltage,
      current: d.current,
      powerKw: d.power_kw,
      powerLimitKw: d.power_limit_kw,
      isOccupied: d.is_occupied === true,
      vehicleId,
      soc,
    });
    node.telemetry = tel;
    const vehicle = vehicleId !== null ? this.ensureVehicle(vehicleId, msg.ts, out) : null;
    out.push({
      type: 'node-telemetry',
      ts: msg.ts,
      hubId: hub.hubId,
      nodeId: node.nodeId,
      powerKw: tel.powerKw,
      powerLimitKw: tel.powerLimitKw,
      voltage: tel.voltage,
      current: tel.current,
      isOccupied: tel.isOccupied,
      vehicleId,
      soc,
    });
    // Sessions: telemetry opens one only while the status says charging.
    if (node.state === 'charging' && tel.isOccupied && vehicleId !== null && tel.powerKw > 0) {
      const s = node.session;
      if (s === null) this.startSession(node, vehicleId, msg.ts, out);
      else if (s.vehicleId !== vehicleId && msg.ts > s.startTs) {
        this.endSession(node, 'vehicle-changed', msg.ts, msg.ts, out);
        this.startSession(node, vehicleId, msg.ts, out);
      }
    }
    const s = node.session;
    let integrated = false;
    if (s !== null && msg.ts >= s.startTs && (s.lastSampleTs === null || msg.ts > s.lastSampleTs)) {
      const p = tel.powerKw;
      if (s.lastSampleTs !== null && s.lastPowerKw !== null && msg.ts - s.lastSampleTs <= this.maxGapMs()) {
        const e = trapezoidKwh(s.lastPowerKw, p, s.lastSampleTs, msg.ts);
        s.energyKwh += e;
        const sv = this.vehicleMap.get(s.vehicleId);
        if (sv) sv.energySinceReportKwh += e;
      }
      s.lastSampleTs = msg.ts;
      s.lastPowerKw = p;
      if (p > s.peakPowerKw) s.peakPowerKw = p;
      integrated = true;
    }
    // The report covers the energy delivered up to it: integrate first, then report.
    if (vehicle !== null && soc !== null) this.reportSoc(vehicle, soc, 'node', msg.ts, out);
    if (integrated && s !== null) {
      out.push({
        type: 'session-updated',
        ts: msg.ts,
        hubId: s.hubId,
        nodeId: s.nodeId,
        vehicleId: s.vehicleId,
        sessionId: s.sessionId,
        session: sessionView(s),
      });
    }
  }

  private applyVehicleTelemetry(msg: VehicleTelemetryMessage, nowMs: number, out: TwinChange[]): void {
    const created = !this.vehicleMap.has(msg.vehicleId);
    const v = this.ensureVehicle(msg.vehicleId, msg.ts, null);
    v.lastSeenMs = Math.max(v.lastSeenMs ?? nowMs, nowMs);
    if (v.telemetryTs !== null && msg.ts < v.telemetryTs) return; // out of order
    const d = msg.data;
    const pos = geo(d.geo_location);
    const speed = optNum(d.speed_kmh);
    const temp = optNum(d.engine_temp_c);
    const charging = d.is_charging === true;
    const changed =
      created ||
      msg.ts !== v.telemetryTs ||
      !sameGeo(v.position, pos) ||
      v.speedKmh !== speed ||
      v.engineTempC !== temp ||
      v.isCharging !== charging;
    v.telemetryTs = msg.ts;
    v.position = pos;
    v.speedKmh = speed;
    v.engineTempC = temp;
    v.isCharging = charging;
    if (changed)
      out.push({
        type: 'vehicle-upserted',
        ts: msg.ts,
        vehicleId: v.vehicleId,
        created,
        vehicle: this.vehicleView(v),
      });
    this.reportSoc(v, d.battery_level, 'vehicle', msg.ts, out);
  }

  private applyRequest(msg: VehicleRequestMessage, nowMs: number): TwinChange[] {
    const d = msg.data;
    const r = this.assign(msg.hubId, d.node_id, d.vehicle_id, d.soc_percent, nowMs, msg.ts);
    if (r.ok) return r.changes;
    return [
      {
        type: 'request-rejected',
        ts: msg.ts,
        hubId: msg.hubId,
        nodeId: d.node_id,
        vehicleId: d.vehicle_id,
        soc: d.soc_percent,
        reason: r.reason,
      },
    ];
  }

  // ---- sessions ----------------------------------------------------------------------

  private maxGapMs(): number {
    // Never integrate across a silence long enough to make the hub stale.
    return Math.max(this.config.staleAfterS * 1000, 1);
  }

  private startSession(node: NodeState, vehicleId: string, ts: number, out: TwinChange[]): void {
    const v = this.ensureVehicle(vehicleId, ts, out);
    const s: SessionState = {
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
    this.sessionNodes.add(node);
    v.hubId = s.hubId;
    v.nodeId = s.nodeId;
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
      this.clearAssignment(node, node.assignedVehicleId === vehicleId ? 'charging' : 'replaced', ts, out);
    }
  }

  private endSession(
    node: NodeState,
    reason: SessionCloseReason,
    endTs: number,
    ts: number,
    out: TwinChange[],
  ): void {
    const s = node.session;
    if (!s) return;
    node.session = null;
    this.sessionNodes.delete(node);
    const v = this.vehicleMap.get(s.vehicleId);
    if (v) {
      s.endSoc = v.soc ?? s.endSoc;
      if (v.hubId === s.hubId && v.nodeId === s.nodeId) {
        v.hubId = null;
        v.nodeId = null;
      }
    }
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

  private clearAssignment(
    node: NodeState,
    reason: AssignmentClearReason,
    ts: number,
    out: TwinChange[],
  ): void {
    const vehicleId = node.assignedVehicleId;
    if (vehicleId === null) return;
    node.assignedVehicleId = null;
    node.assignedAtMs = null;
    node.assignedSoc = null;
    this.assignedNodes.delete(node);
    out.push({
      type: 'node-assignment-cleared',
      ts,
      hubId: node.hub.hubId,
      nodeId: node.nodeId,
      vehicleId,
      reason,
    });
  }

  // ---- SoC ---------------------------------------------------------------------------

  private reportSoc(
    v: VehicleState,
    value: number,
    source: Exclude<SocSource, 'estimate'>,
    ts: number,
    out: TwinChange[],
  ): void {
    if (v.socReportedTs !== null && ts < v.socReportedTs) return; // older than the last report
    if (value === v.socReported && source === v.socReportedSource) {
      // Devices repeat the same value every period: no new information, so the estimate
      // base (and an estimate already above it) is kept.
      v.socReportedTs = ts;
      return;
    }
    v.socReported = value;
    v.socReportedTs = ts;
    v.socReportedSource = source;
    v.energySinceReportKwh = 0;
    this.setSoc(v, value, source, ts, out);
  }

  private setSoc(v: VehicleState, value: number, source: SocSource, ts: number, out: TwinChange[]): void {
    const previous = v.soc;
    v.soc = value;
    v.socSource = source;
    v.socTs = ts;
    const node =
      v.hubId !== null && v.nodeId !== null ? this.hubMap.get(v.hubId)?.nodes.get(v.nodeId) : undefined;
    const s = node?.session;
    if (s && s.vehicleId === v.vehicleId) {
      s.endSoc = value;
      if (s.startSoc === null) s.startSoc = value;
    }
    if (previous !== value) {
      out.push({
        type: 'soc',
        ts,
        vehicleId: v.vehicleId,
        value,
        previous,
        source,
        hubId: v.hubId,
        nodeId: v.nodeId,
      });
    }
    this.reclassify(v, ts, out);
  }

  private reclassify(v: VehicleState, ts: number, out: TwinChange[]): void {
    const to = classify(v.soc, v.priority, v.socClass, {
      criticalSoc: this.config.criticalSoc,
      hysteresis: this.config.socHysteresis,
    });
    if (to === v.socClass) return;
    const from = v.socClass;
    v.socClass = to;
    out.push({
      type: 'soc-class',
      ts,
      vehicleId: v.vehicleId,
      from,
      to,
      soc: v.soc,
      priority: v.priority,
      hubId: v.hubId,
      nodeId: v.nodeId,
    });
  }

  // ---- entity helpers ----------------------------------------------------------------

  /** Gets or creates a hub; a created one is announced in `out` unless out is null. */
  private ensureHub(hubId: string, ts: number, out: TwinChange[] | null): HubState {
    let h = this.hubMap.get(hubId);
    if (h) return h;
    h = {
      hubId,
      location: null,
      maxGridCapacityKw: null,
      ipAddress: null,
      firmwareVersion: null,
      state: 'unknown',
      cpuTempC: null,
      lastSeenMs: null,
      heardMs: null,
      stale: false,
      offlineSinceMs: null,
      infoTs: null,
      statusTs: null,
      nodes: new Map(),
    };
    this.hubMap.set(hubId, h);
    if (out)
      out.push({ type: 'hub-upserted', ts, hubId, created: true, hub: this.hubView(h), previous: null });
    return h;
  }

  private ensureNode(hub: HubState, nodeId: string, ts: number, out: TwinChange[] | null): NodeState {
    let n = hub.nodes.get(nodeId);
    if (n) return n;
    n = {
      hub,
      nodeId,
      name: null,
      maxPowerKw: null,
      state: 'unknown',
      errorCode: 0,
      statusVehicleId: null,
      operatorMaintenance: false,
      telemetry: null,
      assignedVehicleId: null,
      assignedAtMs: null,
      assignedSoc: null,
      lastSeenMs: null,
      infoTs: null,
      statusTs: null,
      session: null,
    };
    hub.nodes.set(nodeId, n);
    if (out) this.pushNodeCreated(n, ts, out);
    return n;
  }

  private pushNodeCreated(n: NodeState, ts: number, out: TwinChange[]): void {
    out.push({
      type: 'node-upserted',
      ts,
      hubId: n.hub.hubId,
      nodeId: n.nodeId,
      created: true,
      node: this.nodeView(n),
      previous: null,
    });
  }

  /**
   * Gets or creates a vehicle; a created one is announced unless out is null. Its class is
   * set (soc-class from null) at its first SoC or priority.
   */
  private ensureVehicle(vehicleId: string, ts: number, out: TwinChange[] | null): VehicleState {
    let v = this.vehicleMap.get(vehicleId);
    if (v) return v;
    v = {
      vehicleId,
      position: null,
      speedKmh: null,
      engineTempC: null,
      isCharging: false,
      soc: null,
      socSource: null,
      socTs: null,
      socReported: null,
      socReportedTs: null,
      socReportedSource: null,
      energySinceReportKwh: 0,
      socClass: null,
      priority: false,
      batteryKwh: null,
      model: null,
      manufacturer: null,
      driver: null,
      lastSeenMs: null,
      telemetryTs: null,
      hubId: null,
      nodeId: null,
    };
    this.vehicleMap.set(vehicleId, v);
    if (out) this.pushVehicleCreated(v, ts, out);
    return v;
  }

  private pushVehicleCreated(v: VehicleState, ts: number, out: TwinChange[]): void {
    out.push({
      type: 'vehicle-upserted',
      ts,
      vehicleId: v.vehicleId,
      created: true,
      vehicle: this.vehicleView(v),
    });
  }

  /** A message from the hub (or one of its nodes) was received at nowMs. */
  private heard(hub: HubState, nowMs: number, node?: NodeState): void {
    hub.lastSeenMs = hub.lastSeenMs === null ? nowMs : Math.max(hub.lastSeenMs, nowMs);
    hub.heardMs = hub.heardMs === null ? nowMs : Math.max(hub.heardMs, nowMs);
    hub.stale = false;
    if (node) node.lastSeenMs = node.lastSeenMs === null ? nowMs : Math.max(node.lastSeenMs, nowMs);
  }

  private hubAvailable(h: HubState): boolean {
    return (h.state === 'online' || h.state === 'unknown') && !h.stale && h.heardMs !== null;
  }

  private maintenanceOf(n: NodeState): boolean {
    return n.operatorMaintenance || n.hub.state === 'maintenance';
  }

  private hubBefore(h: HubState): HubBefore {
    return { state: h.state, stale: h.stale, available: this.hubAvailable(h) };
  }

  private emitHubState(h: HubState, before: HubBefore, ts: number, out: TwinChange[]): void {
    const available = this.hubAvailable(h);
    if (before.state === h.state && before.stale === h.stale && before.available === available) return;
    out.push({
      type: 'hub-state',
      ts,
      hubId: h.hubId,
      state: h.state,
      previousState: before.state,
      stale: h.stale,
      previousStale: before.stale,
      available,
      previousAvailable: before.available,
      cpuTempC: h.cpuTempC,
    });
  }

  private emitNodeState(
    n: NodeState,
    previousState: NodeStateName,
    previousMaintenance: boolean,
    ts: number,
    out: TwinChange[],
  ): void {
    out.push({
      type: 'node-state',
      ts,
      hubId: n.hub.hubId,
      nodeId: n.nodeId,
      state: n.state,
      previousState,
      maintenance: this.maintenanceOf(n),
      previousMaintenance,
      errorCode: n.errorCode,
      vehicleId: n.session?.vehicleId ?? n.statusVehicleId,
    });
  }

  // ---- views -------------------------------------------------------------------------

  private hubView(h: HubState): HubView {
    return Object.freeze({
      hubId: h.hubId,
      location: h.location,
      maxGridCapacityKw: h.maxGridCapacityKw,
      ipAddress: h.ipAddress,
      firmwareVersion: h.firmwareVersion,
      state: h.state,
      cpuTempC: h.cpuTempC,
      lastSeenMs: h.lastSeenMs,
      stale: h.stale,
      offlineSinceMs: h.offlineSinceMs,
      available: this.hubAvailable(h),
      infoTs: h.infoTs,
      statusTs: h.statusTs,
    });
  }

  private nodeView(n: NodeState): NodeView {
    return Object.freeze({
      hubId: n.hub.hubId,
      nodeId: n.nodeId,
      name: n.name,
      maxPowerKw: n.maxPowerKw,
      state: n.state,
      errorCode: n.errorCode,
      statusVehicleId: n.statusVehicleId,
      maintenance: this.maintenanceOf(n),
      operatorMaintenance: n.operatorMaintenance,
      telemetry: n.telemetry,
      assignedVehicleId: n.assignedVehicleId,
      assignedAtMs: n.assignedAtMs,
      assignedSoc: n.assignedSoc,
      vehicleId:
        n.session?.vehicleId ??
        (n.state === 'charging' ? n.statusVehicleId : null) ??
        n.assignedVehicleId ??
        n.telemetry?.vehicleId ??
        null,
      sessionId: n.session?.sessionId ?? null,
      lastSeenMs: n.lastSeenMs,
      infoTs: n.infoTs,
      statusTs: n.statusTs,
    });
  }

  private vehicleView(v: VehicleState): VehicleView {
    return Object.freeze({
      vehicleId: v.vehicleId,
      position: v.position,
      speedKmh: v.speedKmh,
      engineTempC: v.engineTempC,
      isCharging: v.isCharging,
      soc: v.soc,
      socSource: v.socSource,
      socTs: v.socTs,
      socReported: v.socReported,
      socReportedTs: v.socReportedTs,
      socReportedSource: v.socReportedSource,
      energySinceReportKwh: v.energySinceReportKwh,
      socClass: v.socClass ?? 'normal',
      priority: v.priority,
      batteryKwh: v.batteryKwh,
      model: v.model,
      manufacturer: v.manufacturer,
      driver: v.driver,
      lastSeenMs: v.lastSeenMs,
      telemetryTs: v.telemetryTs,
      hubId: v.hubId,
      nodeId: v.nodeId,
    });
  }
}

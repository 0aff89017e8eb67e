// The live digital twin: hubs, nodes (keyed by hub and node id), vehicles, open charging
// sessions. Pure: no I/O, no clock (time is always a parameter), no timers. This class is
// the façade; each concern lives in a module of its own (see index.ts).
import type { InboundMessage } from '../contract';
import { assign, checkAssign } from './assignments';
import type { AssignRejectReason, AssignResult, TwinChange } from './changes';
import { configFrom, type TwinConfig } from './config';
import { TwinConflict, TwinInputError } from './errors';
import { isNum } from './guards';
import { applyDlmEvent, applyHubInfo, applyHubStatus, isSignOfLife } from './hubs';
import { applyNodeInfo, applyNodeStatus, applyNodeTelemetry } from './nodes';
import type { SessionRecord, TwinSnapshot } from './records';
import { restoreState, snapshotOf } from './restore';
import { openSessionViews, TwinState } from './state';
import { tick } from './tick';
import { applyRemote, unwatchHub, watchHub, watchOwnedOnly, type RemoteState } from './watch';
import { applyVehicleTelemetry } from './vehicles';
import { operate, syncControls, type ControlRecords } from './operator';
import type { OperatorCommand, OperatorResult, OperatorResults } from './commands';
import type { HubView, NodeView, SessionView, VehicleProfile, VehicleView } from './view-types';
import { hubAvailable } from './entities';
import { hubView, nodeView, sessionView, vehicleView } from './views';

export interface ApplyOptions {
  /** The MQTT retain flag of the delivery: a retained message is never a sign of life. */
  readonly retained?: boolean;
}

/**
 * The digital twin. Feed it decoded messages with `apply`, call `tick` periodically;
 * both return the list of changes (for storage and for the DLM). Views handed out are
 * frozen copies.
 */
export class Twin {
  readonly config: TwinConfig;
  private st: TwinState;
  private readOnlyReason: string | null = null;

  constructor(config?: Partial<TwinConfig>) {
    this.st = new TwinState(configFrom(config));
    this.config = this.st.config;
  }

  // ---- entry points ----------------------------------------------------------------

  /**
   * Applies one message decoded by core/contract `decode` (receipt time nowMs). The message
   * is not validated again: decode is the one place that checks what comes from outside, and
   * the InboundMessage type says what it guarantees. Returns the change list (see
   * changes.ts: one report change per applied message, plus what it caused); duplicates and
   * out-of-order messages (older than what was applied for the same entity and kind) yield
   * nothing and change nothing.
   *
   * `opts.retained`: the MQTT retain flag of the delivery. Only a live status or telemetry
   * whose own timestamp is within staleAfterS of nowMs is a sign of life of its hub (see
   * hubs.ts, isSignOfLife): retained, old and info messages update data but never make a
   * hub fresh or available.
   *
   * Throws, before any change: TwinRefusal when the message would create a hub, node or
   * vehicle beyond maxHubs/maxNodes/maxVehicles or names an unregistered one while
   * registeredOnly is on (a request refused so is not thrown: it yields request-rejected with
   * that reason); TwinInputError for a DLM event about a hub or node the twin does not know.
   */
  apply(msg: InboundMessage, nowMs: number, opts?: ApplyOptions): TwinChange[] {
    const out: TwinChange[] = [];
    const st = this.st;
    const live = isSignOfLife(st, msg.ts, nowMs, opts?.retained === true);
    switch (msg.kind) {
      case 'hubInfo':
        applyHubInfo(st, msg, out);
        break;
      case 'hubStatus':
        applyHubStatus(st, msg, nowMs, live, out);
        break;
      case 'nodeInfo':
        applyNodeInfo(st, msg, out);
        break;
      case 'nodeStatus':
        applyNodeStatus(st, msg, nowMs, live, out);
        break;
      case 'nodeTelemetry':
        applyNodeTelemetry(st, msg, nowMs, live, out);
        break;
      case 'vehicleTelemetry':
        applyVehicleTelemetry(st, msg, nowMs, live, out);
        break;
      case 'vehicleRequest': {
        const d = msg.data;
        const r = assign(st, msg.hubId, d.node_id, d.vehicle_id, d.soc_percent, nowMs, msg.ts);
        if (r.ok) return r.changes;
        out.push({
          type: 'request-rejected',
          ts: msg.ts,
          hubId: msg.hubId,
          nodeId: d.node_id,
          vehicleId: d.vehicle_id,
          soc: d.soc_percent,
          reason: r.reason,
        });
        break;
      }
      case 'dlmEvent':
        applyDlmEvent(st, msg, out);
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
    if (!isNum(nowMs)) throw new TwinInputError('nowMs must be a finite number');
    return tick(this.st, nowMs);
  }

  /**
   * Why a request of vehicleId for (hubId, nodeId) would be refused now, or null when it
   * would be accepted. Changes nothing (the REST API asks before publishing a request). A hub
   * not heard from lately is refused here, though `assign` keeps a request for it.
   */
  checkAssign(hubId: string, nodeId: string, vehicleId: string, nowMs: number): AssignRejectReason | null {
    return checkAssign(this.st, hubId, nodeId, vehicleId, nowMs);
  }

  /**
   * A request assigned vehicleId to (hubId, nodeId). Rejected (nothing changed) when the
   * node is unknown, its hub offline or in maintenance, the node faulted, in maintenance or
   * busy with another vehicle. A hub merely not heard from lately (stale) keeps the request:
   * it may have waited in our broker session while we were away (see checkAssign in
   * assignments.ts). `ts` is the request's message time (for ordering the SoC report).
   */
  assign(
    hubId: string,
    nodeId: string,
    vehicleId: string,
    soc: number | null,
    nowMs: number,
    ts: number = nowMs,
  ): AssignResult {
    return assign(this.st, hubId, nodeId, vehicleId, soc, nowMs, ts);
  }

  /**
   * Runs one operator command for `actor` (a name for the audit log) at nowMs. The command is
   * raw input (from the REST API or the dashboard): it is checked here, field by field.
   * Returns the changes (the ordinary ones, then one operator-action) and the entity after
   * the command (null after a delete; the closed session for session-end). Throws, before
   * any change: TwinInputError (malformed; `problems` lists every field at fault),
   * TwinNotFound (no such hub, node, vehicle or open session), TwinConflict (e.g. deleting a
   * vehicle that charges), TwinRefusal (a bound: maxHubs, maxNodes, maxVehicles).
   */
  operate<C extends OperatorCommand>(
    cmd: C,
    actor: string,
    nowMs: number,
  ): { changes: TwinChange[]; result: OperatorResults[C['op']] };
  operate(cmd: unknown, actor: string, nowMs: number): { changes: TwinChange[]; result: OperatorResult };
  operate(cmd: unknown, actor: string, nowMs: number): { changes: TwinChange[]; result: OperatorResult } {
    if (this.readOnlyReason !== null) throw new TwinConflict(this.readOnlyReason);
    return operate(this.st, cmd, actor, nowMs);
  }

  /**
   * Refuses operator commands (TwinConflict with this reason) until called with null: a
   * standby instance, whose twin follows the commands another instance takes (syncControls).
   * Messages, the clock and syncControls still apply.
   */
  setReadOnly(reason: string | null): void {
    this.readOnlyReason = reason;
  }

  /** Why operator commands are refused, or null. */
  get readOnly(): string | null {
    return this.readOnlyReason;
  }

  /** @deprecated Use `operate({ op: 'vehicle-upsert', … })`. Registers or updates a profile. */
  setVehicleProfile(vehicleId: string, profile: VehicleProfile, nowMs: number): TwinChange[] {
    const p = profile;
    return this.operate(
      {
        op: 'vehicle-upsert',
        vehicle_id: vehicleId,
        ...(p.batteryKwh !== undefined ? { battery_capacity_kwh: p.batteryKwh } : {}),
        ...(p.priority !== undefined ? { priority: p.priority } : {}),
        ...(p.model !== undefined ? { model: p.model } : {}),
        ...(p.manufacturer !== undefined ? { manufacturer: p.manufacturer } : {}),
        ...(p.driver !== undefined ? { driver: p.driver } : {}),
      },
      'operator',
      nowMs,
    ).changes;
  }

  /** @deprecated Use `operate({ op: 'node-maintenance', … })`. Operator maintenance of one node. */
  setNodeMaintenance(hubId: string, nodeId: string, on: boolean, nowMs: number): TwinChange[] {
    return this.operate(
      { op: 'node-maintenance', hub_id: hubId, node_id: nodeId, maintenance: on },
      'operator',
      nowMs,
    ).changes;
  }

  // ---- getters ---------------------------------------------------------------------

  hub(hubId: string): HubView | undefined {
    const h = this.st.hubs.get(hubId);
    return h ? hubView(h) : undefined;
  }

  hubs(): HubView[] {
    return [...this.st.hubs.values()].map(hubView);
  }

  node(hubId: string, nodeId: string): NodeView | undefined {
    const n = this.st.node(hubId, nodeId);
    return n ? nodeView(n) : undefined;
  }

  nodesOf(hubId: string): NodeView[] {
    const h = this.st.hubs.get(hubId);
    return h ? [...h.nodes.values()].map(nodeView) : [];
  }

  vehicle(vehicleId: string): VehicleView | undefined {
    const v = this.st.vehicles.get(vehicleId);
    return v ? vehicleView(v) : undefined;
  }

  vehicles(): VehicleView[] {
    return [...this.st.vehicles.values()].map(vehicleView);
  }

  openSession(hubId: string, nodeId: string): SessionView | undefined {
    const s = this.st.node(hubId, nodeId)?.session;
    return s ? sessionView(s) : undefined;
  }

  // ---- cluster mode: the hubs watched here (watch.ts) -------------------------------

  /**
   * Cluster mode: from now on only hubs passed to `watch` open, count and close sessions and
   * become stale here; every hub's sessions are dropped unreported (their owner counts them).
   */
  watchOwnedOnly(): void {
    watchOwnedOnly(this.st);
  }

  /**
   * Watches hubId (this instance now owns it), continuing its open sessions as stored by its
   * previous owner. Returns the changes to store (an older duplicate open session closed).
   */
  watch(hubId: string, sessions: readonly SessionRecord[], nowMs: number): TwinChange[] {
    if (!isNum(nowMs)) throw new TwinInputError('nowMs must be a finite number');
    return watchHub(this.st, hubId, sessions, nowMs);
  }

  /** Stops watching hubId (another instance owns it): its open sessions are dropped unreported. */
  unwatch(hubId: string): void {
    unwatchHub(this.st, hubId);
  }

  /**
   * Cluster mode: operator settings another instance applied (as stored in PostgreSQL) applied
   * here too, with the changes an operator command makes but no audit. See operator.ts.
   */
  syncControls(records: ControlRecords, nowMs: number): TwinChange[] {
    return syncControls(this.st, records, nowMs);
  }

  /**
   * Cluster mode: what other instances stored (node telemetry of the hubs they own, vehicles),
   * into the views only: no change is reported. Returns how many were updated. See watch.ts.
   */
  applyRemote(r: RemoteState): { nodes: number; vehicles: number } {
    return applyRemote(this.st, r);
  }

  /** Is hubId watched here (always, unless watchOwnedOnly ran)? Unknown hub: false. */
  isWatched(hubId: string): boolean {
    return this.st.hubs.get(hubId)?.watched === true;
  }

  /** Open sessions, by start time (then session id). */
  openSessions(): SessionView[] {
    return openSessionViews(this.st);
  }

  /** Online (or state not yet reported) and not stale. Unknown hub: false. */
  isAvailable(hubId: string): boolean {
    const h = this.st.hubs.get(hubId);
    return h ? hubAvailable(h) : false;
  }

  /** Counts, cheap. */
  stats(): { hubs: number; nodes: number; vehicles: number; openSessions: number } {
    return {
      hubs: this.st.hubs.size,
      nodes: this.st.nodeCount,
      vehicles: this.st.vehicles.size,
      openSessions: this.st.sessionNodes.size,
    };
  }

  // ---- snapshot / restore ----------------------------------------------------------

  /** Plain, JSON-serialisable state: hubs, nodes, vehicles and open sessions. */
  snapshot(): TwinSnapshot {
    return snapshotOf(this.st);
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
    const { state, changes } = restoreState(snapshot, config, nowMs);
    const twin = new Twin(state.config);
    twin.st = state;
    return { twin, changes };
  }
}

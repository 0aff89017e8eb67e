/**
 * Fleet model of the simulator: hubs with charging pads (nodes), and vehicles that drive,
 * arrive, charge and leave. Pure: no I/O, no timers, no clock, no Math.random — time is
 * always a parameter (`nowMs`, epoch ms) and randomness comes from a seeded PRNG, so the
 * same seed and the same calls give the same messages.
 *
 * It speaks CONTRACT.md like the original hub simulator:
 * - on start, per hub: `info` (retained), `status` (retained), then per node `info`
 *   (retained) and `status` (retained);
 * - node telemetry every `telemetryPeriodMs` per node (`connected_vehicle_id: "n/a"` and
 *   `current_vehicle_soc: 0` when no vehicle is connected), vehicle telemetry every
 *   `vehicleTelemetryPeriodMs`, hub status as a heartbeat every `hubStatusPeriodMs`;
 * - a vehicle arriving publishes a VehicleRequest (QoS 1) on `iot/hubs/{hub}/requests`,
 *   its node goes `charging`, at the target SoC `full`, and after `dwellAfterFullMs` the
 *   vehicle leaves and the node goes `idle`;
 * - `apply` takes inbound DLMNotifications (`new_limit` for `affected_node_id` becomes the
 *   node's limit in force, echoed by the next telemetry in `power_limit_kw`) and
 *   VehicleRequests sent by others (the app/cloud asking a node to charge a vehicle).
 * Hubs behave as devices the way `DeviceBehaviour` says (rounding, echo delay, draw
 * fraction, ignoring limits or events); `restartHub` reboots one with its default limits.
 *
 * Time: every time is wall-clock epoch ms, and so are the payload timestamps. `speed`
 * accelerates the fleet — energy, driving, arrivals and dwell run `speed` times faster —
 * but not the publishing cadence (telemetry stays every `telemetryPeriodMs` of wall time).
 *
 * The work is done by the modules next to this file (options, build, clock, physics,
 * arrivals, transitions, devices, faults, script, inbound, publish, views); this class
 * holds the state and is the one public way in.
 */
import { arrive } from './arrivals';
import { buildFleet } from './build';
import { at, step } from './clock';
import { nextEchoMs } from './devices';
import * as faults from './faults';
import { apply } from './inbound';
import { inRange, resolveDevice, resolveOptions, type DeviceBehaviour, type FleetOptions } from './options';
import { mulberry32 } from './prng';
import { emitHubStatus, retainedTopics } from './publish';
import { checkScriptTargets } from './script';
import { hubOf, newCounters, padOf, sumOfLimits, vehicleOf, type FleetState } from './state';
import type {
  ApplyResult,
  FleetCounters,
  HubEvent,
  HubSnapshot,
  NodeSnapshot,
  SimMessage,
  VehicleSnapshot,
} from './types';
import { hubLoadKw, hubView, padView, vehicleView } from './views';

type At = { nowMs?: number };

export class FleetModel {
  private readonly s: FleetState;

  constructor(opts: FleetOptions = {}) {
    const cfg = resolveOptions(opts);
    this.s = {
      cfg,
      rng: mulberry32(cfg.seed),
      hubs: [],
      hubsById: new Map(),
      vehicles: [],
      vehiclesById: new Map(),
      outbox: [],
      stats: newCounters(),
      listeners: new Set(),
      echoes: [],
      script: [...cfg.script],
      started: false,
      startMs: 0,
      lastMs: 0,
      nextNodeTelemetryMs: 0,
      nextVehicleTelemetryMs: 0,
    };
    buildFleet(this.s);
    checkScriptTargets(this.s);
  }

  // -------------------------------------------------------------------------------------
  // Time

  /**
   * Advance the fleet to `nowMs` and return the messages to publish, in order. The first
   * call starts the fleet (info/status of every hub and node). Times before the last
   * call are treated as the last call's time.
   */
  step(nowMs: number): SimMessage[] {
    return step(this.s, nowMs);
  }

  /** Time of the last `step`/`apply` (epoch ms), or null before the first `step`. */
  get nowMs(): number | null {
    return this.s.started ? this.s.lastMs : null;
  }

  get isStarted(): boolean {
    return this.s.started;
  }

  /** When something is due before the next periodic message (an echo), epoch ms; else null. */
  nextDueMs(): number | null {
    return nextEchoMs(this.s);
  }

  // -------------------------------------------------------------------------------------
  // Inbound

  /**
   * Apply an inbound message at `nowMs`: a DLMNotification on `iot/hubs/{hub}/dlm/events`
   * sets `new_limit` (after the hub's rounding) as the limit in force of `affected_node_id`;
   * a VehicleRequest on `iot/hubs/{hub}/requests` from someone else connects that vehicle
   * to that node when the node is idle (an echo of the model's own request is ignored).
   * `payload`: Buffer, JSON text or object. Silent and offline hubs do not listen; a hub
   * with `ignoreEvents` drops DLM events.
   */
  apply(topic: string, payload: unknown, nowMs: number): ApplyResult {
    return apply(this.s, topic, payload, nowMs);
  }

  // -------------------------------------------------------------------------------------
  // Control (tests, demos). `nowMs` optional: advances the fleet first; messages are
  // stamped with it (or the last step's time) and come out of the next `step`.

  /**
   * A vehicle arrives at a hub now (instead of waiting for a Poisson arrival) and publishes
   * its VehicleRequest. Defaults: the first idle node; the first driving vehicle below its
   * charge threshold, else the driving vehicle with the lowest SoC below its target.
   * Returns what was connected, or null when no node or vehicle fits.
   */
  plugIn(
    hubId: string,
    opts: { nodeId?: string; vehicleId?: string; nowMs?: number } = {},
  ): { hubId: string; nodeId: string; vehicleId: string } | null {
    if (!this.s.started) throw new Error('the fleet is not started: call step(nowMs) first');
    const hub = hubOf(this.s, hubId);
    const t = at(this.s, opts.nowMs);
    return arrive(this.s, hub, opts, t);
  }

  /** The node faults (status `faulted` with `errorCode`); a connected vehicle stops and leaves. */
  faultNode(hubId: string, nodeId: string, opts: { errorCode?: number; nowMs?: number } = {}): void {
    const pad = padOf(this.s, hubId, nodeId);
    const errorCode = opts.errorCode ?? 1001;
    if (!Number.isInteger(errorCode) || errorCode < 1 || errorCode > 9999) {
      throw new RangeError(`errorCode must be an integer 1..9999, got ${errorCode}`);
    }
    faults.faultPad(this.s, pad, errorCode, at(this.s, opts.nowMs));
  }

  /** A faulted node is repaired: `idle`, error code 0. */
  clearFault(hubId: string, nodeId: string, opts: At = {}): void {
    const pad = padOf(this.s, hubId, nodeId);
    if (pad.state !== 'faulted') return;
    faults.clearFault(this.s, pad, at(this.s, opts.nowMs));
  }

  /** A node that ignores its limit draws up to its max power (like some real devices). */
  setIgnoreLimit(hubId: string, nodeId: string, ignores: boolean, opts: At = {}): void {
    const pad = padOf(this.s, hubId, nodeId);
    at(this.s, opts.nowMs);
    pad.ignoresLimit = ignores;
  }

  /** A node draws this share (0..1) of its limit while charging; null: its hub's `drawFraction`. */
  setDrawFraction(hubId: string, nodeId: string, fraction: number | null, opts: At = {}): void {
    const pad = padOf(this.s, hubId, nodeId);
    if (fraction !== null) inRange('drawFraction', fraction, 0, 1);
    at(this.s, opts.nowMs);
    pad.drawFraction = fraction;
  }

  /** Change how a hub behaves as a device, field by field (e.g. `{ echoDelayMs: 5 }`). */
  setDevice(hubId: string, patch: DeviceBehaviour, opts: At = {}): void {
    const hub = hubOf(this.s, hubId);
    const device = resolveDevice(hub.device, patch, 'device');
    at(this.s, opts.nowMs);
    hub.device = device;
  }

  /** The hub's grid capacity changes; its `info` is republished (retained). */
  setCapacity(hubId: string, kw: number, opts: At = {}): void {
    const hub = hubOf(this.s, hubId);
    inRange('capacity', kw, 0, 1000);
    faults.setCapacity(this.s, hub, kw, at(this.s, opts.nowMs));
  }

  /**
   * The hub goes away: `offline` publishes a retained status `offline` and goes silent;
   * `silent` just stops publishing (a crash, a lost link). Either way it stops listening.
   * Its vehicles keep charging; telemetry resumes with `setHubOnline`.
   */
  setHubOffline(hubId: string, mode: 'offline' | 'silent' = 'offline', opts: At = {}): void {
    const hub = hubOf(this.s, hubId);
    faults.setHubOffline(this.s, hub, mode, at(this.s, opts.nowMs));
  }

  /** The hub comes back: it republishes its start sequence (info, status, nodes' info/status). */
  setHubOnline(hubId: string, opts: At = {}): void {
    const hub = hubOf(this.s, hubId);
    faults.setHubOnline(this.s, hub, at(this.s, opts.nowMs));
  }

  /**
   * The hub restarts (from any mode): every node back at its boot limit (`initialLimitKw`,
   * else its max power), online, its retained info and status and its nodes' info and
   * status republished. Connected vehicles charge on at the boot limits.
   */
  restartHub(hubId: string, opts: At = {}): void {
    const hub = hubOf(this.s, hubId);
    faults.restartHub(this.s, hub, at(this.s, opts.nowMs));
  }

  /** An online hub republishes its status (retained `online`), e.g. after reconnecting. */
  announceHub(hubId: string, opts: At = {}): void {
    const hub = hubOf(this.s, hubId);
    const t = at(this.s, opts.nowMs);
    if (this.s.started && hub.mode === 'online') emitHubStatus(this.s, hub, 'online', t);
  }

  /**
   * Calls `listener` synchronously with every HubEvent (boot, applied limit, capacity);
   * returns the function that removes it.
   */
  onHubEvent(listener: (e: HubEvent) => void): () => void {
    this.s.listeners.add(listener);
    return () => this.s.listeners.delete(listener);
  }

  // -------------------------------------------------------------------------------------
  // Checks and snapshots

  /** Σ of the limits in force at the hub's nodes (kW), every node counted. */
  sumOfLimits(hubId: string): number {
    return sumOfLimits(hubOf(this.s, hubId));
  }

  /** Highest `sumOfLimits` seen after any applied DLM event since the start or `resetPeaks()`. */
  peakSumOfLimits(hubId: string): number {
    return hubOf(this.s, hubId).peakSumKw;
  }

  /** Set every hub's peak to its current sum (e.g. once the DLM has taken over). */
  resetPeaks(): void {
    for (const hub of this.s.hubs) hub.peakSumKw = sumOfLimits(hub);
  }

  /** Σ of the power the hub's nodes draw now (kW, without noise). */
  hubLoadKw(hubId: string): number {
    return hubLoadKw(hubOf(this.s, hubId));
  }

  hub(hubId: string): HubSnapshot {
    return hubView(hubOf(this.s, hubId));
  }

  hubs(): HubSnapshot[] {
    return this.s.hubs.map(hubView);
  }

  node(hubId: string, nodeId: string): NodeSnapshot {
    return padView(padOf(this.s, hubId, nodeId));
  }

  nodes(hubId: string): NodeSnapshot[] {
    return hubOf(this.s, hubId).pads.map(padView);
  }

  vehicle(vehicleId: string): VehicleSnapshot {
    return vehicleView(vehicleOf(this.s, vehicleId));
  }

  vehicles(): VehicleSnapshot[] {
    return this.s.vehicles.map(vehicleView);
  }

  counters(): FleetCounters {
    return { ...this.s.stats };
  }

  /** Every topic the model publishes retained (to clear them: publish an empty retained payload). */
  retainedTopics(): string[] {
    return retainedTopics(this.s);
  }
}

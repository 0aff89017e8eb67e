/**
 * The fleet's time: `step` advances it to a wall-clock instant, integrating physics in
 * pieces and running due events (departures, script steps, Poisson arrivals) at their
 * exact times, then publishes what is due (echoes, periodic telemetry, heartbeats).
 */
import { interArrivalMs, poissonArrival } from './arrivals';
import { emitDueEchoes, notifyBoot } from './devices';
import { integrate } from './physics';
import { emitHubStatus, emitStart, emitTelemetry, emitVehicle } from './publish';
import { runScriptStep } from './script';
import type { FleetState } from './state';
import { depart } from './transitions';
import type { SimMessage } from './types';

/** Longest simulated interval integrated in one piece (ms). */
const MAX_SUBSTEP_SIM_MS = 5000;

function nextAfter(prev: number, period: number, now: number): number {
  const next = prev + period;
  return next > now ? next : now + period;
}

function start(s: FleetState, nowMs: number): void {
  const { cfg } = s;
  s.started = true;
  s.startMs = nowMs;
  s.lastMs = nowMs;
  s.nextNodeTelemetryMs = nowMs + cfg.telemetryPeriodMs;
  s.nextVehicleTelemetryMs = nowMs + cfg.vehicleTelemetryPeriodMs;
  for (const hub of s.hubs) {
    hub.nextArrivalMs = nowMs + cfg.firstArrivalAfterMs + interArrivalMs(s);
    hub.nextStatusMs = nowMs + cfg.hubStatusPeriodMs;
    if (hub.mode === 'online') emitStart(s, hub, nowMs);
    notifyBoot(s, hub, nowMs);
  }
  for (const v of s.vehicles) if (!v.guest) emitVehicle(s, v, nowMs);
}

/** Advance the fleet to `nowMs` and return the messages to publish, in order (see FleetModel.step). */
export function step(s: FleetState, nowMs: number): SimMessage[] {
  if (!Number.isFinite(nowMs)) throw new RangeError(`nowMs must be finite, got ${nowMs}`);
  if (!s.started) start(s, nowMs);
  else advance(s, nowMs);
  const { cfg } = s;
  const t = s.lastMs;
  emitDueEchoes(s, t);
  if (t >= s.nextNodeTelemetryMs) {
    for (const hub of s.hubs) {
      if (hub.mode !== 'online') continue;
      for (const pad of hub.pads) emitTelemetry(s, pad, t);
    }
    s.nextNodeTelemetryMs = nextAfter(s.nextNodeTelemetryMs, cfg.telemetryPeriodMs, t);
  }
  if (t >= s.nextVehicleTelemetryMs) {
    for (const v of s.vehicles) if (!v.guest) emitVehicle(s, v, t);
    s.nextVehicleTelemetryMs = nextAfter(s.nextVehicleTelemetryMs, cfg.vehicleTelemetryPeriodMs, t);
  }
  for (const hub of s.hubs) {
    if (t >= hub.nextStatusMs) {
      if (hub.mode === 'online') emitHubStatus(s, hub, 'online', t);
      hub.nextStatusMs = nextAfter(hub.nextStatusMs, cfg.hubStatusPeriodMs, t);
    }
  }
  const out = s.outbox.splice(0);
  s.stats.messages += out.length;
  return out;
}

/** Advance to `nowMs` when given and started; the fleet's time after it. */
export function at(s: FleetState, nowMs: number | undefined): number {
  if (nowMs !== undefined && s.started) advance(s, nowMs);
  return s.lastMs;
}

/** Integrate physics and run due events up to `toMs`. */
export function advance(s: FleetState, toMs: number): void {
  const maxWall = MAX_SUBSTEP_SIM_MS / s.cfg.speed;
  while (s.lastMs < toMs) {
    let t1 = Math.min(toMs, s.lastMs + maxWall);
    for (const hub of s.hubs) {
      if (hub.nextArrivalMs > s.lastMs && hub.nextArrivalMs < t1) t1 = hub.nextArrivalMs;
      for (const pad of hub.pads) {
        if (pad.departAtMs !== null && pad.departAtMs > s.lastMs && pad.departAtMs < t1) t1 = pad.departAtMs;
      }
    }
    const next = s.script[0];
    if (next !== undefined) {
      const due = s.startMs + next.atMs;
      if (due > s.lastMs && due < t1) t1 = due;
    }
    integrate(s, s.lastMs, t1);
    s.lastMs = t1;
    runDueEvents(s, t1);
  }
}

function runDueEvents(s: FleetState, t: number): void {
  for (const hub of s.hubs) {
    for (const pad of hub.pads) {
      if (pad.departAtMs !== null && pad.departAtMs <= t) depart(s, pad, t);
    }
  }
  while (s.script.length > 0 && s.startMs + (s.script[0]?.atMs ?? 0) <= t) {
    runScriptStep(s, s.script.shift()!, t);
  }
  for (const hub of s.hubs) {
    while (hub.nextArrivalMs <= t) {
      poissonArrival(s, hub, t);
      hub.nextArrivalMs += interArrivalMs(s);
    }
  }
}

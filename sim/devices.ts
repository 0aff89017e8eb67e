/**
 * Hubs as devices: how they apply a limit (resolution and rounding), echo it in telemetry
 * after a delay, and boot with their default limits.
 */
import type { LimitRounding } from './options';
import { emitStart, emitTelemetry } from './publish';
import { notify, sumOfLimits, type FleetState, type Hub, type Pad } from './state';
import { clamp } from './util';

/** `kw` at `decimals` decimals, rounded to the nearest, up or down (0..350 kW). */
export function roundLimit(kw: number, rounding: Required<LimitRounding> | null): number {
  if (rounding === null) return kw;
  const f = 10 ** rounding.decimals;
  // 12 significant digits first, so that 12.3 × 1000 = 12300.000000000002 is not rounded up
  const scaled = Number((kw * f).toPrecision(12));
  const r =
    rounding.mode === 'up'
      ? Math.ceil(scaled)
      : rounding.mode === 'down'
        ? Math.floor(scaled)
        : Math.round(scaled);
  return clamp(r / f, 0, 350);
}

/** The hub applies `requestedKw` to `pad` at `t` (after its rounding) and schedules the echo. */
export function applyLimit(
  s: FleetState,
  pad: Pad,
  requestedKw: number,
  t: number,
): { previousKw: number; limitKw: number } {
  const hub = pad.hub;
  const previousKw = pad.limitKw;
  pad.limitKw = roundLimit(requestedKw, hub.device.limitRounding);
  hub.peakSumKw = Math.max(hub.peakSumKw, sumOfLimits(hub));
  s.stats.dlmApplied++;
  if (hub.device.echoDelayMs !== null) scheduleEcho(s, pad, t + hub.device.echoDelayMs);
  notify(s, {
    kind: 'limit',
    ts: t,
    hubId: hub.id,
    nodeId: pad.id,
    previousKw,
    limitKw: pad.limitKw,
    requestedKw,
  });
  return { previousKw, limitKw: pad.limitKw };
}

function scheduleEcho(s: FleetState, pad: Pad, dueMs: number): void {
  let i = s.echoes.length;
  while (i > 0 && (s.echoes[i - 1]?.dueMs ?? 0) > dueMs) i--;
  s.echoes.splice(i, 0, { pad, dueMs });
}

/** Publish the telemetry of every echo due at `t` (a hub that is not online publishes nothing). */
export function emitDueEchoes(s: FleetState, t: number): void {
  while (s.echoes.length > 0 && (s.echoes[0]?.dueMs ?? Infinity) <= t) {
    const e = s.echoes.shift()!;
    if (e.pad.hub.mode !== 'online') continue;
    emitTelemetry(s, e.pad, t);
    s.stats.echoes++;
  }
}

/** When the next echo is due (epoch ms), or null. */
export function nextEchoMs(s: FleetState): number | null {
  return s.echoes[0]?.dueMs ?? null;
}

export function notifyBoot(s: FleetState, hub: Hub, t: number): void {
  notify(s, {
    kind: 'boot',
    ts: t,
    hubId: hub.id,
    capacityKw: hub.capacityKw,
    pads: hub.pads.map((p) => ({ nodeId: p.id, maxPowerKw: p.maxPowerKw, limitKw: p.limitKw })),
  });
}

/**
 * The hub restarts: every pad back at its boot limit, pending echoes dropped, online, its
 * start sequence (retained info and status, pads' info and status) republished. Vehicles
 * stay connected and charge on at the boot limits.
 */
export function reboot(s: FleetState, hub: Hub, t: number): void {
  for (const p of hub.pads) p.limitKw = p.bootLimitKw;
  s.echoes = s.echoes.filter((e) => e.pad.hub !== hub);
  hub.mode = 'online';
  s.stats.restarts++;
  if (s.started) emitStart(s, hub, t);
  notifyBoot(s, hub, t);
}

// The numbers of one request shared by every hub: the request with its defaults applied and
// the configuration's values clamped.
import { DEFAULT_BATTERY_CAPACITY_KWH, DEFAULT_LIMIT, DEFAULT_TARGET_SOC, MAX_LIMIT } from './validate';
import type { RecConfig, RecRequest } from './types';

/** Wait assumed for a busy node whose session end is unknown, when nothing better is known. */
export const DEFAULT_UNKNOWN_END_WAIT_MIN = 60;

/** The request with defaults applied (see validateRecRequest). */
export interface Norm {
  lat: number;
  lon: number;
  battery: number;
  target: number;
  capacityKwh: number;
  /** Number of hubs returned: 1 + alternatives. */
  k: number;
  priority: boolean;
}

export function normalise(req: RecRequest): Norm {
  const target = req.target_soc ?? (req.battery_level >= DEFAULT_TARGET_SOC ? 100 : DEFAULT_TARGET_SOC);
  const limit = req.limit ?? DEFAULT_LIMIT;
  const alternatives = Number.isFinite(limit)
    ? Math.min(MAX_LIMIT, Math.max(0, Math.floor(limit)))
    : DEFAULT_LIMIT;
  return {
    lat: req.latitude,
    lon: req.longitude,
    battery: req.battery_level,
    target,
    capacityKwh: req.battery_capacity_kwh ?? DEFAULT_BATTERY_CAPACITY_KWH,
    k: alternatives + 1,
    priority: req.priority === true,
  };
}

/** Per-request numbers shared by every hub. */
export interface Ctx {
  q: Norm;
  cfg: RecConfig;
  nowMs: number;
  reserve: number;
  unknownEndWaitMin: number;
}

export function makeCtx(q: Norm, cfg: RecConfig, nowMs: number): Ctx {
  return {
    q,
    cfg,
    nowMs,
    reserve: Number.isFinite(cfg.alloc.reserve) ? Math.min(1, Math.max(0, cfg.alloc.reserve)) : 0,
    unknownEndWaitMin: cfg.unknownEndWaitMin ?? DEFAULT_UNKNOWN_END_WAIT_MIN,
  };
}

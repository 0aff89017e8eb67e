// Charging sessions: identity and the read-only view of an internal session record.
import type { SessionCloseReason, SessionView } from './types';

/**
 * Deterministic session id from (hubId, nodeId, startTs): a replay or a restart gives
 * the same id. Ids cannot contain '/' (CONTRACT.md), so the id is unambiguous.
 */
export function sessionIdOf(hubId: string, nodeId: string, startTs: number): string {
  return `${hubId}/${nodeId}/${startTs}`;
}

/** Mutable internal state of one session (never handed out). */
export interface SessionState {
  sessionId: string;
  hubId: string;
  nodeId: string;
  vehicleId: string;
  startTs: number;
  lastSampleTs: number | null;
  lastPowerKw: number | null;
  energyKwh: number;
  peakPowerKw: number;
  startSoc: number | null;
  endSoc: number | null;
}

export function sessionView(
  s: SessionState,
  endTs: number | null = null,
  closeReason: SessionCloseReason | null = null,
): SessionView {
  const end = endTs ?? s.lastSampleTs ?? s.startTs;
  const durationMs = Math.max(0, end - s.startTs);
  const durationS = durationMs / 1000;
  const averagePowerKw = durationMs > 0 ? s.energyKwh / (durationMs / 3_600_000) : 0;
  return Object.freeze({
    sessionId: s.sessionId,
    hubId: s.hubId,
    nodeId: s.nodeId,
    vehicleId: s.vehicleId,
    startTs: s.startTs,
    endTs,
    lastSampleTs: s.lastSampleTs,
    lastPowerKw: s.lastPowerKw,
    energyKwh: s.energyKwh,
    durationS,
    averagePowerKw,
    peakPowerKw: s.peakPowerKw,
    startSoc: s.startSoc,
    endSoc: s.endSoc,
    closeReason,
  });
}

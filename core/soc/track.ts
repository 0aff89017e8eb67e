// What is known of one vehicle's state of charge: the last report, the energy delivered
// since, the best value now and its class. Pure functions over a mutable record that the
// twin owns (one per vehicle); no clock.
import { classify, estimateSoc, type SocClass, type SocClassOptions, type SocSource } from './soc';

/** A SoC that was reported (not estimated). */
export type ReportedSocSource = Exclude<SocSource, 'estimate'>;

export interface SocTrack {
  /** Best SoC now: the last report or, while charging since, the estimate. */
  soc: number | null;
  socSource: SocSource | null;
  socTs: number | null;
  /** Last reported SoC and its message time. */
  socReported: number | null;
  socReportedTs: number | null;
  socReportedSource: ReportedSocSource | null;
  /** Energy delivered since the last report (kWh): the base of the estimate. */
  energySinceReportKwh: number;
  /** null until the first classification. */
  socClass: SocClass | null;
}

/**
 * Records a report. Returns true when it is new information, i.e. the best SoC must become
 * `value`: false for a report older than the last one, and for the same value from the same
 * source again (devices repeat it every period; the estimate base, and an estimate already
 * above it, are kept — only the report time moves).
 */
export function recordReport(t: SocTrack, value: number, source: ReportedSocSource, ts: number): boolean {
  if (t.socReportedTs !== null && ts < t.socReportedTs) return false;
  if (value === t.socReported && source === t.socReportedSource) {
    t.socReportedTs = ts;
    return false;
  }
  t.socReported = value;
  t.socReportedTs = ts;
  t.socReportedSource = source;
  t.energySinceReportKwh = 0;
  return true;
}

/**
 * The estimate (rounded to 0.01) that should replace the best SoC now, or null when none is
 * due: nothing reported, no energy since the report, or a move smaller than `step` points
 * (reaching 100 always counts).
 */
export function dueEstimate(t: SocTrack, batteryKwh: number, step: number): number | null {
  if (t.socReported === null || t.energySinceReportKwh <= 0) return null;
  const est = Math.round(estimateSoc(t.socReported, t.energySinceReportKwh, batteryKwh) * 100) / 100;
  if (t.soc === null || Math.abs(est - t.soc) >= step || (est >= 100 && t.soc < 100)) return est;
  return null;
}

/** Sets the class from the best SoC and priority; true when it changed. */
export function reclassify(t: SocTrack, priority: boolean, options: SocClassOptions): boolean {
  const to = classify(t.soc, priority, t.socClass, options);
  if (to === t.socClass) return false;
  t.socClass = to;
  return true;
}

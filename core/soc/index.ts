export {
  classify,
  estimateSoc,
  trapezoidKwh,
  DEFAULT_BATTERY_KWH,
  DEFAULT_CRITICAL_SOC,
  DEFAULT_SOC_HYSTERESIS,
} from './soc';
export type { SocClass, SocSource, SocClassOptions } from './soc';
export { recordReport, dueEstimate, reclassify } from './track';
export type { SocTrack, ReportedSocSource } from './track';

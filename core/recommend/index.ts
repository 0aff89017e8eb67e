export type {
  RecConfig,
  RecHub,
  RecNode,
  RecRequest,
  RecResult,
  RecValidation,
  Recommendation,
} from './types';
export { DEFAULT_REC_CONFIG, recommend, recommendExhaustive } from './recommend';
export { DEFAULT_UNKNOWN_END_WAIT_MIN } from './context';
export { EARTH_RADIUS_KM, haversineKm, rangeKm } from './geo';
export {
  DEFAULT_BATTERY_CAPACITY_KWH,
  DEFAULT_LIMIT,
  DEFAULT_TARGET_SOC,
  MAX_LIMIT,
  validateRecRequest,
} from './validate';
export {
  recHubsFromTwin,
  expectedEndMs,
  withVehicleProfile,
  type RecTwin,
  type FromTwinOptions,
} from './from-twin';

// InfluxDB adapter: the time series of change lists and DLM commands (points built with
// the client's Point), hub load aggregation, and the bounded writer on the client's WriteApi.
export { Point } from '@influxdata/influxdb-client';
export {
  MEASUREMENTS,
  MEASUREMENT_NAMES,
  MS_PRECISION,
  hubStatusPoint,
  nodeStatusPoint,
  nodeTelemetryPoint,
  vehicleTelemetryPoint,
  dlmAllocationPoint,
  hubLoadPoint,
  toLine,
  cleanText,
  safeTag,
  storedTag,
} from './points';
export type { FieldType, MeasurementName, MeasurementSpec } from './points';
export type {
  AnyChange,
  GeoPointLike,
  HubStatusChange,
  NodeStatusChange,
  NodeTelemetryChange,
  TimeSeriesChange,
  VehicleTelemetryChange,
} from './changes';
export { HubLoadTracker } from './hub-load';
export type { HubLoadSample, HubLoadOptions, CapacityOf } from './hub-load';
export { TimeSeriesPoints, changePoint, isDlmCommand } from './timeseries';
export type { TimeSeriesOptions } from './timeseries';
export { InfluxWriter } from './writer';
export type { InfluxWriterConfig, InfluxWriterStats, WriterState, PingResult } from './writer';

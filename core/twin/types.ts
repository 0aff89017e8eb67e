// Public types of the digital twin: read-only views, snapshot records, changes, config, errors.
export type {
  CapacityOverride,
  GeoPoint,
  HubStateName,
  HubView,
  NodeStateName,
  NodeTelemetryView,
  NodeView,
  SessionCloseReason,
  SessionView,
  VehicleProfile,
  VehicleView,
} from './view-types';
export type { HubRecord, NodeRecord, SessionRecord, TwinSnapshot, VehicleRecord } from './records';
export type {
  AssignRejectReason,
  AssignResult,
  AssignmentClearReason,
  AuditState,
  TwinChange,
  TwinChangeType,
} from './changes';
export { isTwinChangeList } from './changes';
export { DEFAULT_TWIN_CONFIG, configFrom, type TwinConfig } from './config';
export {
  TwinConflict,
  TwinInputError,
  TwinNotFound,
  TwinRefusal,
  type FieldProblem,
  type RefusalReason,
} from './errors';

export { Twin } from './twin';
export { sessionIdOf, sessionView } from './sessions';
export type { SessionState } from './sessions';
export { DEFAULT_TWIN_CONFIG, TwinInputError, isTwinChangeList } from './types';
export type {
  AssignRejectReason,
  AssignResult,
  AssignmentClearReason,
  GeoPoint,
  HubRecord,
  HubStateName,
  HubView,
  NodeRecord,
  NodeStateName,
  NodeTelemetryView,
  NodeView,
  SessionCloseReason,
  SessionRecord,
  SessionView,
  TwinChange,
  TwinChangeType,
  TwinConfig,
  TwinSnapshot,
  VehicleProfile,
  VehicleRecord,
  VehicleView,
} from './types';

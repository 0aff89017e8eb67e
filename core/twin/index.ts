// The digital twin. Modules, one concern each (no import cycles):
//   types.ts (public types: view-types, records, changes, config, errors), entities.ts (the
//   mutable records), views.ts, state.ts (entity store), emit.ts (transition changes),
//   hubs.ts, nodes.ts, vehicles.ts (messages), vehicle-soc.ts (SoC, over core/soc),
//   sessions.ts, assignments.ts (requests), bounds.ts (admission), tick.ts, restore.ts,
//   commands.ts + operator-input.ts + operator.ts (operator commands), watch.ts (cluster mode:
//   the hubs watched here), twin.ts (the façade).
export { Twin, type ApplyOptions } from './twin';
export type { ControlRecords } from './operator';
export type { RemoteState, RemoteTelemetry } from './watch';
export { sessionIdOf } from './sessions';
export { hubDlmEventOf } from './hubs';
export { sessionView } from './views';
export {
  DEFAULT_TWIN_CONFIG,
  TwinConflict,
  TwinInputError,
  TwinNotFound,
  TwinRefusal,
  isTwinChangeList,
} from './types';
export type {
  AuditTarget,
  CapacityOverrideInput,
  GeoInput,
  OperatorCommand,
  OperatorOp,
  OperatorResult,
  OperatorResults,
} from './commands';
export type {
  AssignRejectReason,
  AssignResult,
  AssignmentClearReason,
  AuditState,
  CapacityOverride,
  FieldProblem,
  GeoPoint,
  HubRecord,
  HubStateName,
  HubView,
  NodeRecord,
  NodeStateName,
  NodeTelemetryView,
  NodeView,
  RefusalReason,
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

// The twin changes the time series are made of: the twin's own types (core/twin/changes.ts).
import type { GeoPoint, TwinChange } from '../../core/twin';

export type GeoPointLike = GeoPoint;

/** Every applied NodeTelemetry. */
export type NodeTelemetryChange = Extract<TwinChange, { type: 'node-telemetry' }>;
/** Every applied HubStatus (`hub-state` stays the transition change). */
export type HubStatusChange = Extract<TwinChange, { type: 'hub-status' }>;
/** Every applied NodeStatus (`node-state` stays the transition change). */
export type NodeStatusChange = Extract<TwinChange, { type: 'node-status' }>;
/** Every applied VehicleTelemetry. */
export type VehicleTelemetryChange = Extract<TwinChange, { type: 'vehicle-telemetry' }>;

/** The changes that become points; every other change type is ignored. */
export type TimeSeriesChange =
  NodeTelemetryChange | HubStatusChange | NodeStatusChange | VehicleTelemetryChange;

/** Any change of a change list: only `type` is looked at before narrowing. */
export interface AnyChange {
  readonly type: string;
}

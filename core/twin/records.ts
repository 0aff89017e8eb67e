// Snapshot records: the plain, JSON-serialisable state a twin is restored from (a snapshot, or
// rows of PostgreSQL mapped by adapters/postgres). Only the ids are required in each record.
import type { HubView, NodeView, SessionView, VehicleView } from './view-types';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** A hub row for restore: only the id is required. */
export type HubRecord = Pick<HubView, 'hubId'> & Partial<Mutable<Omit<HubView, 'hubId' | 'available'>>>;
/** A node row for restore: only the ids are required. */
export type NodeRecord = Pick<NodeView, 'hubId' | 'nodeId'> &
  Partial<Mutable<Omit<NodeView, 'hubId' | 'nodeId' | 'maintenance' | 'vehicleId' | 'sessionId'>>>;
/** A vehicle row for restore: only the id is required. */
export type VehicleRecord = Pick<VehicleView, 'vehicleId'> &
  Partial<Mutable<Omit<VehicleView, 'vehicleId' | 'hubId' | 'nodeId'>>>;
/** An open session row for restore (closed ones are ignored). */
export type SessionRecord = Pick<SessionView, 'hubId' | 'nodeId' | 'vehicleId' | 'startTs'> &
  Partial<
    Mutable<Omit<SessionView, 'hubId' | 'nodeId' | 'vehicleId' | 'startTs' | 'durationS' | 'averagePowerKw'>>
  >;

export interface TwinSnapshot {
  readonly version: 1;
  readonly hubs: readonly HubRecord[];
  readonly nodes: readonly NodeRecord[];
  readonly vehicles: readonly VehicleRecord[];
  /** Open sessions only. */
  readonly sessions: readonly SessionRecord[];
}

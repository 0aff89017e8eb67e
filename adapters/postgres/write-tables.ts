// What the write queue writes: the tables (as rows of the repository), how rows of one key are
// merged, which are durable, their order in a batch, and which rows a delete makes obsolete.
import type { RepositoryWriter } from './repository';
import type {
  AuditInsert,
  DlmEventInsert,
  EntityDelete,
  HubControlUpsert,
  HubUpsert,
  NodeControlUpsert,
  NodeUpsert,
  SessionUpsert,
  VehicleProfile,
  VehicleTelemetryUpsert,
} from './rows';
import {
  auditKey,
  deleteKey,
  dlmEventKey,
  hubKey,
  mergeDefined,
  mergeDlmEvent,
  mergeSession,
  nodeKey,
  sessionKey,
  vehicleKey,
} from './values';

export interface WriteRows {
  deletes: EntityDelete;
  hubs: HubUpsert;
  hubControl: HubControlUpsert;
  nodes: NodeUpsert;
  nodeControl: NodeControlUpsert;
  vehicles: VehicleTelemetryUpsert;
  vehicleProfiles: VehicleProfile;
  sessions: SessionUpsert;
  dlmEvents: DlmEventInsert;
  auditLog: AuditInsert;
}
export type WriteTable = keyof WriteRows;
/** 'telemetry' rows may be dropped when the queue is full; 'durable' ones never. */
export type WritePriority = 'telemetry' | 'durable';
export type WriteItem = {
  [T in WriteTable]: {
    table: T;
    row: WriteRows[T];
    /**
     * Default: 'telemetry' for hubs/nodes/vehicles, 'durable' otherwise. Sessions, DLM events,
     * the audit log, hub/node control and deletes are always durable.
     */
    priority?: WritePriority;
  };
}[WriteTable];

interface TableSpec {
  key: (row: never) => string;
  merge: (prev: never, next: never) => object;
  write: keyof RepositoryWriter;
  defaultDurable: boolean;
  alwaysDurable: boolean;
}

const always = (
  write: keyof RepositoryWriter,
  key: (row: never) => string,
  merge: TableSpec['merge'],
): TableSpec => ({
  key,
  merge,
  write,
  defaultDurable: true,
  alwaysDurable: true,
});

export const TABLES: Record<WriteTable, TableSpec> = {
  deletes: always('deleteEntities', deleteKey, (_prev: object, next: object) => next),
  hubControl: always('upsertHubControls', hubKey, mergeDefined),
  nodeControl: always('upsertNodeControls', nodeKey, mergeDefined),
  auditLog: always('insertAuditLog', auditKey, (first: object) => first),
  hubs: {
    key: hubKey,
    merge: mergeDefined,
    write: 'upsertHubs',
    defaultDurable: false,
    alwaysDurable: false,
  },
  nodes: {
    key: nodeKey,
    merge: mergeDefined,
    write: 'upsertNodes',
    defaultDurable: false,
    alwaysDurable: false,
  },
  vehicles: {
    key: vehicleKey,
    merge: mergeDefined,
    write: 'upsertVehicles',
    defaultDurable: false,
    alwaysDurable: false,
  },
  vehicleProfiles: {
    key: vehicleKey,
    merge: mergeDefined,
    write: 'upsertVehicleProfiles',
    defaultDurable: true,
    alwaysDurable: false,
  },
  sessions: {
    key: sessionKey,
    merge: mergeSession,
    write: 'upsertSessions',
    defaultDurable: true,
    alwaysDurable: true,
  },
  dlmEvents: {
    key: dlmEventKey,
    merge: mergeDlmEvent, // insert-only: the first row of a key wins (ours over a hub's echo)
    write: 'insertDlmEvents',
    defaultDurable: true,
    alwaysDurable: true,
  },
};

/** Write order inside a batch: deletes, then parents first. */
export const TABLE_ORDER: readonly WriteTable[] = [
  'deletes',
  'hubs',
  'hubControl',
  'nodes',
  'nodeControl',
  'vehicles',
  'vehicleProfiles',
  'sessions',
  'dlmEvents',
  'auditLog',
];

/** The tables (and key test) whose rows a delete makes obsolete. */
export function obsoleteBy(d: EntityDelete): [WriteTable, (key: string) => boolean][] {
  if (d.entity === 'vehicle') {
    const same = (k: string): boolean => k === d.vehicle_id;
    return [
      ['vehicles', same],
      ['vehicleProfiles', same],
    ];
  }
  if (d.entity === 'node') {
    const same = (k: string): boolean => k === nodeKey(d);
    return [
      ['nodes', same],
      ['nodeControl', same],
    ];
  }
  const hub = (k: string): boolean => k === d.hub_id;
  const ofHub = (k: string): boolean => k.startsWith(`${d.hub_id}\u0000`);
  return [
    ['hubs', hub],
    ['hubControl', hub],
    ['nodes', ofHub],
    ['nodeControl', ofHub],
  ];
}

/** PostgreSQL data exceptions (22xxx) and integrity violations (23xxx): retrying cannot help. */
export function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code);
}

export function keyOf(table: WriteTable, row: object): string {
  return (TABLES[table].key as (r: object) => string)(row);
}

export function mergeRows(table: WriteTable, prev: object, next: object): object {
  return (TABLES[table].merge as (a: object, b: object) => object)(prev, next);
}

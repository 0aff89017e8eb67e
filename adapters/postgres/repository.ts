// PostgreSQL repository: batched, idempotent writes and the reads needed at restart and by
// the REST API. Every value is a query parameter; identifiers come only from constants.
// A batch is one statement per table (arrays unnested server-side), deduplicated by key
// first (PostgreSQL rejects an ON CONFLICT DO UPDATE that touches one row twice).
// The statements live in values.ts, upserts.ts, history.ts and reads.ts; this module binds
// them to one database.
import { deleteEntities, insertAuditLog, insertDlmEvents, upsertSessions } from './history';
import {
  getSession,
  listAuditLog,
  getVehicle,
  listDlmEvents,
  listHubs,
  listNodes,
  listSessions,
  listVehicles,
  loadState,
} from './reads';
import type {
  AuditFilters,
  AuditInsert,
  AuditRow,
  DlmEventFilters,
  DlmEventInsert,
  DlmEventRow,
  EntityDelete,
  HubControlUpsert,
  HubRow,
  HubUpsert,
  LoadedState,
  NodeControlUpsert,
  NodeRow,
  NodeUpsert,
  Page,
  SessionFilters,
  SessionRow,
  SessionUpsert,
  VehicleProfile,
  VehicleRow,
  VehicleTelemetryUpsert,
} from './rows';
import {
  upsertHubControls,
  upsertHubs,
  upsertNodeControls,
  upsertNodes,
  upsertVehicleProfile,
  upsertVehicleProfiles,
  upsertVehicles,
} from './upserts';
import type { Queryable } from './values';

export { deleteEntities, insertAuditLog, insertDlmEvents, upsertSessions } from './history';
export {
  getSession,
  listAuditLog,
  getVehicle,
  listDlmEvents,
  listHubs,
  listNodes,
  listSessions,
  listVehicles,
  loadState,
  loadOpenSessionsOfHubs,
  controlsAfter,
  lastAuditId,
  nodeTelemetryAfter,
  vehiclesAfter,
  MAX_PAGE_SIZE,
} from './reads';
export {
  upsertHubControls,
  upsertHubs,
  upsertNodeControls,
  upsertNodes,
  upsertVehicleProfile,
  upsertVehicleProfiles,
  upsertVehicles,
} from './upserts';
export {
  auditKey,
  dedupeBy,
  deleteKey,
  dlmEventKey,
  mergeDlmEvent,
  pgText,
  hubKey,
  mergeDefined,
  mergeSession,
  nodeKey,
  sessionKey,
  timeMs,
  toTimestamp,
  vehicleKey,
  type Queryable,
} from './values';

export interface RepositoryWriter {
  upsertHubs(rows: readonly HubUpsert[]): Promise<number>;
  upsertNodes(rows: readonly NodeUpsert[]): Promise<number>;
  upsertVehicles(rows: readonly VehicleTelemetryUpsert[]): Promise<number>;
  upsertVehicleProfiles(rows: readonly VehicleProfile[]): Promise<number>;
  upsertSessions(rows: readonly SessionUpsert[]): Promise<number>;
  insertDlmEvents(rows: readonly DlmEventInsert[]): Promise<number>;
  upsertHubControls(rows: readonly HubControlUpsert[]): Promise<number>;
  upsertNodeControls(rows: readonly NodeControlUpsert[]): Promise<number>;
  insertAuditLog(rows: readonly AuditInsert[]): Promise<number>;
  deleteEntities(rows: readonly EntityDelete[]): Promise<number>;
}

export interface Repository extends RepositoryWriter {
  upsertVehicleProfile(profile: VehicleProfile): Promise<VehicleRow>;
  loadState(): Promise<LoadedState>;
  listHubs(): Promise<HubRow[]>;
  listNodes(hubId?: string): Promise<NodeRow[]>;
  listVehicles(): Promise<VehicleRow[]>;
  getVehicle(vehicleId: string): Promise<VehicleRow | null>;
  getSession(sessionId: string): Promise<SessionRow | null>;
  listSessions(filters: SessionFilters): Promise<Page<SessionRow>>;
  listDlmEvents(filters: DlmEventFilters): Promise<Page<DlmEventRow>>;
  listAuditLog(filters: AuditFilters): Promise<Page<AuditRow>>;
}

export function createRepository(db: Queryable): Repository {
  return {
    upsertHubs: (rows) => upsertHubs(db, rows),
    upsertNodes: (rows) => upsertNodes(db, rows),
    upsertVehicles: (rows) => upsertVehicles(db, rows),
    upsertVehicleProfiles: (rows) => upsertVehicleProfiles(db, rows),
    upsertVehicleProfile: (p) => upsertVehicleProfile(db, p),
    upsertSessions: (rows) => upsertSessions(db, rows),
    insertDlmEvents: (rows) => insertDlmEvents(db, rows),
    upsertHubControls: (rows) => upsertHubControls(db, rows),
    upsertNodeControls: (rows) => upsertNodeControls(db, rows),
    insertAuditLog: (rows) => insertAuditLog(db, rows),
    deleteEntities: (rows) => deleteEntities(db, rows),
    loadState: () => loadState(db),
    listHubs: () => listHubs(db),
    listNodes: (hubId) => listNodes(db, hubId),
    listVehicles: () => listVehicles(db),
    getVehicle: (id) => getVehicle(db, id),
    getSession: (id) => getSession(db, id),
    listSessions: (f) => listSessions(db, f),
    listDlmEvents: (f) => listDlmEvents(db, f),
    listAuditLog: (f) => listAuditLog(db, f),
  };
}

// PostgreSQL adapter: pool, migrations, repository, write queue, cluster leases.
export { createPool, checkHealth, POOL_DEFAULTS, type PostgresConfig, type HealthResult } from './pool';
export { migrate, MIGRATION_LOCK_KEY, type MigrateResult } from './migrations';
export { MIGRATIONS, type Migration } from './migrations/index';
export * from './rows';
export {
  createRepository,
  upsertHubs,
  upsertNodes,
  upsertVehicles,
  upsertVehicleProfiles,
  upsertVehicleProfile,
  upsertSessions,
  insertDlmEvents,
  upsertHubControls,
  upsertNodeControls,
  insertAuditLog,
  deleteEntities,
  listAuditLog,
  loadState,
  loadOpenSessionsOfHubs,
  controlsAfter,
  lastAuditId,
  nodeTelemetryAfter,
  vehiclesAfter,
  listHubs,
  listNodes,
  listVehicles,
  getVehicle,
  getSession,
  listSessions,
  listDlmEvents,
  mergeSession,
  mergeDefined,
  dedupeBy,
  toTimestamp,
  hubKey,
  nodeKey,
  vehicleKey,
  sessionKey,
  dlmEventKey,
  auditKey,
  deleteKey,
  mergeDlmEvent,
  pgText,
  MAX_PAGE_SIZE,
  type Queryable,
  type Repository,
  type RepositoryWriter,
} from './repository';
export {
  originalApiStore,
  type NumberedDlmEventRow,
  type NumberedPage,
  type NumberedSessionRow,
  type OriginalApiStore,
} from './original-api';
export { pgLeaseStore, listHubLeases, lastLimitsOfHubs, type HubLeaseRow } from './leases';
export {
  WriteQueue,
  isDataError,
  systemTimers,
  TABLE_ORDER,
  type WriteItem,
  type WriteRows,
  type WriteTable,
  type WritePriority,
  type WriteQueueOptions,
  type WriteQueueStats,
  type TimerApi,
} from './write-queue';
export { WriteAhead, type WriteAheadOptions, type WriteAheadStats } from './write-ahead';
export { pgSoleLock, SOLE_LOCK_KEY, type SoleLockOptions } from './sole-lock';

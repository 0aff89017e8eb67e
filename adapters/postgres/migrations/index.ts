// Ordered list of migrations. Append only: never edit or renumber a released migration.
import * as m001 from './001_initial';
import * as m002 from './002_control_plane';
import * as m003 from './003_session_numbers';
import * as m004 from './004_cluster';
import * as m005 from './005_owner_epoch';

export interface Migration {
  /** Sortable, unique id, e.g. `001_initial`. */
  id: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  { id: m001.id, sql: m001.sql },
  { id: m002.id, sql: m002.sql },
  { id: m003.id, sql: m003.sql },
  { id: m004.id, sql: m004.sql },
  { id: m005.id, sql: m005.sql },
];

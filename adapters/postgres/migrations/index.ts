// Ordered list of migrations. Append only: never edit or renumber a released migration.
import * as m001 from './001_initial';

export interface Migration {
  /** Sortable, unique id, e.g. `001_initial`. */
  id: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [{ id: m001.id, sql: m001.sql }];

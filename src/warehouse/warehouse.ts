import type { AddFile } from '../lake/log/actions.js';
import type { DeltaSchema } from '../lake/log/delta-schema.js';
import type { Snapshot } from '../lake/log/snapshot.js';

/**
 * The warehouse port: where curated tables are loaded for analysts. Two implementations: an
 * embedded DuckDB file (default) and Snowflake. Every table a load writes carries `_lake_file`
 * (the Delta file a row came from), so removed files' rows can be deleted exactly; the control
 * table `_shopstream_loads` records, per table, the lake version loaded, in the same transaction
 * as the data.
 */
export interface Warehouse {
  readonly kind: 'duckdb' | 'snowflake';
  /** Rows of a query with bound parameters ($1.. for DuckDB, ? for Snowflake). */
  query<T = Record<string, unknown>>(sql: string, parameters?: readonly unknown[]): Promise<T[]>;
  /** The lake version last loaded into `table`, or undefined. */
  loadedVersion(table: string): Promise<number | undefined>;
  /** Applies one table's change set and the control row atomically. */
  applyLoad(change: TableChange): Promise<AppliedLoad>;
  /** Runs a DDL statement (warehouse init). */
  execute(statement: string): Promise<void>;
  /** Deletes the rows of a loaded table whose `column` is one of `values`; returns how many. */
  deleteWhere(table: string, column: string, values: readonly string[]): Promise<number>;
  close(): Promise<void>;
}

export interface TableChange {
  readonly table: string;
  readonly snapshot: Snapshot;
  readonly schema: DeltaSchema;
  /** Replace the whole table (first load, --full-refresh, or a schema change that needs it). */
  readonly replace: boolean;
  readonly addedFiles: readonly AddFile[];
  /** Lake paths of files whose rows must go. */
  readonly removedPaths: readonly string[];
  readonly runId: string;
}

export interface AppliedLoad {
  readonly rowsInserted: number;
  readonly rowsDeleted: number;
  readonly columnsAdded: readonly string[];
}

export const CONTROL_TABLE = '_shopstream_loads';
export const FILE_COLUMN = '_lake_file';

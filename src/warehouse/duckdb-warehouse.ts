import { type DuckDb, isFileLockConflict, quoteIdent, quoteLiteral } from '../engine/duckdb.js';
import { conflictError } from '../errors.js';
import { duckDbType } from '../lake/table/columns.js';
import type { Lake } from '../lake/table/lake.js';
import { registerSnapshot } from '../lake/table/table-scan.js';
import { inLoadTransaction } from './load-transaction.js';
import {
  type AppliedLoad,
  CONTROL_TABLE,
  FILE_COLUMN,
  type TableChange,
  type Warehouse,
} from './warehouse.js';

const CATALOG = 'warehouse';

/**
 * The embedded warehouse: a DuckDB database file, attached to the lake's DuckDB session so a load
 * reads the lake's Parquet files and writes the warehouse in one statement, inside one transaction
 * with the control row. A crash before COMMIT leaves the file as it was.
 */
export class DuckDbWarehouse implements Warehouse {
  readonly kind = 'duckdb' as const;

  private constructor(
    private readonly lake: Lake,
    readonly path: string,
    /** For analyst queries: a connection without the lake session's temp views (no name clashes). */
    private readonly reader: DuckDb,
  ) {}

  static async open(lake: Lake, path: string): Promise<DuckDbWarehouse> {
    const db = lake.db;
    try {
      await db.run(`ATTACH ${quoteLiteral(path)} AS ${CATALOG}`);
    } catch (error) {
      if (!isFileLockConflict(error)) throw error;
      throw conflictError('WAREHOUSE_LOCKED', `the warehouse file ${path} is in use by another process`, {
        cause: error,
        location: path,
        suggestions: [
          'DuckDB lets one process at a time open the file: rerun when the other shopstream (or duckdb) process has finished',
          (error as Error).message,
        ],
      });
    }
    await db.run(
      `CREATE TABLE IF NOT EXISTS ${CATALOG}.main.${CONTROL_TABLE} (
         table_name VARCHAR PRIMARY KEY, lake_version BIGINT NOT NULL, loaded_at TIMESTAMPTZ NOT NULL,
         run_id VARCHAR NOT NULL, rows_inserted BIGINT, rows_deleted BIGINT)`,
    );
    const reader = await db.fork();
    await reader.run(`USE ${CATALOG}`);
    return new DuckDbWarehouse(lake, path, reader);
  }

  private get db(): DuckDb {
    return this.lake.db;
  }

  async query<T = Record<string, unknown>>(sql: string, parameters: readonly unknown[] = []): Promise<T[]> {
    return this.reader.all<T>(sql, parameters as never);
  }

  async execute(statement: string): Promise<void> {
    await this.reader.run(statement);
  }

  async deleteWhere(table: string, column: string, values: readonly string[]): Promise<number> {
    if (values.length === 0) return 0;
    const rows = await this.db.all(
      `DELETE FROM ${CATALOG}.main.${quoteIdent(table)} WHERE ${quoteIdent(column)} IN (${values.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING 1`,
      [...values],
    );
    return rows.length;
  }

  async loadedVersion(table: string): Promise<number | undefined> {
    const rows = await this.db.all<{ v: string }>(
      `SELECT lake_version AS v FROM ${CATALOG}.main.${CONTROL_TABLE} WHERE table_name = $1`,
      [table],
    );
    return rows[0] ? Number(rows[0].v) : undefined;
  }

  async applyLoad(change: TableChange): Promise<AppliedLoad> {
    const target = `${CATALOG}.main.${quoteIdent(change.table)}`;
    const source = `__load_${change.table}`;
    await registerSnapshot(
      this.db,
      this.lake.store,
      change.table,
      change.snapshot,
      source,
      change.addedFiles,
      {
        fileColumn: FILE_COLUMN,
      },
    );
    const existing = await this.columns(change.table);
    const wanted = change.schema.fields.map((f) => ({ name: f.name, type: duckDbType(f.type) }));
    const columnsAdded =
      existing && !change.replace ? wanted.filter((c) => !existing.has(c.name)).map((c) => c.name) : [];
    // temp objects first: a transaction may write to one database only (the warehouse)
    await this.db.run('CREATE OR REPLACE TEMP TABLE __load_removed (path VARCHAR)');
    const appender = await this.db.connection.createAppender('__load_removed', 'main', 'temp');
    for (const path of change.removedPaths) {
      appender.appendVarchar(path);
      appender.endRow();
    }
    appender.closeSync();
    try {
      return await inLoadTransaction(
        (statement) => this.db.run(statement),
        async () => {
          if (change.replace || !existing) {
            await this.db.run(
              `CREATE OR REPLACE TABLE ${target} (${wanted.map((c) => `${quoteIdent(c.name)} ${c.type}`).join(', ')}, ${FILE_COLUMN} VARCHAR)`,
            );
          }
          for (const name of columnsAdded) {
            const column = wanted.find((c) => c.name === name)!;
            await this.db.run(`ALTER TABLE ${target} ADD COLUMN ${quoteIdent(name)} ${column.type}`);
          }
          let deleted = 0;
          if (!change.replace && change.removedPaths.length > 0) {
            const [row] = await this.db.all<{ Count: string }>(
              `DELETE FROM ${target} WHERE ${FILE_COLUMN} IN (SELECT path FROM __load_removed)`,
            );
            deleted = Number(row?.Count ?? 0);
          }
          const columnList = [...wanted.map((c) => quoteIdent(c.name)), FILE_COLUMN].join(', ');
          const [insertedRow] = await this.db.all<{ Count: string }>(
            `INSERT INTO ${target} (${columnList}) SELECT ${columnList} FROM ${quoteIdent(source)}`,
          );
          const inserted = Number(insertedRow?.Count ?? 0);
          await this.db.run(
            `INSERT OR REPLACE INTO ${CATALOG}.main.${CONTROL_TABLE} VALUES ($1, $2, now(), $3, $4, $5)`,
            [change.table, change.snapshot.version, change.runId, inserted, deleted] as never,
          );
          return { rowsInserted: inserted, rowsDeleted: deleted, columnsAdded };
        },
      );
    } finally {
      await this.db.run(`DROP VIEW IF EXISTS ${quoteIdent(source)}`);
    }
  }

  private async columns(table: string): Promise<Set<string> | undefined> {
    const rows = await this.db.all<{ column_name: string }>(
      `SELECT column_name FROM duckdb_columns() WHERE database_name = '${CATALOG}' AND schema_name = 'main' AND table_name = $1`,
      [table],
    );
    return rows.length ? new Set(rows.map((r) => r.column_name)) : undefined;
  }

  async close(): Promise<void> {
    await this.reader.run('USE memory').catch(() => undefined);
    this.reader.close();
    await this.db.run(`DETACH ${CATALOG}`).catch(() => undefined);
  }
}

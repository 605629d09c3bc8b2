import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { quoteIdent, quoteLiteral } from '../engine/duckdb.js';
import type { DeltaType } from '../lake/log/delta-schema.js';
import type { Lake } from '../lake/table/lake.js';
import { registerSnapshot } from '../lake/table/table-scan.js';
import { inLoadTransaction } from './load-transaction.js';
import { SnowflakeExecutor, type SnowflakeSettings } from './snowflake-executor.js';
import {
  type AppliedLoad,
  CONTROL_TABLE,
  FILE_COLUMN,
  type TableChange,
  type Warehouse,
} from './warehouse.js';

const DELETE_CHUNK = 500;

/**
 * Snowflake as the warehouse. A table load writes the added lake files' rows (with partition values
 * and `_lake_file`) to one local Parquet file, PUTs it to the user stage (SOURCE_COMPRESSION=PARQUET,
 * so the driver does not gzip it), then in one transaction deletes the rows of removed files, COPYs
 * the staged file in (MATCH_BY_COLUMN_NAME, an explicit FILES list) and MERGEs the control row.
 * Identifiers are unquoted, so analysts see Snowflake's usual upper-case names.
 */
export class SnowflakeWarehouse implements Warehouse {
  readonly kind = 'snowflake' as const;

  private constructor(
    private readonly lake: Lake,
    private readonly executor: SnowflakeExecutor,
    private readonly runId: string,
    private readonly staging: StagingOptions,
  ) {}

  static async open(
    lake: Lake,
    settings: SnowflakeSettings,
    command: string,
    runId: string,
    staging: StagingOptions = {},
  ): Promise<SnowflakeWarehouse> {
    const executor = await SnowflakeExecutor.connect(settings, `shopstream:${command}:${runId}`);
    await executor.query(
      `CREATE TABLE IF NOT EXISTS ${CONTROL_TABLE} (table_name VARCHAR NOT NULL, lake_version NUMBER(38,0) NOT NULL,
        loaded_at TIMESTAMP_TZ NOT NULL, run_id VARCHAR NOT NULL, rows_inserted NUMBER(38,0), rows_deleted NUMBER(38,0))`,
    );
    return new SnowflakeWarehouse(lake, executor, runId, staging);
  }

  query<T = Record<string, unknown>>(sql: string, parameters: readonly unknown[] = []): Promise<T[]> {
    return this.executor.query<T>(sql, parameters);
  }

  async execute(statement: string): Promise<void> {
    await this.executor.query(statement);
  }

  async deleteWhere(table: string, column: string, values: readonly string[]): Promise<number> {
    if (values.length === 0) return 0;
    const where = `${column} IN (${values.map(() => '?').join(', ')})`;
    const [row] = await this.executor.query<{ count: number }>(
      `SELECT count(*) AS count FROM ${table} WHERE ${where}`,
      [...values],
    );
    await this.executor.query(`DELETE FROM ${table} WHERE ${where}`, [...values]);
    return Number(row?.count ?? 0);
  }

  async loadedVersion(table: string): Promise<number | undefined> {
    const rows = await this.executor.query<{ lake_version: number }>(
      `SELECT lake_version FROM ${CONTROL_TABLE} WHERE table_name = ?`,
      [table],
    );
    return rows[0] ? Number(rows[0].lake_version) : undefined;
  }

  async applyLoad(change: TableChange): Promise<AppliedLoad> {
    // private staging (inside a local lake, or the user's 0700 cache): never the shared temp folder
    const dir = await this.lake.store.stagingDir('snowflake');
    const stagePath = `shopstream/${this.runId}/${change.table}-${randomUUID()}`;
    // the external stage's URL is the lake root: files go into the lake under _shopstream/
    const external = this.staging.externalStage;
    const lakeKey = `_shopstream/snowflake/${this.runId}/${change.table}-${randomUUID()}`;
    const stage = external ? `@${external}/${lakeKey}` : `@~/${stagePath}`;
    let fileNames: string[] = [];
    try {
      let inserted = 0;
      if (change.addedFiles.length > 0) {
        const view = `__snowflake_${change.table}`;
        await registerSnapshot(
          this.lake.db,
          this.lake.store,
          change.table,
          change.snapshot,
          view,
          change.addedFiles,
          { fileColumn: FILE_COLUMN },
        );
        const [count] = await this.lake.db.all<{ n: string }>(
          `SELECT count(*) AS n FROM ${quoteIdent(view)}`,
        );
        inserted = Number(count?.n ?? 0);
        // files of about 200 MB: Snowflake loads 100-250 MB compressed files best, in parallel
        const [written] = await this.lake.db.all<{ Files: string[] }>(
          `COPY (SELECT * FROM ${quoteIdent(view)}) TO ${quoteLiteral(dir)}
           (FORMAT parquet, COMPRESSION zstd, FILE_SIZE_BYTES '200MB', FILENAME_PATTERN 'part-{uuid}', RETURN_FILES, OVERWRITE_OR_IGNORE)`,
        );
        fileNames = (written?.Files ?? []).map((f) => path.basename(f));
        await this.lake.db.run(`DROP VIEW IF EXISTS ${quoteIdent(view)}`);
      }
      const columns = change.schema.fields.map((f) => ({ name: f.name, type: snowflakeType(f.type) }));
      const existing = new Set(
        (
          await this.executor.query<{ column_name: string }>(
            'SELECT column_name FROM information_schema.columns WHERE lower(table_name) = lower(?)',
            [change.table],
          )
        ).map((c) => c.column_name.toLowerCase()),
      );
      const columnsAdded: string[] = [];
      if (existing.size === 0) {
        await this.executor.query(
          `CREATE TABLE IF NOT EXISTS ${change.table} (${columns.map((c) => `${c.name} ${c.type}`).join(', ')}, ${FILE_COLUMN} VARCHAR)`,
        );
      } else {
        for (const column of columns.filter((c) => !existing.has(c.name))) {
          await this.executor.query(`ALTER TABLE ${change.table} ADD COLUMN ${column.name} ${column.type}`);
          columnsAdded.push(column.name);
        }
      }
      if (inserted > 0 && external) {
        for (const name of fileNames)
          await this.lake.store.putFile(path.join(dir, name), `${lakeKey}/${name}`);
      } else if (inserted > 0) {
        await this.executor.query(
          `PUT 'file://${path.join(dir, '*.parquet')}' @~/${stagePath} SOURCE_COMPRESSION=PARQUET AUTO_COMPRESS=FALSE OVERWRITE=TRUE`,
        );
      }
      return await inLoadTransaction(
        (statement) => this.executor.query(statement),
        async () => {
          let deleted = 0;
          if (change.replace) {
            // a full reload keeps the table (clustering keys, grants) and stays atomic: delete, then copy
            const [row] = await this.executor.query<{ count: number }>(
              `SELECT count(*) AS count FROM ${change.table}`,
            );
            deleted = Number(row?.count ?? 0);
            await this.executor.query(`DELETE FROM ${change.table}`);
          }
          for (let i = 0; i < change.removedPaths.length; i += DELETE_CHUNK) {
            const chunk = change.removedPaths.slice(i, i + DELETE_CHUNK);
            const [row] = await this.executor.query<{ count: number }>(
              `SELECT count(*) AS count FROM ${change.table} WHERE ${FILE_COLUMN} IN (${chunk.map(() => '?').join(', ')})`,
              chunk,
            );
            deleted += Number(row?.count ?? 0);
            await this.executor.query(
              `DELETE FROM ${change.table} WHERE ${FILE_COLUMN} IN (${chunk.map(() => '?').join(', ')})`,
              chunk,
            );
          }
          if (inserted > 0) {
            await this.executor.query(
              `COPY INTO ${change.table} FROM ${stage} FILES = (${fileNames.map((f) => `'${f}'`).join(', ')}) FILE_FORMAT = (TYPE = PARQUET) MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE`,
            );
          }
          await this.executor.query(
            `MERGE INTO ${CONTROL_TABLE} AS t
               USING (SELECT ? AS table_name, ? AS lake_version, ? AS run_id, ? AS rows_inserted, ? AS rows_deleted) AS s
               ON t.table_name = s.table_name
               WHEN MATCHED THEN UPDATE SET lake_version = s.lake_version, loaded_at = CURRENT_TIMESTAMP, run_id = s.run_id,
                 rows_inserted = s.rows_inserted, rows_deleted = s.rows_deleted
               WHEN NOT MATCHED THEN INSERT (table_name, lake_version, loaded_at, run_id, rows_inserted, rows_deleted)
                 VALUES (s.table_name, s.lake_version, CURRENT_TIMESTAMP, s.run_id, s.rows_inserted, s.rows_deleted)`,
            [change.table, change.snapshot.version, change.runId, inserted, deleted],
          );
          return { rowsInserted: inserted, rowsDeleted: deleted, columnsAdded };
        },
      );
    } finally {
      if (fileNames.length > 0 && external) {
        for (const name of fileNames)
          await this.lake.store.delete(`${lakeKey}/${name}`).catch(() => undefined);
      } else if (fileNames.length > 0) {
        await this.executor.query(`REMOVE @~/${stagePath}`).catch(() => undefined);
      }
      await rm(dir, { recursive: true, force: true });
    }
  }

  async close(): Promise<void> {
    await this.executor.close();
  }
}

export interface StagingOptions {
  /** An external stage over the lake's S3 root (for s3:// lakes); the user stage and PUT otherwise. */
  readonly externalStage?: string;
}

/** Snowflake column types for Delta types. */
export function snowflakeType(type: DeltaType): string {
  if (typeof type !== 'string') return type.type === 'array' ? 'ARRAY' : 'VARIANT';
  const decimal = /^decimal\((\d+),\s*(\d+)\)$/.exec(type);
  if (decimal) return `NUMBER(${decimal[1]},${decimal[2]})`;
  const map: Record<string, string> = {
    string: 'VARCHAR',
    long: 'NUMBER(38,0)',
    integer: 'NUMBER(38,0)',
    short: 'NUMBER(38,0)',
    byte: 'NUMBER(38,0)',
    double: 'FLOAT',
    float: 'FLOAT',
    boolean: 'BOOLEAN',
    date: 'DATE',
    timestamp: 'TIMESTAMP_TZ',
    binary: 'BINARY',
  };
  return map[type] ?? 'VARCHAR';
}

import { quoteIdent } from '../../engine/duckdb.js';
import type { CommitProperties } from '../log/delta-log.js';
import { duckDbType } from './columns.js';
import type { TableDefinition } from './delta-table.js';
import type { Lake } from './lake.js';

/** A value for one column: text (cast to the column's type by DuckDB), a number, or null. */
export type CellValue = string | number | null;

export interface AppendOptions {
  /** The commit's operationParameters. */
  readonly parameters?: Record<string, unknown>;
  /** The caller's run id (and other commitInfo fields) for the commits (creation, append). */
  readonly commitProperties?: CommitProperties;
}

/**
 * Appends a few rows (records such as audit entries, run rows, deletion requests) to a table,
 * creating it from `definition` first if needed. Values are bound parameters cast to the column
 * types; one blind-append commit. Returns its version.
 */
export async function appendRows(
  lake: Lake,
  name: string,
  definition: TableDefinition,
  rows: readonly Readonly<Record<string, CellValue>>[],
  options: AppendOptions = {},
): Promise<number> {
  const table = lake.table(name);
  const snapshot = await table.ensure(definition, options.commitProperties);
  // a column added to the definition since the table was created: evolve the schema (old files
  // read it as NULL) rather than fail the append
  const present = new Set(snapshot.schema.fields.map((f) => f.name));
  const addColumns = definition.columns.filter((c) => !present.has(c.name));
  const db = lake.db;
  const temp = quoteIdent(`__append_${name}`);
  const columns = definition.columns;
  await db.run(
    `CREATE OR REPLACE TEMP TABLE ${temp} (${columns.map((c) => `${quoteIdent(c.name)} ${duckDbType(c.type)}`).join(', ')})`,
  );
  try {
    const values = columns.map((c, i) => `CAST($${i + 1} AS ${duckDbType(c.type)})`).join(', ');
    for (const row of rows) {
      await db.run(
        `INSERT INTO ${temp} VALUES (${values})`,
        columns.map((c) => row[c.name] ?? null),
      );
    }
    const result = await table.write({
      relation: `__append_${name}`,
      mode: 'append',
      operation: 'WRITE',
      parameters: options.parameters ?? {},
      ...(options.commitProperties ? { commitProperties: options.commitProperties } : {}),
      ...(addColumns.length > 0 ? { addColumns } : {}),
    });
    return result.version;
  } finally {
    await db.run(`DROP TABLE IF EXISTS ${temp}`);
  }
}

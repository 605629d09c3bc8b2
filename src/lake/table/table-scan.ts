import { fileURLToPath } from 'node:url';
import { type DuckDb, quoteIdent, quoteLiteral } from '../../engine/duckdb.js';
import { joinKey, type ObjectStore } from '../../storage/object-store.js';
import { type AddFile, parseStats } from '../log/actions.js';
import { type DeltaField, isPrimitive } from '../log/delta-schema.js';
import type { Snapshot } from '../log/snapshot.js';
import { duckDbType } from './columns.js';
import { decodeDataPath, isAbsoluteUri } from './paths.js';

/**
 * Exposes a snapshot to DuckDB as a temporary view: exactly the live files of the log, partition
 * values from `add.partitionValues` (never parsed from directory names), columns missing from older
 * files read as NULL, every column cast to the table schema's type. Returns the local paths the view
 * reads (what a sandboxed session must still be allowed to open).
 */
export async function registerSnapshot(
  db: DuckDb,
  store: ObjectStore,
  tableKey: string,
  snapshot: Snapshot,
  viewName: string,
  files: readonly AddFile[] = snapshot.files,
  options: { readonly fileColumn?: string } = {},
): Promise<readonly string[]> {
  const fields = snapshot.schema.fields;
  const partitionColumns = new Set(snapshot.partitionColumns);
  const view = quoteIdent(viewName);
  if (files.length === 0) {
    const columns = fields.map((f) => `CAST(NULL AS ${duckDbType(f.type)}) AS ${quoteIdent(f.name)}`);
    if (options.fileColumn) columns.push(`CAST(NULL AS VARCHAR) AS ${quoteIdent(options.fileColumn)}`);
    await db.run(`CREATE OR REPLACE TEMP VIEW ${view} AS SELECT ${columns.join(', ')} WHERE false`);
    return [];
  }
  const locals = await Promise.all(files.map((file) => dataFileLocalPath(store, tableKey, file.path)));
  const fileList = `[${locals.map(quoteLiteral).join(', ')}]`;
  const dataFields = fields.filter((f) => !partitionColumns.has(f.name));
  // When the log proves every file holds every column, DuckDB matches each file's columns by name
  // against the first file's: no footer is read to register the view, and a query binding it reads
  // one. Otherwise (older files without newer columns, files without statistics) union_by_name reads
  // every footer at each bind, and columns no file has read as NULL.
  const uniform = filesHoldEveryColumn(files, dataFields);
  const present = uniform
    ? new Set(dataFields.map((f) => f.name))
    : new Set(
        (
          await db.all<{ column_name: string }>(
            `DESCRIBE SELECT * FROM read_parquet(${fileList}, union_by_name = true)`,
          )
        ).map((c) => c.column_name),
      );

  let join = '';
  if (partitionColumns.size > 0 || options.fileColumn) {
    // per file: its local path (to join on DuckDB's filename), its path in the log, its partition values
    const pvTable = `__partition_values_${viewName}`;
    const pvColumns = [...partitionColumns];
    await db.run(
      `CREATE OR REPLACE TEMP TABLE ${quoteIdent(pvTable)} (__file VARCHAR, __lake_path VARCHAR${pvColumns.map((c) => `, ${quoteIdent(c)} VARCHAR`).join('')})`,
    );
    const appender = await db.connection.createAppender(pvTable, 'main', 'temp');
    files.forEach((file, i) => {
      appender.appendVarchar(locals[i]!);
      appender.appendVarchar(file.path);
      for (const column of pvColumns) {
        const value = file.partitionValues[column];
        if (value == null) appender.appendNull();
        else appender.appendVarchar(value);
      }
      appender.endRow();
    });
    appender.closeSync();
    join = ` JOIN ${quoteIdent(pvTable)} AS __pv ON __data.filename = __pv.__file`;
  }

  const select = fields.map((field) => {
    const name = quoteIdent(field.name);
    const type = duckDbType(field.type);
    if (partitionColumns.has(field.name)) {
      if (field.type === 'binary') return `encode(__pv.${name}) AS ${name}`;
      return `CAST(__pv.${name} AS ${type}) AS ${name}`;
    }
    if (!present.has(field.name)) return `CAST(NULL AS ${type}) AS ${name}`;
    return isPrimitive(field.type)
      ? `CAST(__data.${name} AS ${type}) AS ${name}`
      : `__data.${name} AS ${name}`;
  });
  if (options.fileColumn) select.push(`__pv.__lake_path AS ${quoteIdent(options.fileColumn)}`);
  await db.run(
    `CREATE OR REPLACE TEMP VIEW ${view} AS SELECT ${select.join(', ')} FROM read_parquet(${fileList}, filename = true, union_by_name = ${!uniform}) AS __data${join}`,
  );
  return locals;
}

/**
 * Whether every file's statistics count the nulls of every (top-level, primitive) data column: a
 * writer's statistics describe the columns its file holds, so a file written before a column was
 * added lacks that column's count. The table's types never change (reader 1: no type widening), so
 * the files agree on them too. Arrays, maps and structs have no statistics (and a struct may have
 * gained fields in newer files): not proven.
 */
function filesHoldEveryColumn(files: readonly AddFile[], dataFields: readonly DeltaField[]): boolean {
  if (!dataFields.every((f) => isPrimitive(f.type))) return false;
  return files.every((file) => {
    const nullCount = parseStats(file)?.nullCount;
    return nullCount != null && dataFields.every((f) => typeof nullCount[f.name] === 'number');
  });
}

/** The local path of a data file named by an add/remove action. */
export async function dataFileLocalPath(
  store: ObjectStore,
  tableKey: string,
  actionPath: string,
): Promise<string> {
  if (isAbsoluteUri(actionPath)) {
    if (actionPath.startsWith('file:')) return fileURLToPath(actionPath);
    throw new Error(`absolute data file paths outside the table are not supported: ${actionPath}`);
  }
  return store.localPath(joinKey(tableKey, decodeDataPath(actionPath)));
}

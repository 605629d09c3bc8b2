import { fileURLToPath } from 'node:url';
import { type DuckDb, quoteIdent, quoteLiteral } from '../../engine/duckdb.js';
import { joinKey, type ObjectStore } from '../../storage/object-store.js';
import { type AddFile, parseStats } from '../log/actions.js';
import { type DeltaField, type DeltaType, isPrimitive } from '../log/delta-schema.js';
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
  const dataFields = fields.filter((f) => !partitionColumns.has(f.name));
  // Each run of files holding the same columns is one read_parquet, the columns it lacks NULL: DuckDB
  // matches each file's columns by name against the run's first file, so a query binding the view
  // reads one footer per run. A struct may have gained fields in newer files: only union_by_name
  // (every footer at each bind) reads those, so tables with structs keep it.
  const held = await columnsHeld(db, files, locals, dataFields);
  const runs = dataFields.some((f) => canGainFields(f.type))
    ? [{ locals, columns: new Set(held.flatMap((columns) => [...columns])), unionByName: true }]
    : runsOfSameColumns(locals, held);

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

  const branches = runs.map((run) => {
    const select = fields.map((field) => {
      const name = quoteIdent(field.name);
      const type = duckDbType(field.type);
      if (partitionColumns.has(field.name)) {
        if (field.type === 'binary') return `encode(__pv.${name}) AS ${name}`;
        return `CAST(__pv.${name} AS ${type}) AS ${name}`;
      }
      if (!run.columns.has(field.name)) {
        // a nested column keeps the files' own type, as one read with union_by_name gave it
        const inOtherRuns = !isPrimitive(field.type) && runs.some((r) => r.columns.has(field.name));
        return inOtherRuns ? `NULL AS ${name}` : `CAST(NULL AS ${type}) AS ${name}`;
      }
      return isPrimitive(field.type)
        ? `CAST(__data.${name} AS ${type}) AS ${name}`
        : `__data.${name} AS ${name}`;
    });
    if (options.fileColumn) select.push(`__pv.__lake_path AS ${quoteIdent(options.fileColumn)}`);
    const fileList = `[${run.locals.map(quoteLiteral).join(', ')}]`;
    return `SELECT ${select.join(', ')} FROM read_parquet(${fileList}, filename = true, union_by_name = ${run.unionByName}) AS __data${join}`;
  });
  await db.run(`CREATE OR REPLACE TEMP VIEW ${view} AS ${branches.join(' UNION ALL ')}`);
  return locals;
}

/**
 * The data columns each file holds. A writer's statistics count the nulls of its file's primitive
 * columns (a file written before a column was added has no count for it), so the log proves most
 * files complete without opening them; the others' footers are read once per session (a data file
 * is never rewritten under its name).
 */
async function columnsHeld(
  db: DuckDb,
  files: readonly AddFile[],
  locals: readonly string[],
  dataFields: readonly DeltaField[],
): Promise<ReadonlySet<string>[]> {
  const read = footerColumns.get(db) ?? new Map<string, ReadonlySet<string>>();
  footerColumns.set(db, read);
  const complete = new Set(dataFields.map((f) => f.name));
  const proven = files.map((file, i) => {
    const nullCount = parseStats(file)?.nullCount;
    if (nullCount != null && dataFields.every((f) => typeof nullCount[f.name] === 'number')) return complete;
    return read.get(locals[i]!);
  });
  const unread = [...new Set(locals.filter((_, i) => proven[i] === undefined))];
  if (unread.length > 0) {
    // parquet_schema: each file's schema tree in order, the root first; its children are the columns
    const rows = await db.all<{ file_name: string; name: string; num_children: string | null }>(
      `SELECT file_name, name, num_children FROM parquet_schema([${unread.map(quoteLiteral).join(', ')}])`,
    );
    const trees = new Map<string, (typeof rows)[number][]>();
    for (const row of rows) {
      const tree = trees.get(row.file_name);
      if (tree) tree.push(row);
      else trees.set(row.file_name, [row]);
    }
    for (const [file, tree] of trees) read.set(file, topLevelNames(tree));
  }
  // a column the table no longer has (or never had) does not split the files into more reads
  return proven.map(
    (columns, i) =>
      columns ?? new Set([...(read.get(locals[i]!) ?? [])].filter((name) => complete.has(name))),
  );
}

const footerColumns = new WeakMap<DuckDb, Map<string, ReadonlySet<string>>>();

/** The names of the root's children in a Parquet schema tree listed depth first. */
function topLevelNames(tree: readonly { name: string; num_children: string | null }[]): Set<string> {
  const names = new Set<string>();
  const skip = (i: number): number => {
    let next = i + 1;
    for (let child = 0; child < Number(tree[i]?.num_children ?? 0); child++) next = skip(next);
    return next;
  };
  let at = 1;
  for (let column = 0; column < Number(tree[0]?.num_children ?? 0); column++) {
    if (tree[at]) names.add(tree[at]!.name);
    at = skip(at);
  }
  return names;
}

/** Consecutive files holding the same data columns (in the files' order, which the view keeps). */
function runsOfSameColumns(
  locals: readonly string[],
  held: readonly ReadonlySet<string>[],
): { locals: string[]; columns: ReadonlySet<string>; unionByName: boolean }[] {
  const runs: { locals: string[]; columns: ReadonlySet<string>; unionByName: boolean }[] = [];
  const same = (a: ReadonlySet<string>, b: ReadonlySet<string>) =>
    a.size === b.size && [...a].every((c) => b.has(c));
  locals.forEach((local, i) => {
    const last = runs.at(-1);
    if (last && same(last.columns, held[i]!)) last.locals.push(local);
    else runs.push({ locals: [local], columns: held[i]!, unionByName: false });
  });
  return runs;
}

/** A struct (at any depth) may have gained fields in newer files: only union_by_name reads both. */
function canGainFields(type: DeltaType): boolean {
  if (isPrimitive(type)) return false;
  if (type.type === 'struct') return true;
  if (type.type === 'array') return canGainFields(type.elementType);
  return canGainFields(type.keyType) || canGainFields(type.valueType);
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

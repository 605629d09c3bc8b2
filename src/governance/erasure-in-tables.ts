import { isIdentityColumn } from '../catalog/column-privacy.js';
import { quoteLiteral } from '../engine/duckdb.js';
import { isShopstreamError } from '../errors.js';
import { type Action, type AddFile, recordsIn, toRemove } from '../lake/log/actions.js';
import type { CommitProperties } from '../lake/log/delta-log.js';
import { fileKey, type Snapshot } from '../lake/log/snapshot.js';
import { unreferencedDataFiles } from '../lake/operations/vacuum.js';
import { writeDataFiles } from '../lake/table/data-writer.js';
import type { DeltaTable } from '../lake/table/delta-table.js';
import type { Lake } from '../lake/table/lake.js';
import { dataFileLocalPath, registerSnapshot } from '../lake/table/table-scan.js';
import {
  redacted,
  type TableMatch,
  tableMatch,
  touchedPredicate,
  userPredicate,
} from './erasure-predicates.js';
import type { TableDeletion } from './erasure-receipt.js';

const MAX_ATTEMPTS = 3;

/**
 * Deletes the users' rows from one table (redacting ids quoted in other rows' text) and physically
 * deletes the superseded files holding them; retried on a conflicting concurrent commit. Returns
 * the table's columns as read, for the warehouse copy.
 */
export async function forgetInTable(
  lake: Lake,
  table: DeltaTable,
  users: number,
  commitProperties: CommitProperties,
): Promise<{
  readonly deletion?: Omit<TableDeletion, 'checkpointVersion' | 'logFilesDeleted'>;
  readonly columns: ReadonlySet<string>;
}> {
  for (let attempt = 1; ; attempt++) {
    const snapshot = await table.snapshot();
    const columns = new Set(snapshot.schema.fields.map((f) => f.name));
    const match = tableMatch(snapshot);
    if (!touchedPredicate(match)) return { columns };
    try {
      const deleted = await deleteRows(lake, table, snapshot, match, users, commitProperties);
      const purged = await purgeSuperseded(lake, table, deleted.removedPaths);
      // tables without user columns are listed only when an id quoted in their text was erased
      if (!match.identity && deleted.result.version === null && purged.length === 0) return { columns };
      return { deletion: { ...deleted.result, filesPurged: purged }, columns };
    } catch (error) {
      // a concurrent commit removed a file we rewrote (compaction): redo from the new snapshot
      if (attempt < MAX_ATTEMPTS && isShopstreamError(error) && error.kind === 'conflict') continue;
      throw error;
    }
  }
}

type RowsResult = Omit<TableDeletion, 'filesPurged' | 'checkpointVersion' | 'logFilesDeleted'>;

/**
 * One commit rewriting the files that hold the users: their rows deleted, ids quoted in other rows'
 * text (an ingest error in audit_log, a URL) replaced by `[erased]`, every other row copied. A
 * table marked `delta.appendOnly` (audit_log) is rewritten too: erasure overrides it.
 */
async function deleteRows(
  lake: Lake,
  table: DeltaTable,
  snapshot: Snapshot,
  match: TableMatch,
  users: number,
  commitProperties: CommitProperties,
): Promise<{ result: RowsResult; removedPaths: string[] }> {
  const db = lake.db;
  const touched = touchedPredicate(match)!;
  const identity = match.identity ?? 'false';
  const none = {
    result: {
      table: table.name,
      version: null,
      rowsDeleted: 0,
      rowsRedacted: 0,
      filesRemoved: 0,
      filesAdded: 0,
      filesScanned: snapshot.files.length,
    },
    removedPaths: [],
  };
  if (snapshot.files.length === 0) return none;
  await registerSnapshot(db, lake.store, table.tableKey, snapshot, '__gdpr_scan', snapshot.files, {
    fileColumn: '__lake_file',
  });
  const hits = await db.all<{ file: string; deleted: string; n: string }>(
    `SELECT __lake_file AS file, count(*) FILTER (WHERE ${identity}) AS deleted, count(*) AS n
     FROM __gdpr_scan WHERE ${touched} GROUP BY 1`,
  );
  await db.run('DROP VIEW __gdpr_scan');
  if (hits.length === 0) return none;
  const hitFiles = new Set(hits.map((h) => h.file));
  const affected: AddFile[] = snapshot.files.filter((f) => hitFiles.has(f.path));
  const rowsDeleted = hits.reduce((sum, h) => sum + Number(h.deleted), 0);
  const rowsRedacted = hits.reduce((sum, h) => sum + Number(h.n) - Number(h.deleted), 0);

  await registerSnapshot(db, lake.store, table.tableKey, snapshot, '__gdpr_affected', affected);
  const replace =
    match.textColumns.length === 0 ? '' : ` REPLACE (${match.textColumns.map(redacted).join(', ')})`;
  await db.run(
    `CREATE OR REPLACE TEMP VIEW __gdpr_keep AS SELECT *${replace} FROM __gdpr_affected WHERE NOT (${identity})`,
  );
  const added = await writeDataFiles(db, lake.store, table.tableKey, '__gdpr_keep', {
    schema: snapshot.schema,
    partitionColumns: snapshot.partitionColumns,
  });
  await db.run('DROP VIEW __gdpr_keep');
  await db.run('DROP VIEW __gdpr_affected');
  const now = Date.now();
  const actions: Action[] = [
    ...affected.map((file) => ({ remove: toRemove(file, now, true) })),
    ...added.map((add) => ({ add })),
  ];
  const copied = recordsIn(added);
  const version = await table.log.commit({
    readVersion: snapshot.version,
    actions,
    operation: 'DELETE',
    // never the ids: the log is immutable
    parameters: { predicate: `gdpr forget (${users} user${users === 1 ? '' : 's'})` },
    metrics: {
      numRemovedFiles: affected.length,
      numAddedFiles: added.length,
      numDeletedRows: rowsDeleted,
      numCopiedRows: copied,
      numRedactedRows: rowsRedacted,
    },
    scope: { kind: 'compact' },
    properties: commitProperties,
  });
  return {
    result: {
      table: table.name,
      version,
      rowsDeleted,
      rowsRedacted,
      filesRemoved: affected.length,
      filesAdded: added.length,
      filesScanned: snapshot.files.length,
    },
    removedPaths: affected.map((f) => f.path),
  };
}

/**
 * Physically deletes the table's data files that no longer belong to the latest version and still
 * hold the users: the files this forget just removed, and older superseded files (kept for time
 * travel) that a scan finds them in. Files without the users stay, and so does their history.
 */
async function purgeSuperseded(
  lake: Lake,
  table: DeltaTable,
  justRemoved: readonly string[],
): Promise<string[]> {
  const known = new Set(justRemoved.map(fileKey));
  const prefix = `${table.tableKey}/`;
  const candidates = (await unreferencedDataFiles(lake, table, await table.snapshot()))
    .map((f) => f.relative)
    .filter((relative) => relative.endsWith('.parquet') && !known.has(relative));
  const doomed = [...known];
  if (candidates.length > 0) {
    const locals = await Promise.all(candidates.map((c) => dataFileLocalPath(lake.store, table.tableKey, c)));
    const list = `[${locals.map(quoteLiteral).join(', ')}]`;
    const described = await lake.db.all<{ column_name: string; column_type: string }>(
      `DESCRIBE SELECT * FROM read_parquet(${list}, union_by_name = true, hive_partitioning = false)`,
    );
    const predicate = touchedPredicate({
      identity: userPredicate(new Set(described.map((c) => c.column_name))),
      textColumns: described
        .filter((c) => c.column_type === 'VARCHAR' && !isIdentityColumn(c.column_name))
        .map((c) => c.column_name),
    });
    if (predicate) {
      const found = await lake.db.all<{ filename: string }>(
        `SELECT DISTINCT filename FROM read_parquet(${list}, filename = true, union_by_name = true, hive_partitioning = false) WHERE ${predicate}`,
      );
      const hit = new Set(found.map((f) => f.filename));
      candidates.forEach((candidate, i) => {
        if (hit.has(locals[i]!)) doomed.push(candidate);
      });
    }
  }
  for (const relative of doomed) await lake.store.delete(`${prefix}${relative}`);
  return doomed.sort();
}

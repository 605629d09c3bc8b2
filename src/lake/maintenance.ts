import { ShopstreamError, usageError } from '../errors.js';
import { joinKey, type ObjectInfo } from '../storage/object-store.js';
import { STALE_AFTER_MS } from '../storage/staging.js';
import type { Action, AddFile, PartitionValues, RemoveFile } from './actions.js';
import { writeDataFiles } from './data-writer.js';
import { parseDurationMs } from './delta-log.js';
import type { DeltaTable } from './delta-table.js';
import type { Lake } from './lake.js';
import { checkpointFileName, LOG_DIR, parseLogFileName } from './log-files.js';
import { decodeDataPath } from './paths.js';
import { fileKey, type Snapshot } from './snapshot.js';
import { registerSnapshot } from './table-scan.js';

const HOUR_MS = 3_600_000;
const DEFAULT_RETENTION_HOURS = 168;
const DEFAULT_LOG_RETENTION_MS = 30 * 24 * HOUR_MS;

export interface OptimizeOptions {
  /** Files at or above this size are left alone; compacted output rolls over at it. */
  readonly targetFileSizeBytes?: number;
}

export interface OptimizeResult {
  readonly version: number | null;
  readonly partitionsCompacted: number;
  readonly filesRemoved: number;
  readonly filesAdded: number;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
}

/**
 * Compacts each partition's small files into files of about the target size. The commit adds and
 * removes with dataChange=false, so readers and incremental consumers see no change of data, and it
 * does not block appends: it conflicts only if another writer removed one of the files it read.
 */
export async function optimizeTable(
  lake: Lake,
  name: string,
  options: OptimizeOptions = {},
): Promise<OptimizeResult> {
  const target = options.targetFileSizeBytes ?? 128 * 1024 * 1024;
  const table = lake.table(name);
  const snapshot = await table.snapshot();
  const groups = new Map<string, AddFile[]>();
  for (const file of snapshot.files) {
    if (file.size >= target) continue;
    const key = JSON.stringify(snapshot.partitionColumns.map((c) => file.partitionValues[c] ?? null));
    groups.set(key, [...(groups.get(key) ?? []), file]);
  }
  const now = Date.now();
  const actions: Action[] = [];
  let partitions = 0;
  let bytesBefore = 0;
  let bytesAfter = 0;
  let added = 0;
  for (const files of groups.values()) {
    if (files.length < 2) continue;
    partitions++;
    const partition: PartitionValues = Object.fromEntries(
      snapshot.partitionColumns.map((c) => [c, files[0]!.partitionValues[c] ?? null]),
    );
    await registerSnapshot(lake.db, lake.store, table.tableKey, snapshot, '__optimize_input', files);
    const adds = await writeDataFiles(lake.db, lake.store, table.tableKey, '__optimize_input', {
      schema: snapshot.schema,
      partitionColumns: snapshot.partitionColumns,
      fixedPartition: partition,
      targetFileSize: `${Math.max(1, Math.floor(target / 1024 / 1024))}MB`,
    });
    for (const file of files) {
      bytesBefore += file.size;
      actions.push({ remove: toRemove(file, now, false) });
    }
    for (const add of adds) {
      bytesAfter += add.size;
      actions.push({ add: { ...add, dataChange: false } });
    }
    added += adds.length;
  }
  await lake.db.run('DROP VIEW IF EXISTS __optimize_input');
  if (actions.length === 0)
    return {
      version: null,
      partitionsCompacted: 0,
      filesRemoved: 0,
      filesAdded: 0,
      bytesBefore: 0,
      bytesAfter: 0,
    };
  const version = await table.log.commit({
    readVersion: snapshot.version,
    actions,
    operation: 'OPTIMIZE',
    parameters: { targetSize: String(target) },
    metrics: {
      numRemovedFiles: actions.length - added,
      numAddedFiles: added,
      numRemovedBytes: bytesBefore,
      numAddedBytes: bytesAfter,
    },
    scope: { kind: 'compact' },
  });
  return {
    version,
    partitionsCompacted: partitions,
    filesRemoved: actions.length - added,
    filesAdded: added,
    bytesBefore,
    bytesAfter,
  };
}

export interface VacuumOptions {
  readonly retentionHours?: number;
  readonly dryRun?: boolean;
  /** Allow a retention shorter than the table's (default 7 days): time travel past it breaks. */
  readonly force?: boolean;
}

export interface VacuumResult {
  readonly dryRun: boolean;
  readonly retentionHours: number;
  readonly files: readonly string[];
  readonly bytes: number;
}

/**
 * Deletes data files the latest snapshot does not reference and that were removed (or written)
 * longer ago than the retention. Skips `_delta_log/` and every path with a segment starting with
 * `_` or `.`, as Delta's VACUUM does.
 */
export async function vacuumTable(
  lake: Lake,
  name: string,
  options: VacuumOptions = {},
): Promise<VacuumResult> {
  const table = lake.table(name);
  const snapshot = await table.snapshot();
  const configured = parseDurationMs(snapshot.metadata.configuration['delta.deletedFileRetentionDuration']);
  const minimumHours = (configured ?? DEFAULT_RETENTION_HOURS * HOUR_MS) / HOUR_MS;
  const retentionHours = options.retentionHours ?? minimumHours;
  if (retentionHours < minimumHours && !options.force) {
    throw usageError(
      'VACUUM_RETENTION',
      `a retention of ${retentionHours}h is shorter than the table's ${minimumHours}h: readers time-travelling or still reading older versions would lose files`,
      {
        suggestions: ['pass --force if no reader needs versions older than that'],
      },
    );
  }
  const cutoff = Date.now() - retentionHours * HOUR_MS;
  const removedAt = new Map(snapshot.tombstones.map((t) => [fileKey(t.path), t.deletionTimestamp ?? 0]));
  const prefix = `${table.tableKey}/`;
  const doomed: { key: string; size: number }[] = [];
  for (const { relative, info } of await unreferencedDataFiles(lake, table, snapshot)) {
    const removed = removedAt.get(relative);
    const age = removed ?? info.lastModified;
    if (age < cutoff) doomed.push({ key: info.key, size: info.size });
  }
  if (!options.dryRun) {
    for (const file of doomed) await lake.store.delete(file.key);
  }
  return {
    dryRun: Boolean(options.dryRun),
    retentionHours,
    files: doomed.map((f) => f.key.slice(prefix.length)).sort(),
    bytes: doomed.reduce((sum, f) => sum + f.size, 0),
  };
}

/**
 * The files in a table's folder that `snapshot` does not reference (tombstones and orphans), with
 * their paths relative to the table. Skips `_delta_log/` and every path with a segment starting with
 * `_` or `.`, as Delta's VACUUM does.
 */
export async function unreferencedDataFiles(
  lake: Lake,
  table: DeltaTable,
  snapshot: Snapshot,
): Promise<{ readonly relative: string; readonly info: ObjectInfo }[]> {
  const live = new Set(snapshot.files.map((f) => fileKey(f.path)));
  const prefix = `${table.tableKey}/`;
  const out: { relative: string; info: ObjectInfo }[] = [];
  for (const info of await lake.store.list(prefix)) {
    const relative = info.key.slice(prefix.length);
    if (relative.split('/').some((segment) => segment.startsWith('_') || segment.startsWith('.'))) continue;
    if (!live.has(relative)) out.push({ relative, info });
  }
  return out;
}

export interface CheckpointResult {
  readonly version: number;
  readonly logFilesDeleted: readonly string[];
}

/**
 * Writes a checkpoint of the latest version, then deletes log files older than
 * `delta.logRetentionDuration` (30 days by default) that the checkpoint makes unnecessary, and
 * temp files of killed writers older than a day.
 */
export async function checkpointTable(lake: Lake, name: string, now = Date.now()): Promise<CheckpointResult> {
  const table = lake.table(name);
  const version = await table.log.checkpoint();
  const snapshot = await table.snapshot({ version });
  const retention =
    parseDurationMs(snapshot.metadata.configuration['delta.logRetentionDuration']) ??
    DEFAULT_LOG_RETENTION_MS;
  const deleted: string[] = [];
  const logPrefix = `${joinKey(table.tableKey, LOG_DIR)}/`;
  for (const info of await lake.store.list(logPrefix)) {
    const entry = info.key.slice(logPrefix.length);
    // a put's temp file (`.<name>.<uuid>.tmp`) left by a killed writer: readers ignore it, remove it
    if (/^\.[^/]+\.tmp$/.test(entry)) {
      if (info.lastModified < now - STALE_AFTER_MS) {
        await lake.store.delete(info.key);
        deleted.push(entry);
      }
      continue;
    }
    const file = parseLogFileName(entry);
    if (!file || file.version >= version || info.lastModified >= now - retention) continue;
    if (file.kind === 'checkpoint' && file.name === checkpointFileName(version)) continue;
    await lake.store.delete(info.key);
    deleted.push(file.name);
  }
  return { version, logFilesDeleted: deleted.sort() };
}

export interface RestoreResult {
  readonly version: number;
  readonly restoredTo: number;
  readonly filesAdded: number;
  readonly filesRemoved: number;
}

/** Makes the latest version equal to an earlier one: re-adds its files and removes the others. */
export async function restoreTable(lake: Lake, name: string, toVersion: number): Promise<RestoreResult> {
  const table = lake.table(name);
  const current = await table.snapshot();
  const target = await table.snapshot({ version: toVersion });
  const currentFiles = new Map(current.files.map((f) => [fileKey(f.path), f]));
  const targetFiles = new Map(target.files.map((f) => [fileKey(f.path), f]));
  const now = Date.now();
  const actions: Action[] = [];
  if (
    target.metadata.schemaString !== current.metadata.schemaString ||
    JSON.stringify(target.metadata.partitionColumns) !== JSON.stringify(current.metadata.partitionColumns)
  ) {
    actions.push({ metaData: target.metadata });
  }
  for (const [key, file] of targetFiles) {
    if (currentFiles.has(key)) continue;
    if (!(await lake.store.head(joinKey(table.tableKey, decodeDataPath(file.path))))) {
      throw new ShopstreamError(
        'data',
        'RESTORE_FILES_GONE',
        `cannot restore ${name} to version ${toVersion}: its file ${file.path} was vacuumed`,
      );
    }
    actions.push({ add: { ...file, dataChange: true, modificationTime: now } });
  }
  let removed = 0;
  for (const [key, file] of currentFiles) {
    if (targetFiles.has(key)) continue;
    actions.push({ remove: toRemove(file, now, true) });
    removed++;
  }
  const version = await table.log.commit({
    readVersion: current.version,
    actions,
    operation: 'RESTORE',
    parameters: { version: toVersion },
    metrics: { numRestoredFiles: actions.length - removed, numRemovedFiles: removed },
    scope: { kind: 'rewrite' },
  });
  return {
    version,
    restoredTo: toVersion,
    filesAdded: actions.filter((a) => 'add' in a).length,
    filesRemoved: removed,
  };
}

export function toRemove(file: AddFile, now: number, dataChange: boolean): RemoveFile {
  return {
    path: file.path,
    deletionTimestamp: now,
    dataChange,
    extendedFileMetadata: true,
    partitionValues: file.partitionValues,
    size: file.size,
  };
}

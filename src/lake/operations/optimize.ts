import { type Action, type AddFile, type PartitionValues, toRemove } from '../log/actions.js';
import type { CommitProperties } from '../log/delta-log.js';
import { writeDataFiles } from '../table/data-writer.js';
import type { Lake } from '../table/lake.js';
import { registerSnapshot } from '../table/table-scan.js';

export interface OptimizeOptions {
  /** Files at or above this size are left alone; compacted output rolls over at it. */
  readonly targetFileSizeBytes?: number;
  /** The caller's run id (and other commitInfo fields) for the OPTIMIZE commit. */
  readonly commitProperties?: CommitProperties;
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
    ...(options.commitProperties ? { properties: options.commitProperties } : {}),
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

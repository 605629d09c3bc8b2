import { ShopstreamError } from '../../errors.js';
import { joinKey } from '../../storage/object-store.js';
import { type Action, toRemove } from '../log/actions.js';
import type { CommitProperties } from '../log/delta-log.js';
import { fileKey } from '../log/snapshot.js';
import type { Lake } from '../table/lake.js';
import { decodeDataPath } from '../table/paths.js';

export interface RestoreResult {
  readonly version: number;
  readonly restoredTo: number;
  readonly filesAdded: number;
  readonly filesRemoved: number;
}

/**
 * Makes the latest version equal to an earlier one: re-adds its files and removes the others, in one
 * RESTORE commit carrying `commitProperties` (the caller's run id).
 */
export async function restoreTable(
  lake: Lake,
  name: string,
  toVersion: number,
  commitProperties?: CommitProperties,
): Promise<RestoreResult> {
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
    ...(commitProperties ? { properties: commitProperties } : {}),
  });
  return {
    version,
    restoredTo: toVersion,
    filesAdded: actions.filter((a) => 'add' in a).length,
    filesRemoved: removed,
  };
}

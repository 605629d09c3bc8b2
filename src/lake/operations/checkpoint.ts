import { joinKey } from '../../storage/object-store.js';
import { STALE_AFTER_MS } from '../../storage/staging.js';
import { parseDeltaIntervalMs } from '../../util/durations.js';
import { checkpointFileName, LOG_DIR, parseLogFileName } from '../log/log-files.js';
import type { Lake } from '../table/lake.js';

const DEFAULT_LOG_RETENTION_MS = 30 * 24 * 3_600_000;

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
    parseDeltaIntervalMs(snapshot.metadata.configuration['delta.logRetentionDuration']) ??
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

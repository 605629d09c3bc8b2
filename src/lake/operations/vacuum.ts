import { usageError } from '../../errors.js';
import type { ObjectInfo } from '../../storage/object-store.js';
import { parseDeltaIntervalMs } from '../../util/durations.js';
import { fileKey, type Snapshot } from '../log/snapshot.js';
import type { DeltaTable } from '../table/delta-table.js';
import type { Lake } from '../table/lake.js';

const HOUR_MS = 3_600_000;
const DEFAULT_RETENTION_HOURS = 168;

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
  const configured = parseDeltaIntervalMs(
    snapshot.metadata.configuration['delta.deletedFileRetentionDuration'],
  );
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

import { defaultLoadTables } from '../catalog/catalog.js';
import { MART_NAMES } from '../catalog/tables/marts.js';
import type { AddFile } from '../lake/log/actions.js';
import { fileKey, type Snapshot } from '../lake/log/snapshot.js';
import type { Lake } from '../lake/table/lake.js';
import { currentRun } from '../runtime/run-context.js';
import type { Warehouse } from './warehouse.js';

export interface LoadOptions {
  /** Tables to load; default: every mart (and raw_events with `includeRaw`). */
  readonly tables?: readonly string[];
  readonly includeRaw?: boolean;
  readonly fullRefresh?: boolean;
  readonly runId?: string;
}

export interface TableLoad {
  readonly table: string;
  readonly mode: 'full' | 'incremental' | 'up-to-date';
  readonly fromVersion: number | null;
  readonly toVersion: number;
  readonly filesAdded: number;
  readonly filesRemoved: number;
  readonly rowsInserted: number;
  readonly rowsDeleted: number;
  readonly columnsAdded: readonly string[];
}

export interface LoadSummary {
  readonly runId: string;
  readonly warehouse: string;
  readonly tables: readonly TableLoad[];
  readonly durationMs: number;
}

/** The marts, in build order: what `load` moves by default (the table catalog lists them). */
export function martNames(): string[] {
  return [...MART_NAMES];
}

/**
 * Loads lake tables into the warehouse incrementally by Delta version: the difference between the
 * files of the version last loaded and of the latest (removed files' rows deleted, added files'
 * rows inserted), with the control row, in one warehouse transaction per table. A rerun finds the
 * control row at the latest version and loads nothing; a crash before commit loads it all again,
 * once.
 */
export async function loadWarehouse(
  lake: Lake,
  warehouse: Warehouse,
  options: LoadOptions = {},
): Promise<LoadSummary> {
  const started = Date.now();
  const runId = options.runId ?? currentRun.id;
  const available = new Set(await lake.tableNames());
  const wanted = options.tables ?? defaultLoadTables({ includeRaw: options.includeRaw ?? false });
  const results: TableLoad[] = [];
  for (const table of wanted.filter((t) => available.has(t))) {
    const lakeTable = lake.table(table);
    const latest = await lakeTable.snapshot();
    const loaded = await warehouse.loadedVersion(table);
    if (!options.fullRefresh && loaded === latest.version) {
      results.push({
        table,
        mode: 'up-to-date',
        fromVersion: loaded,
        toVersion: latest.version,
        filesAdded: 0,
        filesRemoved: 0,
        rowsInserted: 0,
        rowsDeleted: 0,
        columnsAdded: [],
      });
      continue;
    }
    let previous: Snapshot | undefined;
    if (!options.fullRefresh && loaded !== undefined && loaded < latest.version) {
      // the old version may be unreadable (log cleaned up past it): then reload the table whole
      previous = await lakeTable.snapshot({ version: loaded }).catch(() => undefined);
    }
    const replace = previous === undefined || !columnsCompatible(previous, latest);
    const before = new Set((replace ? [] : previous!.files).map((f) => fileKey(f.path)));
    const after = new Set(latest.files.map((f) => fileKey(f.path)));
    const added: AddFile[] = latest.files.filter((f) => !before.has(fileKey(f.path)));
    const removed = replace
      ? []
      : previous!.files.filter((f) => !after.has(fileKey(f.path))).map((f) => f.path);
    const applied = await warehouse.applyLoad({
      table,
      snapshot: latest,
      schema: latest.schema,
      replace,
      addedFiles: added,
      removedPaths: removed,
      runId,
    });
    results.push({
      table,
      mode: replace ? 'full' : 'incremental',
      fromVersion: replace ? null : loaded!,
      toVersion: latest.version,
      filesAdded: added.length,
      filesRemoved: removed.length,
      ...applied,
    });
  }
  currentRun.record({ rowsOut: results.reduce((sum, t) => sum + t.rowsInserted, 0) });
  return { runId, warehouse: warehouse.kind, tables: results, durationMs: Date.now() - started };
}

/** Loading on top of the old version works when every old column keeps its type (new ones may come). */
function columnsCompatible(previous: Snapshot, latest: Snapshot): boolean {
  const now = new Map(latest.schema.fields.map((f) => [f.name, JSON.stringify(f.type)]));
  return previous.schema.fields.every((f) => now.get(f.name) === JSON.stringify(f.type));
}

import { randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type DuckDb, quoteLiteral } from '../../engine/duckdb.js';
import type { Action, AddFile } from './actions.js';
import type { Snapshot } from './snapshot.js';

/**
 * Classic (V1) Parquet checkpoints: one row per action, with top-level struct columns txn, add,
 * remove, metaData and protocol. Written and read through DuckDB so nested types round-trip as
 * Parquet structs and maps that Spark and delta-rs read.
 */

const ACTION_COLUMNS = ['txn', 'add', 'remove', 'metaData', 'protocol'] as const;

const CHECKPOINT_TYPES: Record<(typeof ACTION_COLUMNS)[number], string> = {
  txn: 'STRUCT(appId VARCHAR, "version" BIGINT, lastUpdated BIGINT)',
  add: 'STRUCT(path VARCHAR, partitionValues MAP(VARCHAR, VARCHAR), size BIGINT, modificationTime BIGINT, dataChange BOOLEAN, tags MAP(VARCHAR, VARCHAR), stats VARCHAR)',
  remove:
    'STRUCT(path VARCHAR, deletionTimestamp BIGINT, dataChange BOOLEAN, extendedFileMetadata BOOLEAN, partitionValues MAP(VARCHAR, VARCHAR), size BIGINT)',
  metaData:
    'STRUCT(id VARCHAR, "name" VARCHAR, description VARCHAR, format STRUCT(provider VARCHAR, "options" MAP(VARCHAR, VARCHAR)), schemaString VARCHAR, partitionColumns VARCHAR[], "configuration" MAP(VARCHAR, VARCHAR), createdTime BIGINT)',
  protocol: 'STRUCT(minReaderVersion INTEGER, minWriterVersion INTEGER)',
};

/** Reads the actions of one checkpoint part (a local Parquet file). */
export async function readCheckpointFile(db: DuckDb, localPath: string): Promise<Action[]> {
  const described = await db.all<{ column_name: string }>('DESCRIBE SELECT * FROM read_parquet($1)', [
    localPath,
  ]);
  const present = new Set(described.map((c) => c.column_name));
  const columns = ACTION_COLUMNS.filter((c) => present.has(c));
  const select = columns.map((c) => `to_json("${c}") AS "${c}"`).join(', ');
  const where = columns.map((c) => `"${c}" IS NOT NULL`).join(' OR ');
  const rows = await db.all<Record<string, string | null>>(
    `SELECT ${select} FROM read_parquet($1) WHERE ${where}`,
    [localPath],
  );
  const actions: Action[] = [];
  for (const row of rows) {
    for (const column of columns) {
      const value = row[column];
      if (value == null) continue;
      const parsed = JSON.parse(value) as Record<string, unknown>;
      // A struct whose key fields are null is an empty slot in a wide row, not an action.
      if (column === 'add' || column === 'remove') {
        if (parsed.path == null) continue;
        if (column === 'add' && parsed.partitionValues == null) parsed.partitionValues = {};
      }
      if (column === 'txn' && parsed.appId == null) continue;
      if (column === 'metaData' && parsed.id == null) continue;
      if (column === 'protocol' && parsed.minReaderVersion == null) continue;
      actions.push({ [column]: stripNulls(parsed) } as unknown as Action);
    }
  }
  return actions;
}

function stripNulls(value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) if (v !== null) out[key] = v;
  return out;
}

/**
 * The actions a checkpoint of `snapshot` must hold: protocol, metaData, txns, live adds, tombstones;
 * the adds without min/max of the columns `withoutMinMax` names.
 */
export function checkpointActions(
  snapshot: Snapshot,
  tombstoneRetentionMs: number,
  now: number,
  withoutMinMax: (column: string) => boolean = () => false,
): Action[] {
  const actions: Action[] = [{ protocol: snapshot.protocol }, { metaData: snapshot.metadata }];
  for (const txn of snapshot.txns.values()) actions.push({ txn });
  for (const add of snapshot.files)
    actions.push({ add: { ...withoutPersonalStats(add, withoutMinMax), dataChange: false } });
  for (const remove of snapshot.tombstones) {
    const deletedAt = remove.deletionTimestamp ?? 0;
    if (now - deletedAt <= tombstoneRetentionMs) actions.push({ remove: { ...remove, dataChange: false } });
  }
  return actions;
}

/**
 * The add without min/max of personal and free-text columns: files written before those columns
 * lost their statistics keep them in old commits; a checkpoint (then log cleanup) drops them.
 */
function withoutPersonalStats(add: AddFile, withoutMinMax: (column: string) => boolean): AddFile {
  if (!add.stats) return add;
  let stats: { minValues?: Record<string, unknown>; maxValues?: Record<string, unknown> };
  try {
    stats = JSON.parse(add.stats);
  } catch {
    return add;
  }
  const strip = (values: Record<string, unknown> | undefined) =>
    values && Object.fromEntries(Object.entries(values).filter(([column]) => !withoutMinMax(column)));
  const cleaned = { ...stats, minValues: strip(stats.minValues), maxValues: strip(stats.maxValues) };
  const text = JSON.stringify(cleaned);
  return text === JSON.stringify(stats) ? add : { ...add, stats: text };
}

/**
 * Writes `actions` as a Parquet checkpoint at `localPath` (in a private staging folder: the actions'
 * stats hold column values); returns the row count.
 */
export async function writeCheckpointFile(
  db: DuckDb,
  actions: readonly Action[],
  localPath: string,
): Promise<number> {
  const jsonPath = path.join(path.dirname(localPath), `${randomUUID()}.ndjson`);
  try {
    await writeFile(jsonPath, `${actions.map((a) => JSON.stringify(a)).join('\n')}\n`);
    const columns = ACTION_COLUMNS.map((c) => `'${c}': '${CHECKPOINT_TYPES[c].replaceAll("'", "''")}'`).join(
      ', ',
    );
    await db.run(
      `COPY (SELECT * FROM read_json(${quoteLiteral(jsonPath)}, format = 'newline_delimited', columns = {${columns}}))
       TO ${quoteLiteral(localPath)} (FORMAT parquet, COMPRESSION zstd)`,
    );
    return actions.length;
  } finally {
    await rm(jsonPath, { force: true });
  }
}

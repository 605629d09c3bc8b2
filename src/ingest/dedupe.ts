import type { DuckDb } from '../engine/duckdb.js';
import type { Snapshot } from '../lake/log/snapshot.js';
import type { DeltaTable } from '../lake/table/delta-table.js';
import { BAD, EXTENSIONS, STAGED } from './stage.js';

/**
 * Ingest, step 2 of 3 (stage → dedupe → commit): which staged rows are new events. An event_id
 * lands once: the first occurrence in the batch (by file, then line) wins, and none already in the
 * days (dt partitions) the batch touches. GOOD is that relation, what the commit writes.
 */
export const GOOD = '__ingest_good';
/** The table's files of the touched days, as of the snapshot the write is checked against. */
export const EXISTING = '__ingest_existing';
const REPEATS = '__ingest_repeats';

export interface BatchCounts {
  /** Records read: good staged rows and refused ones. */
  readonly read: number;
  readonly quarantined: number;
  /** The dt/hour partitions of the good rows, in order. */
  readonly partitions: readonly { readonly dt: string; readonly hour: number }[];
}

export async function countBatch(db: DuckDb): Promise<BatchCounts> {
  const [counts] = await db.all<{ read: string; bad: string }>(
    `SELECT (SELECT count(*) FROM ${STAGED} WHERE error_reason IS NULL) + (SELECT count(*) FROM ${BAD}) AS read,
            (SELECT count(*) FROM ${BAD}) AS bad`,
  );
  const partitions = await db.all<{ dt: string; hour: number }>(
    `SELECT DISTINCT CAST(dt AS VARCHAR) AS dt, hour FROM ${STAGED} WHERE error_reason IS NULL ORDER BY 1, 2`,
  );
  return { read: Number(counts!.read), quarantined: Number(counts!.bad), partitions };
}

export interface Deduplication {
  /** The days GOOD is deduplicated against: the write's read predicate. */
  readonly days: ReadonlySet<string>;
  /** Points EXISTING at another snapshot's files of those days (after a concurrent commit). */
  readonly recheck: (snapshot: Snapshot) => Promise<unknown>;
}

export interface DedupeRequest {
  readonly table: DeltaTable;
  readonly snapshot: Snapshot;
  readonly days: ReadonlySet<string>;
  /** Extension column expressions over EXTENSIONS AS e (schema evolution), appended to GOOD. */
  readonly extSelect: readonly string[];
}

/**
 * Creates GOOD over the staged rows. Duplicates within the batch are rare: a hash aggregate finds
 * the event_ids staged more than once and keeps each one's first occurrence; events already in the
 * table are dropped by EXISTING, which `recheck` can move to a newer snapshot.
 */
export async function dedupeBatch(db: DuckDb, request: DedupeRequest): Promise<Deduplication> {
  const { table, days, extSelect } = request;
  const recheck = (snapshot: Snapshot) =>
    table.register(EXISTING, { version: snapshot.version }, (s) =>
      s.files.filter((f) => days.has(f.partitionValues.dt ?? '')),
    );
  await recheck(request.snapshot);
  await db.run(
    `CREATE OR REPLACE TEMP TABLE ${REPEATS} AS
     SELECT event_id, min({'file': source_file, 'line': source_line}) AS first
     FROM ${STAGED} WHERE error_reason IS NULL
     GROUP BY event_id HAVING count(*) > 1`,
  );
  await db.run(
    `CREATE OR REPLACE TEMP VIEW ${GOOD} AS
     SELECT s.* EXCLUDE (error_field, error_reason, raw)${extSelect.map((c) => `, ${c}`).join('')}
     FROM ${STAGED} AS s${
       extSelect.length > 0
         ? `\n     LEFT JOIN ${EXTENSIONS} AS e ON e.__x_file = s.source_file AND e.__x_line = s.source_line`
         : ''
     }
     LEFT JOIN ${REPEATS} AS r ON s.event_id = r.event_id
     WHERE s.error_reason IS NULL
       AND (r.event_id IS NULL OR {'file': s.source_file, 'line': s.source_line} = r.first)
       AND s.event_id NOT IN (SELECT event_id FROM ${EXISTING})`,
  );
  return { days, recheck };
}

export async function dropDedupe(db: DuckDb): Promise<void> {
  for (const view of [GOOD, EXISTING]) await db.run(`DROP VIEW IF EXISTS ${view}`);
  await db.run(`DROP TABLE IF EXISTS ${REPEATS}`);
}

import { PARTITION_COLUMNS } from '../catalog/tables/raw-events.js';
import type { DuckDb } from '../engine/duckdb.js';
import { ShopstreamError } from '../errors.js';
import { recordsIn, type Txn } from '../lake/log/actions.js';
import type { Snapshot } from '../lake/log/snapshot.js';
import type { ColumnDef } from '../lake/table/columns.js';
import type { DeltaTable, WriteResult } from '../lake/table/delta-table.js';
import { registerSnapshot } from '../lake/table/table-scan.js';
import { fileList } from './dedupe.js';
import type { EventWriter } from './event-writer.js';
import { BAD, type PendingFile } from './stage.js';

/**
 * Ingest, step 3 of 3 (stage → dedupe → commit): the quarantine, then the events, each one Delta
 * commit carrying the sources' txns, so that a rerun lands nothing twice and a crash between the
 * two commits is completed by the rerun, exactly once.
 */

const QUARANTINE_ROWS = '__ingest_quarantine';
const QUARANTINE_FILES = '__ingest_quarantine_files';
const MAX_DEDUPE_ATTEMPTS = 5;

export interface QuarantineCommit {
  readonly table: DeltaTable;
  readonly snapshot: Snapshot;
  readonly pending: readonly PendingFile[];
  readonly runId: string;
  readonly now: Date;
}

/**
 * Appends the bad records of the sources whose txn the quarantine does not hold yet (their bad
 * records are already kept otherwise). Returns the new version, or null when there was nothing new.
 */
export async function commitQuarantine(db: DuckDb, request: QuarantineCommit): Promise<number | null> {
  const { snapshot } = request;
  const files = request.pending.filter((p) => snapshot.txnVersion(p.appId) === undefined);
  if (files.length === 0) return null;
  try {
    return await appendQuarantine(db, request, files);
  } finally {
    // also when the commit fails (a conflict): the batch's refused rows leave the connection
    for (const name of [QUARANTINE_ROWS, QUARANTINE_FILES]) await db.run(`DROP TABLE IF EXISTS ${name}`);
  }
}

async function appendQuarantine(
  db: DuckDb,
  request: QuarantineCommit,
  files: readonly PendingFile[],
): Promise<number> {
  const { table, snapshot, runId, now } = request;
  await db.run(`CREATE OR REPLACE TEMP TABLE ${QUARANTINE_FILES} (source_file VARCHAR)`);
  const appender = await db.connection.createAppender(QUARANTINE_FILES, 'main', 'temp');
  for (const p of files) {
    appender.appendVarchar(p.file.path);
    appender.endRow();
  }
  appender.closeSync();
  await db.run(
    `CREATE OR REPLACE TEMP TABLE ${QUARANTINE_ROWS} AS
     SELECT source_file, source_line, error_field, error_reason, raw,
            CAST($ingested_at AS TIMESTAMPTZ) AS ingested_at, $run_id AS run_id,
            CAST(CAST($ingested_at AS TIMESTAMPTZ) AS DATE) AS ingest_date
     FROM ${BAD}
     WHERE source_file IN (SELECT source_file FROM ${QUARANTINE_FILES})`,
    { ingested_at: now.toISOString(), run_id: runId },
  );
  const result = await table.write({
    relation: QUARANTINE_ROWS,
    mode: 'append',
    txns: files.map((p) => txn(p.appId)),
    operation: 'WRITE',
    readSnapshot: snapshot,
    commitProperties: { runId, sources: files.map((p) => p.file.path) },
  });
  return result.version;
}

export interface EventsCommit {
  readonly table: DeltaTable;
  readonly snapshot: Snapshot;
  readonly pending: readonly PendingFile[];
  /** The batch's written files (event-writer.ts): rewritten when a concurrent commit landed some events. */
  readonly writer: EventWriter;
  /** The days the events were deduplicated against: the write's read predicate. */
  readonly days: ReadonlySet<string>;
  /** The event_ids the batch wrote (Parquet files), to find the ones a concurrent commit landed. */
  readonly journal: readonly string[];
  readonly runId: string;
  /** Schema evolution: columns this write adds to the table. */
  readonly addColumns: readonly ColumnDef[];
}

export interface EventsCommitted extends WriteResult {
  /** Events written (the rows of the added files). */
  readonly written: number;
}

const LANDED = '__ingest_landed';
const CONCURRENT = '__ingest_concurrent';

/**
 * Commits the batch's written files with the touched days as the write's read predicate. When a
 * concurrent commit added data to one of them, the events it landed were not checked: find them
 * in the newer snapshot's new files of those days, rewrite (or drop) only our files holding one,
 * and commit again, so two racing ingests never both land an event. A concurrent run that landed
 * one of these very sources, or too many retries, is a conflict (exit 75; the rerun resumes).
 */
export async function commitEvents(request: EventsCommit): Promise<EventsCommitted> {
  const { table, pending, writer, runId } = request;
  const readPartitions = [...request.days].map((dt) => ({ dt }));
  let readSnapshot = request.snapshot;
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await table.commitFiles(
        {
          mode: 'append',
          txns: pending.flatMap((p) =>
            p.appId === p.statId ? [txn(p.appId)] : [txn(p.appId), txn(p.statId)],
          ),
          operation: 'WRITE',
          parameters: { partitionBy: JSON.stringify(PARTITION_COLUMNS.map((c) => c.name)) },
          commitProperties: { runId, sources: pending.map((p) => p.file.path) },
          ...(request.addColumns.length > 0 ? { addColumns: request.addColumns } : {}),
          readSnapshot,
          readPartitions,
        },
        writer.files(),
      );
      return { ...result, written: recordsIn(result.added) };
    } catch (error) {
      const retry = error instanceof ShopstreamError && error.code === 'CONCURRENT_APPEND';
      if (!retry || attempt >= MAX_DEDUPE_ATTEMPTS) throw error;
      const newer = await table.snapshot();
      const landed = pending.some(
        (p) => newer.txnVersion(p.appId) !== undefined || newer.txnVersion(p.statId) !== undefined,
      );
      if (landed) throw error;
      await dropLandedEvents(table.db, request, readSnapshot, newer);
      readSnapshot = newer;
    }
  }
}

/** Rewrites (or drops) the batch's files holding events that `newer` added to the batch's days since `older`. */
async function dropLandedEvents(
  db: DuckDb,
  request: EventsCommit,
  older: Snapshot,
  newer: Snapshot,
): Promise<void> {
  const known = new Set(older.files.map((f) => f.path));
  const added = newer.files.filter((f) => !known.has(f.path) && request.days.has(f.partitionValues.dt ?? ''));
  if (added.length === 0 || request.journal.length === 0) return;
  const { table } = request;
  try {
    await registerSnapshot(db, table.store, table.tableKey, newer, CONCURRENT, added);
    await db.run(
      `CREATE OR REPLACE TEMP TABLE ${LANDED} AS
       SELECT DISTINCT event_id FROM ${CONCURRENT}
       WHERE event_id IN (SELECT event_id FROM read_parquet(${fileList(request.journal)}))`,
    );
    await request.writer.removeEvents(LANDED);
  } finally {
    await db.run(`DROP VIEW IF EXISTS ${CONCURRENT}`);
    for (const name of [LANDED, `__partition_values_${CONCURRENT}`])
      await db.run(`DROP TABLE IF EXISTS ${name}`);
  }
}

export interface QuarantineSample {
  readonly file: string;
  readonly line: number;
  readonly field: string;
  readonly reason: string;
}

/** The batch's first refused records, by file and line: what the summary and the error name. */
export async function quarantineSamples(db: DuckDb, limit = 5): Promise<QuarantineSample[]> {
  const rows = await db.all<{ file: string; line: string; field: string; reason: string }>(
    `SELECT source_file AS file, source_line AS line, error_field AS field, error_reason AS reason
     FROM ${BAD} ORDER BY source_file, source_line LIMIT ${Number(limit)}`,
  );
  return rows.map((s) => ({ file: s.file, line: Number(s.line), field: s.field, reason: s.reason }));
}

function txn(appId: string): Txn {
  return { appId, version: 0 };
}

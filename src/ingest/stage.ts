import type { DuckDb } from '../engine/duckdb.js';
import type { Snapshot } from '../lake/log/snapshot.js';
import { readAvroRecords } from './avro-source.js';
import { CHUNK, EVENT_HASH } from './dedupe.js';
import { type ExtensionColumn, extensionSql } from './event-contract-evolution.js';
import { BAD_ROWS, type ChunkSink } from './event-writer.js';
import { isUnreadableSource } from './line-reader.js';
import type { SourceFile } from './sources.js';
import { STAGE_TEMP_TABLES, stageCsvLines, stageNdjsonLines } from './stage-lines.js';
import { stageEventsSql } from './staging-sql.js';

/**
 * Ingest, step 1 of 3 (stage → dedupe → commit): every new source's records become typed rows
 * (sql/ingest/stage_events.sql), chunk by chunk, each chunk handed to a ChunkSink (event-writer.ts:
 * refused rows to BAD_ROWS, new events to data files) and then dropped; the unreadable lines are
 * rows of REJECTS; BAD is the batch's refused records, both together. A source that cannot be read
 * whole leaves nothing staged (the sink drops what it had of it).
 */
export const REJECTS = '__ingest_rejects';
export const BAD = '__ingest_bad';

/** A source staged in this batch, and the txn appIds that will mark it landed. */
export interface PendingFile {
  readonly file: SourceFile;
  /** The content fingerprint (with `--fingerprint content`), else the same as statId. */
  readonly appId: string;
  readonly statId: string;
}

export interface UnreadableSource {
  readonly file: string;
  readonly reason: string;
}

export interface StagedBatch {
  readonly pending: readonly PendingFile[];
  readonly unreadable: readonly UnreadableSource[];
}

export interface StageRequest {
  readonly files: readonly SourceFile[];
  /** The table as read: a file whose txn it holds is skipped unread. */
  readonly snapshot: Snapshot;
  readonly params: Record<string, string>;
  readonly extColumns: readonly ExtensionColumn[];
  readonly chunkLines?: number | undefined;
  readonly statAppId: (file: SourceFile) => string;
  /** The content fingerprint's appId (computed while DuckDB stages the file), when used. */
  readonly contentAppId?: ((file: SourceFile) => Promise<string>) | undefined;
  readonly onFile?: ((index: number, file: SourceFile) => void) | undefined;
  /** Takes each staged chunk (CHUNK) and forgets dropped sources. */
  readonly sink: ChunkSink;
}

/**
 * Stages the sources not landed yet, one after another. A file seen before with the same path,
 * size and mtime is skipped without reading it; with the content fingerprint, a new path's SHA-256
 * decides too (a copy already landed, or twice in the batch, is dropped after staging). A file
 * that cannot be read whole (truncated or corrupt gzip, I/O error) is left out with nothing of it
 * staged: no rows, no quarantine, no txn, so a rerun reads it again.
 */
export async function stageFiles(db: DuckDb, request: StageRequest): Promise<StagedBatch> {
  await createStaged(db);
  const pending: PendingFile[] = [];
  const unreadable: UnreadableSource[] = [];
  const seen = new Set<string>();
  // Sources in the order DuckDB compares their names (UTF-8 bytes): rows are deduplicated as they
  // are staged, so the first occurrence by (file, line) is the first one staged.
  const files = [...request.files].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
  for (const [index, file] of files.entries()) {
    const statId = request.statAppId(file);
    if (request.snapshot.txnVersion(statId) === undefined) {
      const stage = () => stageLines(db, request.params, request.extColumns, () => request.sink.chunk(index));
      const [hashed, read] = await Promise.allSettled([
        request.contentAppId ? request.contentAppId(file) : Promise.resolve(undefined),
        stageSource(db, file, stage, request.chunkLines),
      ]);
      const failure =
        read.status === 'rejected' ? read.reason : hashed.status === 'rejected' ? hashed.reason : null;
      const appId = hashed.status === 'fulfilled' && hashed.value !== undefined ? hashed.value : statId;
      if (failure !== null && !isUnreadableSource(failure)) throw failure;
      if (failure !== null || seen.has(appId) || request.snapshot.txnVersion(appId) !== undefined) {
        if (failure !== null) unreadable.push({ file: file.path, reason: (failure as Error).message });
        await unstage(db, file.path);
        await request.sink.dropSource(index, file.path);
      } else {
        seen.add(appId);
        pending.push({ file, appId, statId });
      }
    }
    request.onFile?.(index, file);
  }
  return { pending, unreadable };
}

/** The refused rows of the batch and the rejects (empty), and BAD over both. */
async function createStaged(db: DuckDb): Promise<void> {
  for (const table of [REJECTS, BAD_ROWS]) {
    await db.run(
      `CREATE OR REPLACE TEMP TABLE ${table} (source_file VARCHAR, source_line BIGINT, error_field VARCHAR, error_reason VARCHAR, raw VARCHAR)`,
    );
  }
  await db.run(
    `CREATE OR REPLACE TEMP VIEW ${BAD} AS SELECT * FROM ${BAD_ROWS} UNION ALL SELECT * FROM ${REJECTS}`,
  );
}

/** Removes the refused rows of one source (it failed, or it is a copy of a landed one). */
async function unstage(db: DuckDb, path: string): Promise<void> {
  await db.run(`DELETE FROM ${BAD_ROWS} WHERE source_file = $1`, [path]);
  await db.run(`DELETE FROM ${REJECTS} WHERE source_file = $1`, [path]);
}

/**
 * Stages one source through `stage` (stageLines), reading it as (file, line number, JSON object
 * text): NDJSON lines (in bounded, pipelined chunks), CSV rows as objects, Avro records (numbered
 * from 1) as JSON.
 */
async function stageSource(
  db: DuckDb,
  file: SourceFile,
  stage: () => Promise<void>,
  chunkLines: number | undefined,
): Promise<void> {
  const compression = file.compression === 'gzip' ? 'gzip' : 'none';
  const readPath = await file.local();
  if (file.format === 'ndjson') {
    await stageNdjsonLines(db, file.path, readPath, compression, stage, chunkLines);
  } else if (file.format === 'avro') {
    await db.run(
      'CREATE OR REPLACE TEMP TABLE __ingest_file_lines (source_file VARCHAR, line_number BIGINT, raw VARCHAR)',
    );
    const appender = await db.connection.createAppender('__ingest_file_lines', 'main', 'temp');
    let line = 0n;
    try {
      await readAvroRecords(readPath, file.path, (json) => {
        appender.appendVarchar(file.path);
        appender.appendBigInt(++line);
        appender.appendVarchar(json);
        appender.endRow();
      });
    } finally {
      appender.closeSync();
    }
    await db.run('CREATE OR REPLACE TEMP VIEW __ingest_lines AS SELECT * FROM __ingest_file_lines');
    await stage();
  } else {
    await stageCsvLines(db, file.path, readPath, compression);
    await stage();
  }
  await db.run('DROP VIEW IF EXISTS __ingest_lines');
  for (const table of STAGE_TEMP_TABLES) await db.run(`DROP TABLE IF EXISTS ${table}`);
}

/**
 * Stages the records now in __ingest_lines into CHUNK (their typed rows and `__h`, the hash of
 * the event_id dedupe uses, EVENT_HASH), reads their extension columns into __ingest_ext_file (a value that
 * does not convert quarantines its record, field = the column), and hands them to `take`.
 */
async function stageLines(
  db: DuckDb,
  params: Record<string, string>,
  extColumns: readonly ExtensionColumn[],
  take: () => Promise<void>,
): Promise<void> {
  await db.run(
    `CREATE OR REPLACE TEMP TABLE ${CHUNK} AS SELECT *, ${EVENT_HASH} AS __h FROM (${await stageEventsSql(db)}) AS s`,
    params,
  );
  if (extColumns.length > 0) {
    await db.run(extensionSql(extColumns));
    await db.run(
      `UPDATE ${CHUNK} SET error_field = e.__x_field, error_reason = e.__x_reason, raw = e.__x_raw
       FROM __ingest_ext_file AS e
       WHERE e.__x_reason IS NOT NULL AND ${CHUNK}.error_reason IS NULL
         AND ${CHUNK}.source_file = e.__x_file AND ${CHUNK}.source_line = e.__x_line`,
    );
  }
  await take();
  await db.run(`DROP TABLE ${CHUNK}`);
  await db.run('DROP TABLE IF EXISTS __ingest_ext_file');
}

/** Drops every temp object staging created (after the commits, or when nothing is pending). */
export async function dropStaged(db: DuckDb): Promise<void> {
  for (const view of [BAD, '__ingest_lines']) await db.run(`DROP VIEW IF EXISTS ${view}`);
  for (const table of [REJECTS, BAD_ROWS, CHUNK, '__ingest_ext_file', ...STAGE_TEMP_TABLES]) {
    await db.run(`DROP TABLE IF EXISTS ${table}`);
  }
}

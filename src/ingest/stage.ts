import type { DuckDb } from '../engine/duckdb.js';
import type { Snapshot } from '../lake/log/snapshot.js';
import { readAvroRecords } from './avro-source.js';
import { type ExtensionColumn, extensionSql, extensionTableSql } from './event-contract-evolution.js';
import { isUnreadableSource } from './line-reader.js';
import type { SourceFile } from './sources.js';
import { STAGE_TEMP_TABLES, stageCsvLines, stageNdjsonLines } from './stage-lines.js';
import { stageEventsSql } from './staging-sql.js';

/**
 * Ingest, step 1 of 3 (stage → dedupe → commit): every new source's records become typed rows in
 * STAGED (sql/ingest/stage_events.sql), its unreadable lines rows of REJECTS; BAD is the batch's
 * refused records, both together. A source that cannot be read whole leaves nothing staged.
 */
export const STAGED = '__ingest_staged';
export const REJECTS = '__ingest_rejects';
export const BAD = '__ingest_bad';
/** Values of extension columns (schema evolution), keyed by file and line. */
export const EXTENSIONS = '__ingest_ext';

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
}

/**
 * Stages the sources not landed yet, one after another. A file seen before with the same path,
 * size and mtime is skipped without reading it; with the content fingerprint, a new path's SHA-256
 * decides too (a copy already landed, or twice in the batch, is dropped after staging). A file
 * that cannot be read whole (truncated or corrupt gzip, I/O error) is left out with nothing of it
 * staged: no rows, no quarantine, no txn, so a rerun reads it again.
 */
export async function stageFiles(db: DuckDb, request: StageRequest): Promise<StagedBatch> {
  await createStaged(db, request.params);
  if (request.extColumns.length > 0) await db.run(extensionTableSql(request.extColumns));
  const pending: PendingFile[] = [];
  const unreadable: UnreadableSource[] = [];
  const seen = new Set<string>();
  for (const [index, file] of request.files.entries()) {
    const statId = request.statAppId(file);
    if (request.snapshot.txnVersion(statId) === undefined) {
      const [hashed, read] = await Promise.allSettled([
        request.contentAppId ? request.contentAppId(file) : Promise.resolve(undefined),
        stageSource(db, file, request.params, request.extColumns, request.chunkLines),
      ]);
      const failure =
        read.status === 'rejected' ? read.reason : hashed.status === 'rejected' ? hashed.reason : null;
      const appId = hashed.status === 'fulfilled' && hashed.value !== undefined ? hashed.value : statId;
      if (failure !== null && !isUnreadableSource(failure)) throw failure;
      if (failure !== null || seen.has(appId) || request.snapshot.txnVersion(appId) !== undefined) {
        if (failure !== null) unreadable.push({ file: file.path, reason: (failure as Error).message });
        await unstage(db, file.path, request.extColumns.length > 0);
      } else {
        seen.add(appId);
        pending.push({ file, appId, statId });
      }
    }
    request.onFile?.(index, file);
  }
  return { pending, unreadable };
}

/**
 * The staged rows of the batch (empty, typed as sql/ingest/stage_events.sql produces them), the
 * rejects, and BAD over both.
 */
async function createStaged(db: DuckDb, params: Record<string, string>): Promise<void> {
  await db.run(
    `CREATE OR REPLACE TEMP TABLE ${REJECTS} (source_file VARCHAR, source_line BIGINT, error_field VARCHAR, error_reason VARCHAR, raw VARCHAR)`,
  );
  await db.run(
    `CREATE OR REPLACE TEMP VIEW __ingest_lines AS
     SELECT CAST(NULL AS VARCHAR) AS source_file, CAST(NULL AS BIGINT) AS line_number, CAST(NULL AS VARCHAR) AS raw
     WHERE false`,
  );
  await db.run(`CREATE OR REPLACE TEMP TABLE ${STAGED} AS ${await stageEventsSql(db)}`, params);
  await db.run('DROP VIEW __ingest_lines');
  await db.run(
    `CREATE OR REPLACE TEMP VIEW ${BAD} AS
     SELECT source_file, source_line, error_field, error_reason, raw FROM ${STAGED} WHERE error_reason IS NOT NULL
     UNION ALL SELECT * FROM ${REJECTS}`,
  );
}

/** Removes what was staged of one source (it failed, or it is a copy of a landed one). */
async function unstage(db: DuckDb, path: string, extensions: boolean): Promise<void> {
  await db.run(`DELETE FROM ${STAGED} WHERE source_file = $1`, [path]);
  await db.run(`DELETE FROM ${REJECTS} WHERE source_file = $1`, [path]);
  if (extensions) await db.run(`DELETE FROM ${EXTENSIONS} WHERE __x_file = $1`, [path]);
}

/**
 * Stages one source through sql/ingest/stage_events.sql into STAGED, reading it as (file, line
 * number, JSON object text): NDJSON lines (in bounded, pipelined chunks), CSV rows as objects,
 * Avro records (numbered from 1) as JSON. Extension columns are read from the same lines into
 * EXTENSIONS; a value that does not convert quarantines its record (field = the column).
 */
async function stageSource(
  db: DuckDb,
  file: SourceFile,
  params: Record<string, string>,
  extColumns: readonly ExtensionColumn[],
  chunkLines: number | undefined,
): Promise<void> {
  const compression = file.compression === 'gzip' ? 'gzip' : 'none';
  const readPath = await file.local();
  const stage = () => stageLines(db, params, extColumns);
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

/** Appends the typed rows of the records now in __ingest_lines to STAGED (and EXTENSIONS). */
async function stageLines(
  db: DuckDb,
  params: Record<string, string>,
  extColumns: readonly ExtensionColumn[],
): Promise<void> {
  await db.run(`INSERT INTO ${STAGED} ${await stageEventsSql(db)}`, params);
  if (extColumns.length > 0) {
    await db.run(extensionSql(extColumns));
    await db.run(
      `UPDATE ${STAGED} SET error_field = e.__x_field, error_reason = e.__x_reason, raw = e.__x_raw
       FROM __ingest_ext_file AS e
       WHERE e.__x_reason IS NOT NULL AND ${STAGED}.error_reason IS NULL
         AND ${STAGED}.source_file = e.__x_file AND ${STAGED}.source_line = e.__x_line`,
    );
    const values = extColumns.map((_, i) => `__x${i}`);
    await db.run(
      `INSERT INTO ${EXTENSIONS} SELECT __x_file, __x_line, ${values.join(', ')} FROM __ingest_ext_file
       WHERE __x_reason IS NULL AND (${values.map((v) => `${v} IS NOT NULL`).join(' OR ')})`,
    );
    await db.run('DROP TABLE __ingest_ext_file');
  }
}

/** Drops every temp object staging created (after the commits, or when nothing is pending). */
export async function dropStaged(db: DuckDb): Promise<void> {
  for (const view of [BAD, '__ingest_lines']) await db.run(`DROP VIEW IF EXISTS ${view}`);
  for (const table of [REJECTS, STAGED, EXTENSIONS, '__ingest_ext_file', ...STAGE_TEMP_TABLES]) {
    await db.run(`DROP TABLE IF EXISTS ${table}`);
  }
}

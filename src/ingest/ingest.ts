import { createHash } from 'node:crypto';
import type avro from 'avsc';
import { QUARANTINE, QUARANTINE_TABLE } from '../catalog/tables/quarantine.js';
import {
  PARTITION_COLUMNS,
  RAW_EVENTS,
  RAW_EVENTS_COLUMNS,
  RAW_EVENTS_TABLE,
} from '../catalog/tables/raw-events.js';
import type { DuckDb } from '../engine/duckdb.js';
import { dataError, ShopstreamError } from '../errors.js';
import { listSchemaVersions, SCHEMAS_DIR } from '../governance/avro-registry.js';
import type { PartitionValues, Txn } from '../lake/log/actions.js';
import type { Snapshot } from '../lake/log/snapshot.js';
import { schemaFromColumns } from '../lake/table/columns.js';
import type { DeltaTable, WriteRequest, WriteResult } from '../lake/table/delta-table.js';
import type { Lake } from '../lake/table/lake.js';
import { currentRun } from '../runtime/run-context.js';
import type { S3StoreOptions } from '../storage/s3-store.js';
import { readAvroRecords, readAvroWriterSchema } from './avro-source.js';
import {
  type AvroWriter,
  columnsToAdd,
  type EvolutionPlan,
  type ExtensionColumn,
  extensionSelect,
  extensionSql,
  extensionTableSql,
  planEvolution,
  requireRegistered,
  toColumnDefs,
} from './event-contract-evolution.js';
import { isUnreadableSource } from './line-reader.js';
import { contentHash, resolveSources, type SourceFile } from './sources.js';
import { STAGE_TEMP_TABLES, stageCsvLines, stageNdjsonLines } from './stage-lines.js';
import { boundIngestMemory } from './staging-memory.js';
import { stageEventsSql, stagingParams } from './staging-sql.js';

export interface IngestOptions {
  readonly sources: readonly string[];
  readonly maxBadRatio: number;
  readonly maxFutureHours: number;
  readonly minEventDate: string;
  /**
   * How a source file is recognised as already landed: `stat` = path, size and mtime (fast; a copy
   * under another name is re-read and its events dropped as duplicates); `content` = also the
   * SHA-256 of its bytes (a renamed copy is skipped unread, at the cost of hashing every new file).
   */
  readonly fingerprint?: 'stat' | 'content';
  /** How to reach s3:// sources (endpoint, region). */
  readonly s3?: S3StoreOptions;
  /**
   * The schema registry (`<dir>/clickstream_event/v<N>.avsc`, default the package's `schemas/`): Avro
   * sources are checked against its highest version, and its fields raw_events lacks are added.
   */
  readonly schemaDir?: string;
  /**
   * A source that cannot be read whole (truncated or corrupt gzip, I/O error) never lands and the
   * other sources do; then `fail` (default) throws SOURCE_CORRUPT naming it, `report` returns the
   * summary with it under `unreadable` (the caller fails after printing).
   */
  readonly unreadable?: 'fail' | 'report';
  /** NDJSON lines staged per chunk (default NDJSON_CHUNK_LINES); small values serve tests. */
  readonly stageChunkLines?: number;
  readonly runId?: string;
  readonly now?: Date;
  readonly onProgress?: (progress: IngestProgress) => void;
}

export interface IngestProgress {
  readonly phase: 'read' | 'write';
  readonly filesDone: number;
  readonly filesTotal: number;
  readonly bytesDone: number;
  readonly bytesTotal: number;
}

export interface QuarantineSample {
  readonly file: string;
  readonly line: number;
  readonly field: string;
  readonly reason: string;
}

export interface UnreadableSource {
  readonly file: string;
  readonly reason: string;
}

export interface IngestSummary {
  readonly runId: string;
  readonly files: { readonly total: number; readonly alreadyIngested: number; readonly ingested: number };
  /**
   * Files that could not be read whole (truncated or corrupt gzip, I/O error): nothing of them was
   * landed or recorded, the other files were; callers fail the run (exit 65) after reporting.
   */
  readonly unreadable: readonly UnreadableSource[];
  readonly read: number;
  readonly written: number;
  readonly duplicates: number;
  readonly quarantined: number;
  /** written-or-duplicate / read: the share of records that were valid. 1 when nothing was read. */
  readonly qualityRatio: number;
  readonly badRatio: number;
  readonly maxBadRatio: number;
  readonly badRatioExceeded: boolean;
  readonly partitions: readonly string[];
  readonly rawEventsVersion: number | null;
  readonly quarantineVersion: number | null;
  readonly quarantineSamples: readonly QuarantineSample[];
  /** Columns this run added to raw_events (schema evolution), in the commit with the data. */
  readonly addedColumns: readonly string[];
  readonly durationMs: number;
}

/** The txn appId that marks a source's content as landed in a table. */
export function sourceAppId(hash: string): string {
  return `shopstream-ingest-${hash}`;
}

/**
 * Lands event files in `raw_events` (Hive-partitioned by event-time dt/hour) and bad records in
 * `quarantine`. Each source's content hash is committed as a txn with the data, so re-running lands
 * nothing twice and a crash between the two commits is completed by the rerun, exactly once.
 * Avro sources are checked against the registered schema before anything is created or staged; new
 * optional fields (theirs or the registry's) become nullable raw_events columns in the data's commit.
 */
export async function ingest(lake: Lake, options: IngestOptions): Promise<IngestSummary> {
  // ingestFiles bounds DuckDB's memory once the sources resolve and the tables exist; this undoes it.
  const settings = { restore: async () => {} };
  let summary: IngestSummary;
  try {
    summary = await ingestFiles(lake, options, settings);
  } finally {
    await settings.restore();
  }
  const unreadable = options.unreadable === 'report' ? undefined : unreadableSourcesError(summary);
  if (unreadable) throw unreadable;
  return summary;
}

async function ingestFiles(
  lake: Lake,
  options: IngestOptions,
  settings: { restore: () => Promise<void> },
): Promise<IngestSummary> {
  const started = Date.now();
  const runId = options.runId ?? currentRun.id;
  const now = options.now ?? new Date();
  const files = await resolveSources(options.sources, process.cwd(), options.s3);
  const bytesTotal = files.reduce((sum, f) => sum + f.size, 0);
  const progress = (phase: IngestProgress['phase'], filesDone: number, bytesDone: number) =>
    options.onProgress?.({ phase, filesDone, filesTotal: files.length, bytesDone, bytesTotal });

  const raw = lake.table(RAW_EVENTS);
  const quarantine = lake.table(QUARANTINE);
  const schemaDir = options.schemaDir ?? SCHEMAS_DIR;
  const registered = (await listSchemaVersions(schemaDir)).at(-1);
  const writerSchemas = new Map<string, avro.Schema>();
  // Which Avro files would be read, and are their writer schemas compatible with raw_events?
  const planFor = async (snapshot: Snapshot | undefined): Promise<EvolutionPlan> => {
    const writers: AvroWriter[] = [];
    for (const file of files) {
      if (file.format !== 'avro' || snapshot?.txnVersion(statAppId(file)) !== undefined) continue;
      let schema = writerSchemas.get(file.path);
      if (schema === undefined) {
        schema = readAvroWriterSchema(await file.local(), file.path);
        writerSchemas.set(file.path, schema);
      }
      writers.push({ path: file.path, schema });
    }
    if (writers.length > 0) requireRegistered(registered, schemaDir);
    const fields = snapshot ? snapshot.schema.fields : schemaFromColumns(RAW_EVENTS_COLUMNS).fields;
    return planEvolution(fields, registered, writers);
  };
  // Refuse an incompatible file before creating the tables, too.
  if (!(await raw.exists())) await planFor(undefined);
  const rawSnapshot = await raw.ensure(RAW_EVENTS_TABLE.definition, { runId });
  const schemaPlan = await planFor(rawSnapshot);
  const extColumns = schemaPlan.columns;
  const quarantineSnapshot = await quarantine.ensure(QUARANTINE_TABLE.definition, { runId });

  const db = lake.db;
  settings.restore = await boundIngestMemory(db, lake.store);
  const stageParams = stagingParams(now, options);
  await db.run(
    'CREATE OR REPLACE TEMP TABLE __ingest_rejects (source_file VARCHAR, source_line BIGINT, error_field VARCHAR, error_reason VARCHAR, raw VARCHAR)',
  );
  await createStaged(db, stageParams);
  if (extColumns.length > 0) await db.run(extensionTableSql(extColumns));

  // A file seen before with the same path, size and mtime is skipped without reading it. With the
  // content fingerprint, a new path's SHA-256 (computed while DuckDB stages it) decides too.
  const pending: PendingFile[] = [];
  const seen = new Set<string>();
  let bytesDone = 0;
  // A file that cannot be read whole (truncated or corrupt gzip, I/O error) is left out of the
  // batch with nothing of it staged: no rows, no quarantine, no txn, so a rerun reads it again.
  const unreadable: UnreadableSource[] = [];
  for (const [index, file] of files.entries()) {
    const statId = statAppId(file);
    if (rawSnapshot.txnVersion(statId) === undefined) {
      const [hashed, read] = await Promise.allSettled([
        options.fingerprint === 'content' ? file.local().then(contentHash) : Promise.resolve(undefined),
        stageSource(db, file, stageParams, extColumns, options.stageChunkLines),
      ]);
      const failure =
        read.status === 'rejected' ? read.reason : hashed.status === 'rejected' ? hashed.reason : null;
      const appId =
        hashed.status === 'fulfilled' && hashed.value !== undefined ? sourceAppId(hashed.value) : statId;
      if (failure !== null && !isUnreadableSource(failure)) throw failure;
      if (failure !== null || seen.has(appId) || rawSnapshot.txnVersion(appId) !== undefined) {
        if (failure !== null) unreadable.push({ file: file.path, reason: (failure as Error).message });
        await db.run('DELETE FROM __ingest_staged WHERE source_file = $1', [file.path]);
        await db.run('DELETE FROM __ingest_rejects WHERE source_file = $1', [file.path]);
        if (extColumns.length > 0) await db.run('DELETE FROM __ingest_ext WHERE __x_file = $1', [file.path]);
      } else {
        seen.add(appId);
        pending.push({ file, appId, statId });
      }
    }
    bytesDone += file.size;
    progress('read', index + 1, bytesDone);
  }

  const base = {
    runId,
    files: {
      total: files.length,
      alreadyIngested: files.length - pending.length - unreadable.length,
      ingested: pending.length,
    },
    unreadable,
    maxBadRatio: options.maxBadRatio,
  };
  if (pending.length === 0) {
    await dropTemps(db);
    return {
      ...base,
      read: 0,
      written: 0,
      duplicates: 0,
      quarantined: 0,
      qualityRatio: 1,
      badRatio: 0,
      badRatioExceeded: false,
      partitions: [],
      rawEventsVersion: null,
      quarantineVersion: null,
      quarantineSamples: [],
      addedColumns: [],
      durationMs: Date.now() - started,
    };
  }

  // Quarantine first: its txns say which sources' bad records are already kept.
  const quarantineFiles = pending.filter((p) => quarantineSnapshot.txnVersion(p.appId) === undefined);
  let quarantineVersion: number | null = null;
  if (quarantineFiles.length > 0) {
    await db.run('CREATE OR REPLACE TEMP TABLE __ingest_quarantine_files (source_file VARCHAR)');
    await insertStrings(
      db,
      '__ingest_quarantine_files',
      quarantineFiles.map((p) => p.file.path),
    );
    await db.run(
      `CREATE OR REPLACE TEMP TABLE __ingest_quarantine AS
       SELECT source_file, source_line, error_field, error_reason, raw,
              CAST($ingested_at AS TIMESTAMPTZ) AS ingested_at, $run_id AS run_id,
              CAST(CAST($ingested_at AS TIMESTAMPTZ) AS DATE) AS ingest_date
       FROM __ingest_bad
       WHERE source_file IN (SELECT source_file FROM __ingest_quarantine_files)`,
      { ingested_at: now.toISOString(), run_id: runId },
    );
    const result = await quarantine.write({
      relation: '__ingest_quarantine',
      mode: 'append',
      txns: quarantineFiles.map((p) => txn(p.appId)),
      operation: 'WRITE',
      readSnapshot: quarantineSnapshot,
      commitProperties: { runId, sources: quarantineFiles.map((p) => p.file.path) },
    });
    quarantineVersion = result.version;
  }

  const [counts] = await db.all<{ read: string; bad: string }>(
    `SELECT (SELECT count(*) FROM __ingest_staged WHERE error_reason IS NULL) + (SELECT count(*) FROM __ingest_bad) AS read,
            (SELECT count(*) FROM __ingest_bad) AS bad`,
  );
  const touched = await db.all<{ dt: string; hour: number }>(
    'SELECT DISTINCT CAST(dt AS VARCHAR) AS dt, hour FROM __ingest_staged WHERE error_reason IS NULL ORDER BY 1, 2',
  );
  const touchedDays = new Set(touched.map((t) => t.dt));
  const registerExisting = (snapshot: Snapshot) =>
    raw.register('__ingest_existing', { version: snapshot.version }, (s) =>
      s.files.filter((f) => touchedDays.has(f.partitionValues.dt ?? '')),
    );
  await registerExisting(rawSnapshot);
  // Duplicates within the batch are rare: find them with a hash aggregate, keep the first occurrence.
  await db.run(
    `CREATE OR REPLACE TEMP TABLE __ingest_repeats AS
     SELECT event_id, min({'file': source_file, 'line': source_line}) AS first
     FROM __ingest_staged WHERE error_reason IS NULL
     GROUP BY event_id HAVING count(*) > 1`,
  );
  // Extension columns: the table's, then the ones this write adds (values keyed by file and line).
  const addColumns = columnsToAdd(
    schemaPlan,
    pending.filter((p) => p.file.format === 'avro').map((p) => p.file.path),
  );
  const extNames = [
    ...extColumns.filter((c) => schemaPlan.existing.has(c.name)).map((c) => c.name),
    ...addColumns.map((c) => c.name),
  ];
  const extSelect = extensionSelect(extColumns, extNames, 'e');
  await db.run(
    `CREATE OR REPLACE TEMP VIEW __ingest_good AS
     SELECT s.* EXCLUDE (error_field, error_reason, raw)${extSelect.map((c) => `, ${c}`).join('')}
     FROM __ingest_staged AS s${
       extSelect.length > 0
         ? '\n     LEFT JOIN __ingest_ext AS e ON e.__x_file = s.source_file AND e.__x_line = s.source_line'
         : ''
     }
     LEFT JOIN __ingest_repeats AS r ON s.event_id = r.event_id
     WHERE s.error_reason IS NULL
       AND (r.event_id IS NULL OR {'file': s.source_file, 'line': s.source_line} = r.first)
       AND s.event_id NOT IN (SELECT event_id FROM __ingest_existing)`,
  );

  progress('write', pending.length, bytesDone);
  const rawResult = await writeDeduplicated(raw, rawSnapshot, touchedDays, pending, registerExisting, {
    relation: '__ingest_good',
    mode: 'append',
    txns: pending.flatMap((p) => (p.appId === p.statId ? [txn(p.appId)] : [txn(p.appId), txn(p.statId)])),
    operation: 'WRITE',
    parameters: { partitionBy: JSON.stringify(PARTITION_COLUMNS.map((c) => c.name)) },
    commitProperties: { runId, sources: pending.map((p) => p.file.path) },
    ...(addColumns.length > 0 ? { addColumns: toColumnDefs(addColumns) } : {}),
  });
  const writtenCount = rawResult.added.reduce(
    (sum, add) => sum + (JSON.parse(add.stats ?? '{}').numRecords as number),
    0,
  );

  const samples = await db.all<{ file: string; line: string; field: string; reason: string }>(
    `SELECT source_file AS file, source_line AS line, error_field AS field, error_reason AS reason
     FROM __ingest_bad ORDER BY source_file, source_line LIMIT 5`,
  );
  await dropTemps(db);

  const read = Number(counts!.read);
  const quarantined = Number(counts!.bad);
  const good = read - quarantined;
  const badRatio = read === 0 ? 0 : quarantined / read;
  currentRun.record({
    rowsIn: read,
    rowsOut: writtenCount,
    quarantined,
    qualityRatio: read === 0 ? 1 : good / read,
  });
  return {
    ...base,
    read,
    written: writtenCount,
    duplicates: good - writtenCount,
    quarantined,
    qualityRatio: read === 0 ? 1 : good / read,
    badRatio,
    badRatioExceeded: badRatio > options.maxBadRatio,
    partitions: touched.map((t) => `dt=${t.dt}/hour=${t.hour}`),
    rawEventsVersion: rawResult.version,
    quarantineVersion,
    quarantineSamples: samples.map((s) => ({
      file: s.file,
      line: Number(s.line),
      field: s.field,
      reason: s.reason,
    })),
    addedColumns: addColumns.map((c) => c.name),
    durationMs: Date.now() - started,
  };
}

/**
 * The error that fails a run after unreadable files were reported (exit 65): it names each file and
 * why; the other files' records were landed, and a rerun after the file is fixed reads it.
 */
export function unreadableSourcesError(summary: IngestSummary): ShopstreamError | undefined {
  if (summary.unreadable.length === 0) return undefined;
  const list = summary.unreadable.map((u) => u.reason).join('; ');
  return dataError(
    'SOURCE_CORRUPT',
    `${summary.unreadable.length} of ${summary.files.total} source files could not be read and were not landed: ${list}`,
    {
      suggestions: [
        'the other files were landed; replace each named file with a complete copy and rerun: it is read then',
      ],
    },
  );
}

const MAX_DEDUPE_ATTEMPTS = 5;

/**
 * Appends `__ingest_good` (which drops events already in `__ingest_existing`, the `days` of
 * `snapshot`) with those days as the write's read predicate. When a concurrent commit added data to
 * one of them, the events it landed were not checked: re-register `__ingest_existing` from the new
 * snapshot and write again, so two racing ingests never both land an event. A concurrent run that
 * landed one of these very files, or too many retries, is a conflict (exit 75; the rerun resumes).
 */
async function writeDeduplicated(
  raw: DeltaTable,
  snapshot: Snapshot,
  days: ReadonlySet<string>,
  pending: readonly PendingFile[],
  registerExisting: (snapshot: Snapshot) => Promise<unknown>,
  request: Omit<WriteRequest, 'readSnapshot' | 'readPartitions'>,
): Promise<WriteResult> {
  const readPartitions = [...days].map((dt) => ({ dt }));
  let readSnapshot = snapshot;
  for (let attempt = 1; ; attempt++) {
    try {
      return await raw.write({ ...request, readSnapshot, readPartitions });
    } catch (error) {
      const retry = error instanceof ShopstreamError && error.code === 'CONCURRENT_APPEND';
      if (!retry || attempt >= MAX_DEDUPE_ATTEMPTS) throw error;
      readSnapshot = await raw.snapshot();
      const landed = pending.some(
        (p) =>
          readSnapshot.txnVersion(p.appId) !== undefined || readSnapshot.txnVersion(p.statId) !== undefined,
      );
      if (landed) throw error;
      await registerExisting(readSnapshot);
    }
  }
}

interface PendingFile {
  readonly file: SourceFile;
  readonly appId: string;
  readonly statId: string;
}

/** The txn appId that marks a path with this size and mtime as landed: lets reruns skip hashing. */
export function statAppId(file: SourceFile): string {
  const key = createHash('sha256').update(`${file.path}\0${file.size}\0${file.mtimeMs}`).digest('hex');
  return `shopstream-ingest-file-${key}`;
}

function txn(appId: string): Txn {
  return { appId, version: 0 };
}

/**
 * The staged rows of the batch (empty, typed as sql/ingest/stage_events.sql produces them) and
 * __ingest_bad, the batch's refused records (staged rows with a problem, and unreadable lines).
 */
async function createStaged(db: DuckDb, params: Record<string, string>): Promise<void> {
  await db.run(
    `CREATE OR REPLACE TEMP VIEW __ingest_lines AS
     SELECT CAST(NULL AS VARCHAR) AS source_file, CAST(NULL AS BIGINT) AS line_number, CAST(NULL AS VARCHAR) AS raw
     WHERE false`,
  );
  await db.run(`CREATE OR REPLACE TEMP TABLE __ingest_staged AS ${await stageEventsSql(db)}`, params);
  await db.run('DROP VIEW __ingest_lines');
  await db.run(
    `CREATE OR REPLACE TEMP VIEW __ingest_bad AS
     SELECT source_file, source_line, error_field, error_reason, raw FROM __ingest_staged WHERE error_reason IS NOT NULL
     UNION ALL SELECT * FROM __ingest_rejects`,
  );
}

/**
 * Stages one source through sql/ingest/stage_events.sql into __ingest_staged, reading it as
 * (file, line number, JSON object text): NDJSON lines (in bounded chunks), CSV rows as objects,
 * Avro records (numbered from 1) as JSON. Extension columns are read from the same lines into
 * __ingest_ext; a value that does not convert quarantines its record (field = the column).
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

/** Appends the typed rows of the records now in __ingest_lines to __ingest_staged (and __ingest_ext). */
async function stageLines(
  db: DuckDb,
  params: Record<string, string>,
  extColumns: readonly ExtensionColumn[],
): Promise<void> {
  await db.run(`INSERT INTO __ingest_staged ${await stageEventsSql(db)}`, params);
  if (extColumns.length > 0) {
    await db.run(extensionSql(extColumns));
    await db.run(
      `UPDATE __ingest_staged SET error_field = e.__x_field, error_reason = e.__x_reason, raw = e.__x_raw
       FROM __ingest_ext_file AS e
       WHERE e.__x_reason IS NOT NULL AND __ingest_staged.error_reason IS NULL
         AND __ingest_staged.source_file = e.__x_file AND __ingest_staged.source_line = e.__x_line`,
    );
    const values = extColumns.map((_, i) => `__x${i}`);
    await db.run(
      `INSERT INTO __ingest_ext SELECT __x_file, __x_line, ${values.join(', ')} FROM __ingest_ext_file
       WHERE __x_reason IS NULL AND (${values.map((v) => `${v} IS NOT NULL`).join(' OR ')})`,
    );
    await db.run('DROP TABLE __ingest_ext_file');
  }
}

async function insertStrings(db: DuckDb, table: string, values: readonly string[]): Promise<void> {
  const appender = await db.connection.createAppender(table, 'main', 'temp');
  for (const value of values) {
    appender.appendVarchar(value);
    appender.endRow();
  }
  appender.closeSync();
}

async function dropTemps(db: DuckDb): Promise<void> {
  for (const view of ['__ingest_good', '__ingest_bad', '__ingest_existing', '__ingest_lines']) {
    await db.run(`DROP VIEW IF EXISTS ${view}`);
  }
  for (const table of [
    '__ingest_rejects',
    '__ingest_staged',
    '__ingest_quarantine',
    '__ingest_repeats',
    '__ingest_quarantine_files',
    '__ingest_file_lines',
    '__ingest_csv_rejects',
    '__ingest_ext',
    '__ingest_ext_file',
    '__ingest_file_rejects',
    '__ingest_csv_lines',
    '__ingest_csv_bad',
    '__ingest_csv_skipped',
    '__ingest_csv_long',
  ]) {
    await db.run(`DROP TABLE IF EXISTS ${table}`);
  }
}

export type { PartitionValues };

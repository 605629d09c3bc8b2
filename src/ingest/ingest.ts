import { randomUUID } from 'node:crypto';
import { type DuckDb, quoteLiteral } from '../engine/duckdb.js';
import { loadSql } from '../engine/sql-files.js';
import type { PartitionValues, Txn } from '../lake/actions.js';
import { mapLimit } from '../lake/delta-log.js';
import type { Lake } from '../lake/lake.js';
import { PARTITION_COLUMNS, QUARANTINE_COLUMNS, RAW_EVENTS_COLUMNS } from './event-schema.js';
import { contentHash, resolveSources, type SourceFile } from './sources.js';

export const RAW_EVENTS = 'raw_events';
export const QUARANTINE = 'quarantine';

export interface IngestOptions {
  readonly sources: readonly string[];
  readonly maxBadRatio: number;
  readonly maxFutureHours: number;
  readonly minEventDate: string;
  readonly runId?: string;
  readonly now?: Date;
  readonly onProgress?: (progress: IngestProgress) => void;
}

export interface IngestProgress {
  readonly phase: 'hash' | 'read' | 'write';
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

export interface IngestSummary {
  readonly runId: string;
  readonly files: { readonly total: number; readonly alreadyIngested: number; readonly ingested: number };
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
 */
export async function ingest(lake: Lake, options: IngestOptions): Promise<IngestSummary> {
  const started = Date.now();
  const runId = options.runId ?? randomUUID();
  const now = options.now ?? new Date();
  const files = await resolveSources(options.sources);
  const bytesTotal = files.reduce((sum, f) => sum + f.size, 0);
  const progress = (phase: IngestProgress['phase'], filesDone: number, bytesDone: number) =>
    options.onProgress?.({ phase, filesDone, filesTotal: files.length, bytesDone, bytesTotal });

  let hashed = 0;
  const hashes = await mapLimit(files, 4, async (file) => {
    const hash = await contentHash(file.path);
    progress('hash', ++hashed, 0);
    return hash;
  });

  const raw = lake.table(RAW_EVENTS);
  const quarantine = lake.table(QUARANTINE);
  const rawSnapshot = await raw.ensure({
    columns: RAW_EVENTS_COLUMNS,
    partitionColumns: PARTITION_COLUMNS.map((c) => c.name),
    description: 'Clickstream events as landed by shopstream ingest, partitioned by event time.',
  });
  const quarantineSnapshot = await quarantine.ensure({
    columns: QUARANTINE_COLUMNS,
    partitionColumns: ['ingest_date'],
    description: 'Records refused by ingest, with source file, line and reason.',
  });

  const pending: { file: SourceFile; appId: string }[] = [];
  const seen = new Set<string>();
  files.forEach((file, i) => {
    const appId = sourceAppId(hashes[i]!);
    if (seen.has(appId) || rawSnapshot.txnVersion(appId) !== undefined) return;
    seen.add(appId);
    pending.push({ file, appId });
  });

  const base = {
    runId,
    files: { total: files.length, alreadyIngested: files.length - pending.length, ingested: pending.length },
    maxBadRatio: options.maxBadRatio,
  };
  if (pending.length === 0) {
    return {
      ...base,
      read: 0, written: 0, duplicates: 0, quarantined: 0, qualityRatio: 1, badRatio: 0, badRatioExceeded: false,
      partitions: [], rawEventsVersion: null, quarantineVersion: null, quarantineSamples: [],
      durationMs: Date.now() - started,
    };
  }

  const db = lake.db;
  await db.run('CREATE OR REPLACE TEMP TABLE __ingest_lines (source_file VARCHAR, line_number BIGINT, raw VARCHAR)');
  await db.run(
    'CREATE OR REPLACE TEMP TABLE __ingest_rejects (source_file VARCHAR, source_line BIGINT, error_field VARCHAR, error_reason VARCHAR, raw VARCHAR)',
  );
  let bytesDone = 0;
  for (const [index, { file }] of pending.entries()) {
    await readSourceLines(db, file);
    bytesDone += file.size;
    progress('read', index + 1, bytesDone);
  }

  const minEventTime = `${options.minEventDate} 00:00:00+00`;
  const maxEventTime = new Date(now.getTime() + options.maxFutureHours * 3600_000).toISOString();
  await db.run(loadSql('ingest/stage_events'), {
    ingested_at: now.toISOString(),
    min_event_time: minEventTime,
    max_event_time: maxEventTime,
  });

  // Quarantine first: its txns say which sources' bad records are already kept.
  const quarantineFiles = pending.filter((p) => quarantineSnapshot.txnVersion(p.appId) === undefined);
  let quarantineVersion: number | null = null;
  if (quarantineFiles.length > 0) {
    await db.run('CREATE OR REPLACE TEMP TABLE __ingest_quarantine_files (source_file VARCHAR)');
    await insertStrings(db, '__ingest_quarantine_files', quarantineFiles.map((p) => p.file.path));
    await db.run(
      `CREATE OR REPLACE TEMP TABLE __ingest_quarantine AS
       SELECT source_file, source_line, error_field, error_reason, raw,
              CAST($ingested_at AS TIMESTAMPTZ) AS ingested_at, $run_id AS run_id,
              CAST(CAST($ingested_at AS TIMESTAMPTZ) AS DATE) AS ingest_date
       FROM (SELECT source_file, source_line, error_field, error_reason, raw FROM __ingest_staged WHERE error_reason IS NOT NULL
             UNION ALL SELECT * FROM __ingest_rejects)
       WHERE source_file IN (SELECT source_file FROM __ingest_quarantine_files)`,
      { ingested_at: now.toISOString(), run_id: runId },
    );
    const result = await quarantine.write({
      relation: '__ingest_quarantine',
      mode: 'append',
      txns: quarantineFiles.map((p) => txn(p.appId)),
      operation: 'WRITE',
      readSnapshot: quarantineSnapshot,
      extraInfo: { runId, sources: quarantineFiles.map((p) => p.file.path) },
    });
    quarantineVersion = result.version;
  }

  const [counts] = await db.all<{ read: string; bad: string }>(
    `SELECT (SELECT count(*) FROM __ingest_staged) + (SELECT count(*) FROM __ingest_rejects) AS read,
            (SELECT count(*) FROM __ingest_staged WHERE error_reason IS NOT NULL) + (SELECT count(*) FROM __ingest_rejects) AS bad`,
  );
  await db.run(
    `CREATE OR REPLACE TEMP TABLE __ingest_good AS
     SELECT * EXCLUDE (error_field, error_reason, raw) FROM __ingest_staged WHERE error_reason IS NULL
     QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY source_file, source_line) = 1`,
  );
  const touched = await db.all<{ dt: string; hour: number }>('SELECT DISTINCT CAST(dt AS VARCHAR) AS dt, hour FROM __ingest_good ORDER BY 1, 2');
  const touchedDays = new Set(touched.map((t) => t.dt));
  await raw.register('__ingest_existing', { version: rawSnapshot.version }, (snapshot) =>
    snapshot.files.filter((f) => touchedDays.has(f.partitionValues.dt ?? '')),
  );
  await db.run('DELETE FROM __ingest_good WHERE event_id IN (SELECT event_id FROM __ingest_existing)');
  const [{ written }] = (await db.all<{ written: string }>('SELECT count(*) AS written FROM __ingest_good')) as [{ written: string }];

  progress('write', pending.length, bytesDone);
  const rawResult = await raw.write({
    relation: '__ingest_good',
    mode: 'append',
    txns: pending.map((p) => txn(p.appId)),
    operation: 'WRITE',
    readSnapshot: rawSnapshot,
    parameters: { partitionBy: JSON.stringify(PARTITION_COLUMNS.map((c) => c.name)) },
    extraInfo: { runId, sources: pending.map((p) => p.file.path) },
  });

  const samples = await db.all<{ file: string; line: string; field: string; reason: string }>(
    `SELECT source_file AS file, source_line AS line, error_field AS field, error_reason AS reason
     FROM (SELECT source_file, source_line, error_field, error_reason FROM __ingest_staged WHERE error_reason IS NOT NULL
           UNION ALL SELECT source_file, source_line, error_field, error_reason FROM __ingest_rejects)
     ORDER BY source_file, source_line LIMIT 5`,
  );
  await dropTemps(db);

  const read = Number(counts!.read);
  const quarantined = Number(counts!.bad);
  const good = read - quarantined;
  const writtenCount = Number(written);
  const badRatio = read === 0 ? 0 : quarantined / read;
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
    quarantineSamples: samples.map((s) => ({ file: s.file, line: Number(s.line), field: s.field, reason: s.reason })),
    durationMs: Date.now() - started,
  };
}

function txn(appId: string): Txn {
  return { appId, version: 0 };
}

/** Appends one source's records to __ingest_lines as (file, line number, JSON object text). */
async function readSourceLines(db: DuckDb, file: SourceFile): Promise<void> {
  const compression = file.compression === 'gzip' ? 'gzip' : 'none';
  const fileLiteral = quoteLiteral(file.path);
  if (file.format === 'ndjson') {
    // One VARCHAR per physical line: \x1f (unit separator) cannot occur raw in valid JSON.
    await db.run(
      `INSERT INTO __ingest_lines
       SELECT ${fileLiteral}, row_number() OVER (), raw
       FROM read_csv(${fileLiteral}, columns = {'raw': 'VARCHAR'}, delim = E'\\x1f', quote = '', escape = '',
                     header = false, auto_detect = false, strict_mode = false, compression = '${compression}')`,
    );
    return;
  }
  await db.run(
    `INSERT INTO __ingest_lines
     SELECT ${fileLiteral}, row_number() OVER () + 1, to_json(t)
     FROM read_csv(${fileLiteral}, header = true, all_varchar = true, store_rejects = true,
                   rejects_table = '__ingest_csv_rejects', rejects_scan = '__ingest_csv_scans',
                   compression = '${compression}') AS t`,
  );
  await db.run(
    `INSERT INTO __ingest_rejects
     SELECT ${fileLiteral}, line, coalesce(column_name, 'record'), 'malformed CSV row: ' || error_message, csv_line
     FROM __ingest_csv_rejects`,
  );
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
  for (const name of ['__ingest_lines', '__ingest_rejects', '__ingest_staged', '__ingest_quarantine', '__ingest_good', '__ingest_quarantine_files']) {
    await db.run(`DROP TABLE IF EXISTS ${name}`);
  }
  await db.run('DROP VIEW IF EXISTS __ingest_existing');
}

export type { PartitionValues };

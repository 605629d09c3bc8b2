import { type DuckDb, quoteLiteral } from '../engine/duckdb.js';
import { MAX_LINE_BYTES, REJECT_RAW_BYTES, readNdjsonLines, scanCsvLines } from './line-reader.js';

/**
 * Puts one source file's records into the relation sql/ingest/stage_events.sql reads,
 * __ingest_lines(source_file, line_number, raw), and its unreadable lines into __ingest_rejects.
 * Nothing of the file reaches __ingest_rejects unless the whole file was read: a file that fails
 * (SOURCE_CORRUPT, SOURCE_UNREADABLE) leaves no trace, and the caller reports it.
 */

/**
 * Lines per chunk handed to the staging SQL (~90 MB of text for typical events). Chunks are
 * pipelined (below), so smaller ones overlap more of Node's reading with DuckDB's staging; two
 * chunks at most are alive at a time, well under ingest's memory limit.
 */
export const NDJSON_CHUNK_LINES = 262_144;

/**
 * NDJSON: lines split and checked in Node (line-reader.ts) and appended in bounded chunks; each
 * chunk is then staged by `stageChunk` (which reads __ingest_lines) while Node reads the next one:
 * the appender works on a second connection (`db.fork()`) into one of two main-schema tables
 * (temp tables are private to a connection), and the staging SQL runs on `db`, off Node's thread.
 * One chunk is staged at a time, and a chunk's table is refilled only after its staging ended, so
 * the raw text is never held whole (nor twice). A file that fails later leaves staged rows behind:
 * the caller deletes them by source_file.
 */
export async function stageNdjsonLines(
  db: DuckDb,
  name: string,
  readPath: string,
  compression: 'gzip' | 'none',
  stageChunk: () => Promise<void>,
  chunkLines: number = NDJSON_CHUNK_LINES,
): Promise<void> {
  const reader = await db.fork();
  let chunk = 0;
  const newChunk = async () => {
    const table = CHUNK_TABLES[chunk % 2]!;
    await reader.run(`CREATE OR REPLACE TABLE ${table} (line_number BIGINT, raw VARCHAR)`);
    return reader.connection.createAppender(table);
  };
  // The staging of the previous chunk, if one is running (its failure is awaited, never dropped).
  let staging: Promise<void> = Promise.resolve();
  const stage = async (table: string) => {
    // The file name is a literal: a view cannot take bound parameters.
    await db.run(
      `CREATE OR REPLACE TEMP VIEW __ingest_lines AS
       SELECT ${quoteLiteral(name)} AS source_file, line_number, raw FROM ${table}`,
    );
    await stageChunk();
  };
  await reader.run(
    'CREATE OR REPLACE TABLE __ingest_file_rejects (source_line BIGINT, error_reason VARCHAR, raw VARCHAR)',
  );
  const rejects = await reader.connection.createAppender('__ingest_file_rejects');
  let lines = await newChunk();
  let inChunk = 0;
  const flush = async () => {
    lines.closeSync();
    await staging;
    staging = stage(CHUNK_TABLES[chunk % 2]!);
    staging.catch(() => {});
    chunk++;
    lines = await newChunk();
    inChunk = 0;
  };
  try {
    await readNdjsonLines(
      readPath,
      {
        line(lineNumber, text) {
          lines.appendBigInt(BigInt(lineNumber));
          lines.appendVarchar(text);
          lines.endRow();
          inChunk++;
        },
        reject(rejected) {
          rejects.appendBigInt(BigInt(rejected.line));
          rejects.appendVarchar(rejected.reason);
          rejects.appendVarchar(rejected.raw);
          rejects.endRow();
        },
        afterBlock: () => (inChunk >= chunkLines ? flush() : undefined),
      },
      { name, compression },
    );
    lines.closeSync();
    await staging;
    if (inChunk > 0) await stage(CHUNK_TABLES[chunk % 2]!);
    rejects.closeSync();
    await db.run(
      `INSERT INTO __ingest_rejects SELECT $1, source_line, 'record', error_reason, raw FROM __ingest_file_rejects`,
      [name],
    );
  } catch (error) {
    closeQuietly(lines);
    closeQuietly(rejects);
    // a chunk may still be staging from the table about to be dropped
    await staging.catch(() => {});
    throw error;
  } finally {
    for (const table of [...CHUNK_TABLES, '__ingest_file_rejects'])
      await reader.run(`DROP TABLE IF EXISTS ${table}`);
    reader.close();
  }
}

/** The two tables NDJSON chunks alternate between (main schema: both connections see them). */
const CHUNK_TABLES = ['__ingest_chunk_0', '__ingest_chunk_1'] as const;

/** Closes an appender that may already be closed (a failure between chunks). */
function closeQuietly(appender: { closeSync(): void }): void {
  try {
    appender.closeSync();
  } catch {}
}

/**
 * CSV: DuckDB's read_csv parses (quoting, header, rejects), while a Node pass over the same bytes
 * checks the compression end to end and finds the lines that begin no record. read_csv numbers only
 * the rows it accepts, so row k's line is k + 1 (header) + the count of non-record lines (rejected,
 * empty, inside a multi-line quoted field) before it, found with an ASOF join.
 */
export async function stageCsvLines(
  db: DuckDb,
  name: string,
  readPath: string,
  compression: 'gzip' | 'none',
): Promise<void> {
  const fileLiteral = quoteLiteral(name);
  await db.run('DROP TABLE IF EXISTS __ingest_csv_rejects');
  const readCsv = (maxLineSize?: number) =>
    db.run(
      `CREATE OR REPLACE TEMP TABLE __ingest_file_lines AS
       SELECT row_number() OVER () AS record, CAST(to_json(t) AS VARCHAR) AS raw
       FROM read_csv(${quoteLiteral(readPath)}, header = true, all_varchar = true, store_rejects = true,
                     rejects_table = '__ingest_csv_rejects', rejects_scan = '__ingest_csv_scans',
                     compression = '${compression}'${maxLineSize ? `, max_line_size = ${maxLineSize}` : ''}) AS t`,
    );
  let [read, scan] = await Promise.allSettled([readCsv(), scanCsvLines(readPath, { name, compression })]);
  if (read.status === 'rejected' && scan.status === 'fulfilled' && scan.value.tooLong.length > 0) {
    // read_csv fails the whole file on a line over its limit: read it again with room for the
    // longest, then quarantine those lines like NDJSON's.
    await db.run('DROP TABLE IF EXISTS __ingest_csv_rejects');
    [read] = await Promise.allSettled([readCsv(scan.value.longest + 2)]);
  }
  if (scan.status === 'rejected' || read.status === 'rejected') {
    await db.run('DROP TABLE IF EXISTS __ingest_file_lines');
    throw scan.status === 'rejected' ? scan.reason : (read as PromiseRejectedResult).reason;
  }
  await db.run('CREATE OR REPLACE TEMP TABLE __ingest_csv_skipped (line BIGINT, continuation BOOLEAN)');
  const skipped = await db.connection.createAppender('__ingest_csv_skipped', 'main', 'temp');
  for (const [lines, continuation] of [
    [scan.value.empty, false],
    [scan.value.continuation, true],
  ] as const) {
    for (const line of lines) {
      skipped.appendBigInt(BigInt(line));
      skipped.appendBoolean(continuation);
      skipped.endRow();
    }
  }
  skipped.closeSync();
  // One quarantine record per rejected line (read_csv may report several errors for one line). Its
  // line numbers skip the continuation lines of multi-line records: add back those before each.
  await db.run(
    `CREATE OR REPLACE TEMP TABLE __ingest_csv_bad AS
     WITH continued AS (
         SELECT line, row_number() OVER (ORDER BY line) AS i FROM __ingest_csv_skipped WHERE continuation
     ),
     shifts AS (SELECT line - i AS threshold, max(i) AS shift FROM continued GROUP BY ALL),
     rejected AS (
         SELECT DISTINCT ON (line) line, coalesce(column_name, 'record') AS error_field,
                'malformed CSV row: ' || error_message AS error_reason, left(csv_line, ${REJECT_RAW_BYTES}) AS raw
         FROM __ingest_csv_rejects ORDER BY line, column_idx
     )
     SELECT r.line + coalesce(s.shift, 0) AS line, r.error_field, r.error_reason, r.raw
     FROM rejected AS r ASOF LEFT JOIN shifts AS s ON r.line > s.threshold`,
  );
  const [gaps] = await db.all<{ n: string }>(
    'SELECT (SELECT count(*) FROM __ingest_csv_bad) + (SELECT count(*) FROM __ingest_csv_skipped) AS n',
  );
  let linesTable = '__ingest_file_lines';
  if (Number(gaps!.n) > 0) {
    // threshold = line - i for the i-th non-record line: the rows numbered >= it come after it.
    await db.run(
      `CREATE OR REPLACE TEMP TABLE __ingest_csv_lines AS
       WITH non_record AS (SELECT line FROM __ingest_csv_skipped UNION SELECT line FROM __ingest_csv_bad),
       numbered AS (SELECT line, row_number() OVER (ORDER BY line) AS i FROM non_record),
       shifts AS (SELECT line - i AS threshold, max(i) AS shift FROM numbered GROUP BY ALL)
       SELECT r.record + coalesce(s.shift, 0) AS record, r.raw
       FROM __ingest_file_lines AS r ASOF LEFT JOIN shifts AS s ON r.record >= s.threshold`,
    );
    linesTable = '__ingest_csv_lines';
  }
  if (scan.value.tooLong.length > 0) {
    await db.run('CREATE OR REPLACE TEMP TABLE __ingest_csv_long (line BIGINT)');
    const long = await db.connection.createAppender('__ingest_csv_long', 'main', 'temp');
    for (const line of scan.value.tooLong) {
      long.appendBigInt(BigInt(line));
      long.endRow();
    }
    long.closeSync();
    await db.run(
      `INSERT INTO __ingest_rejects SELECT $1, record + 1, 'record', $2, left(raw, ${REJECT_RAW_BYTES})
       FROM ${linesTable} WHERE record + 1 IN (SELECT line FROM __ingest_csv_long)`,
      [name, `line longer than ${MAX_LINE_BYTES} bytes`],
    );
    await db.run(`DELETE FROM ${linesTable} WHERE record + 1 IN (SELECT line FROM __ingest_csv_long)`);
    await db.run('DROP TABLE __ingest_csv_long');
  }
  await db.run(
    `CREATE OR REPLACE TEMP VIEW __ingest_lines AS
     SELECT ${fileLiteral} AS source_file, record + 1 AS line_number, raw FROM ${linesTable}`,
  );
  await db.run(
    `INSERT INTO __ingest_rejects SELECT $1, line, error_field, error_reason, raw FROM __ingest_csv_bad`,
    [name],
  );
  await db.run('DROP TABLE __ingest_csv_bad');
  await db.run('DROP TABLE __ingest_csv_skipped');
}

/**
 * The tables the stagers create and may leave behind (the first three after every file, the rest
 * when a file fails midway), for the caller to drop once staged.
 */
export const STAGE_TEMP_TABLES = [
  '__ingest_file_lines',
  '__ingest_csv_lines',
  '__ingest_csv_rejects',
  '__ingest_file_rejects',
  '__ingest_csv_bad',
  '__ingest_csv_skipped',
  '__ingest_csv_long',
] as const;

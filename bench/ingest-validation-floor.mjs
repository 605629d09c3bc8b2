#!/usr/bin/env node
// bench/ingest-validation-floor: the cheapest ingest that applies shopstream's validation rules,
// as its own process, to set beside bench/ingest-reference.mjs. DuckDB reads and splits the
// NDJSON(.gz) file itself (read_csv, one VARCHAR column, its parallel reader), runs the staging query
// of `shopstream ingest` (sql/ingest/stage_events.sql with its macros: every rule of the README's
// "Validation rules") and writes the accepted rows as zstd Parquet partitioned by dt/hour, in one COPY.
// Everything else ingest does is left out: line numbers (0 for all), blank-line and BOM handling,
// the gzip integrity check, deduplication, the quarantine, the Delta log, statistics. It is not a
// correct ingest; it is a floor: no ingest that validates like shopstream can cost less on this
// machine. Usage: node bench/ingest-validation-floor.mjs FILE OUT_DIR. Needs `npm run build`.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { root } from './lib.mjs';

const [file, out] = process.argv.slice(2);
if (!file || !out) {
  process.stderr.write('usage: node bench/ingest-validation-floor.mjs FILE OUT_DIR\n');
  process.exit(64);
}
const sql = (name) => readFileSync(path.join(root, 'sql', `${name}.sql`), 'utf8');
const quote = (text) => `'${text.replaceAll("'", "''")}'`;
const instance = await DuckDBInstance.create(':memory:');
const c = await instance.connect();
await c.run("SET TimeZone = 'UTC'");
await c.run(sql('macros/staging'));
await c.run(sql('macros/utc_time'));
// every byte of a line is the one column: no delimiter, quote or escape can occur in it (U+0001 is
// not valid unescaped in JSON text)
await c.run(`CREATE TEMP VIEW __ingest_lines AS
  SELECT ${quote(file)} AS source_file, 0::BIGINT AS line_number, raw
  FROM read_csv(${quote(file)}, columns = {'raw': 'VARCHAR'}, delim = '\x01', quote = '', escape = '',
                header = false, auto_detect = false, max_line_size = 16777216)`);
const staging = sql('ingest/stage_events').trim().replace(/;$/, '');
const now = new Date();
const params = {
  ingested_at: now.toISOString(),
  min_event_time: '2000-01-01 00:00:00+00',
  max_event_time: new Date(now.getTime() + 24 * 3600_000).toISOString(),
};
const copied = await c.runAndReadAll(
  `COPY (
  SELECT * EXCLUDE (error_field, error_reason, raw) FROM (${staging}) WHERE error_field IS NULL)
  TO ${quote(out)} (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1, PARTITION_BY (dt, hour), OVERWRITE_OR_IGNORE)`,
  params,
);
process.stdout.write(`${JSON.stringify({ written: Number(copied.getRows()[0][0]) })}\n`);
c.closeSync();
instance.closeSync();

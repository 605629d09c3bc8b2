#!/usr/bin/env node
// bench/ingest-reference: the reference for `shopstream ingest`, as its own process (so its
// peak RSS is its own): DuckDB `read_json` of an NDJSON(.gz) file -> the raw_events columns, typed
// -> zstd Parquet partitioned by dt/hour. No validation, no line numbers, no deduplication, no log.
// Usage: node bench/ingest-reference.mjs FILE OUT_DIR
import { DuckDBInstance } from '@duckdb/node-api';

const [file, out] = process.argv.slice(2);
if (!file || !out) {
  process.stderr.write('usage: node bench/ingest-reference.mjs FILE OUT_DIR\n');
  process.exit(64);
}
const quote = (text) => `'${text.replaceAll("'", "''")}'`;
const instance = await DuckDBInstance.create(':memory:');
const c = await instance.connect();
await c.run("SET TimeZone = 'UTC'");
const properties =
  'STRUCT(product_id VARCHAR, category VARCHAR, quantity INTEGER, price DECIMAL(18,2), cart_value DECIMAL(18,2), order_id VARCHAR, amount DECIMAL(18,2), currency VARCHAR)';
await c.run(`COPY (
  SELECT event_id, lower(event_type) AS event_type, user_id, session_id, "timestamp" AS event_time, received_at,
         ip, user_agent, page_url, referrer, properties.product_id, properties.category, properties.quantity,
         properties.price, properties.cart_value, properties.order_id, properties.amount,
         upper(properties.currency) AS currency, filename AS source_file, CAST(NULL AS BIGINT) AS source_line,
         now() AS ingested_at, CAST("timestamp" AS DATE) AS dt, CAST(hour("timestamp") AS INTEGER) AS hour
  FROM read_json(${quote(file)}, format = 'newline_delimited', ignore_errors = true, filename = true,
                 columns = {event_id: 'VARCHAR', event_type: 'VARCHAR', user_id: 'VARCHAR', session_id: 'VARCHAR',
                            "timestamp": 'TIMESTAMPTZ', received_at: 'TIMESTAMPTZ', ip: 'VARCHAR', user_agent: 'VARCHAR',
                            page_url: 'VARCHAR', referrer: 'VARCHAR', properties: '${properties}'})
  WHERE "timestamp" IS NOT NULL)
  TO ${quote(out)} (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1, PARTITION_BY (dt, hour), OVERWRITE_OR_IGNORE)`);
c.closeSync();
instance.closeSync();

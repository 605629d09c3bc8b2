#!/usr/bin/env node
// bench/load: rows/s of `shopstream load --include-raw --full-refresh` into the embedded DuckDB
// warehouse vs plain DuckDB copying the same live Parquet files into a database file (CREATE TABLE
// AS SELECT), in the same run; and an incremental load of one new hour. Median of several runs.
// Usage: node bench/load.mjs [--events 1000000] [--runs 3]. Needs `npm run build`.
// (Snowflake statement and byte counts come with the Snowflake warehouse.)
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { DuckDb } from '../dist/engine/duckdb.js';
import { Lake } from '../dist/lake/table/lake.js';
import { LocalStore } from '../dist/storage/local-store.js';
import { loadWarehouse } from '../dist/warehouse/load.js';
import { SnowflakeWarehouse } from '../dist/warehouse/snowflake-warehouse.js';
import { startSnowflakeEmulator } from '../test/helpers/snowflake-emulator.mjs';
import { appendResults, arg, bin, liveFiles, machine, median, root } from './lib.mjs';

const run = promisify(execFile);
const events = Number(arg('events', '1000000'));
const runs = Number(arg('runs', '3'));
const env = { ...process.env, CI: 'true' };
const cli = async (...args) =>
  JSON.parse((await run(process.execPath, [bin, ...args, '--json'], { env, maxBuffer: 1 << 26 })).stdout);

const dataDir = path.join(root, 'bench/data');
mkdirSync(dataDir, { recursive: true });
const file = path.join(dataDir, `events-${events}.ndjson`);
if (!existsSync(file))
  await run(process.execPath, [bin, 'generate', '--events', String(events), '--out', file, '--seed', '1']);
const work = mkdtempSync(path.join(os.tmpdir(), 'bench-load-'));
const lake = path.join(work, 'lake');
await cli('ingest', file, '--lake', lake, '--max-bad-ratio', '1');
await cli('build-marts', '--lake', lake, '--warn-only');

const tables = [
  'raw_events',
  'sessions',
  'conversion_daily',
  'customer_ltv',
  'fraud_user_minute',
  'fraud_flags',
  'metrics_minute',
];
const ours = [];
const plain = [];
let rows = 0;
for (let r = 0; r < runs; r++) {
  const target = path.join(work, `plain-${r}.duckdb`);
  const instance = await DuckDBInstance.create(target);
  const c = await instance.connect();
  const started = performance.now();
  for (const table of tables) {
    await c.run(
      `CREATE TABLE ${table} AS SELECT * FROM read_parquet([${liveFiles(lake, table)
        .map((f) => `'${f}'`)
        .join(',')}], union_by_name = true)`,
    );
  }
  plain.push(performance.now() - started);
  c.closeSync();
  instance.closeSync();
  const summary = await cli(
    'load',
    '--lake',
    lake,
    '--warehouse',
    path.join(work, `ours-${r}.duckdb`),
    '--include-raw',
    '--full-refresh',
  );
  ours.push(summary.durationMs);
  rows = summary.tables.reduce((n, t) => n + t.rowsInserted, 0);
  process.stderr.write(
    `full load run ${r + 1}: shopstream ${summary.durationMs} ms, plain DuckDB ${plain.at(-1).toFixed(0)} ms (${rows} rows)\n`,
  );
}

// incremental: one new hour of events, rebuilt marts, then load into the first warehouse
const incremental = [];
let incRows = 0;
for (let r = 0; r < runs; r++) {
  const hour = path.join(work, `hour-${r}.ndjson`);
  const start = new Date(Date.parse('2026-11-03T00:00:00Z') + r * 3_600_000).toISOString();
  await run(process.execPath, [
    bin,
    'generate',
    '--events',
    String(Math.round(events / 48)),
    '--out',
    hour,
    '--seed',
    String(300 + r),
    '--start',
    start,
    '--hours',
    '1',
  ]);
  await cli('ingest', hour, '--lake', lake, '--max-bad-ratio', '1');
  await cli('build-marts', '--lake', lake, '--warn-only');
  const summary = await cli(
    'load',
    '--lake',
    lake,
    '--warehouse',
    path.join(work, 'ours-0.duckdb'),
    '--include-raw',
  );
  incremental.push(summary.durationMs);
  incRows = summary.tables.reduce((n, t) => n + t.rowsInserted + t.rowsDeleted, 0);
  process.stderr.write(
    `incremental load run ${r + 1}: ${summary.durationMs} ms (${incRows} rows inserted or deleted)\n`,
  );
}
// Snowflake, through the real driver against the local protocol endpoint: statements and bytes
// per load (full, then one more incremental hour).
process.env.SNOWFLAKE_DISABLE_PLATFORM_DETECTION = 'true';
const emulator = await startSnowflakeEmulator();
const db = await DuckDb.open();
const lakeApi = new Lake(new LocalStore(lake), db);
const snowflake = await SnowflakeWarehouse.open(
  lakeApi,
  {
    account: emulator.account,
    username: emulator.user,
    password: emulator.password,
    accessUrl: emulator.accessUrl,
  },
  'bench',
  'bench',
);
const measure = async (fullRefresh) => {
  const statements = emulator.statements.length;
  const { requestBytes, stagedBytes } = emulator.traffic;
  const started = performance.now();
  const summary = await loadWarehouse(lakeApi, snowflake, { includeRaw: true, fullRefresh });
  return {
    ms: performance.now() - started,
    statements: emulator.statements.length - statements,
    requestBytes: emulator.traffic.requestBytes - requestBytes,
    stagedBytes: emulator.traffic.stagedBytes - stagedBytes,
    rows: summary.tables.reduce((n, t) => n + t.rowsInserted + t.rowsDeleted, 0),
  };
};
const sfFull = await measure(true);
const hourFile = path.join(work, 'hour-sf.ndjson');
await run(process.execPath, [
  bin,
  'generate',
  '--events',
  String(Math.round(events / 48)),
  '--out',
  hourFile,
  '--seed',
  '399',
  '--start',
  '2026-11-03T05:00:00Z',
  '--hours',
  '1',
]);
await cli('ingest', hourFile, '--lake', lake, '--max-bad-ratio', '1');
await cli('build-marts', '--lake', lake, '--warn-only');
const sfIncremental = await measure(false);
await snowflake.close();
db.close();
await emulator.stop();
rmSync(work, { recursive: true, force: true });

const rate = (n, ms) => Math.round(n / (ms / 1000)).toLocaleString('en-US');
const lines = [
  '',
  `## load — ${new Date().toISOString().slice(0, 10)}`,
  '',
  `${machine()} Lake from ${events.toLocaleString('en-US')} generated events; the 7 tables hold ${rows.toLocaleString('en-US')} rows. Median of ${runs} runs.`,
  '',
  '| measure | time | rows/s | ratio |',
  '|---|---|---|---|',
  `| plain DuckDB: CREATE TABLE AS SELECT over the live files | ${(median(plain) / 1000).toFixed(2)} s | ${rate(rows, median(plain))} | 1.00 |`,
  `| shopstream load --include-raw --full-refresh (with _lake_file, control rows, one transaction per table) | ${(median(ours) / 1000).toFixed(2)} s | ${rate(rows, median(ours))} | ${(median(plain) / median(ours)).toFixed(2)} |`,
  `| shopstream load, incremental (1 new hour + rebuilt mart partitions) | ${(median(incremental) / 1000).toFixed(2)} s | ${rate(incRows, median(incremental))} | — |`,
  '',
  '',
  "Snowflake (real snowflake-sdk against the local protocol endpoint; the endpoint runs DuckDB, so times are not Snowflake's):",
  '',
  '| load | statements | request bytes | staged Parquet bytes | rows inserted + deleted |',
  '|---|---|---|---|---|',
  `| full (7 tables) | ${sfFull.statements} | ${sfFull.requestBytes.toLocaleString('en-US')} | ${sfFull.stagedBytes.toLocaleString('en-US')} | ${sfFull.rows.toLocaleString('en-US')} |`,
  `| incremental (1 new hour) | ${sfIncremental.statements} | ${sfIncremental.requestBytes.toLocaleString('en-US')} | ${sfIncremental.stagedBytes.toLocaleString('en-US')} | ${sfIncremental.rows.toLocaleString('en-US')} |`,
];
appendResults(lines);

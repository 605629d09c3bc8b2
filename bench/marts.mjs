#!/usr/bin/env node
// bench/marts: build-marts on 5M generated events over 2 days — a full build, and incremental
// builds of one new hour each — against one hand-written DuckDB query that builds the sessions
// table from the same raw_events files, in the same run. Median of several runs.
// Usage: node bench/marts.mjs [--events 5000000] [--runs 3]. Needs `npm run build`. Appends to bench/RESULTS.md.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { appendResults, arg, bin, liveFiles, machine, median, root } from './lib.mjs';

const events = Number(arg('events', '5000000'));
const runs = Number(arg('runs', '3'));
const dataDir = path.join(root, 'bench/data');
mkdirSync(dataDir, { recursive: true });
const cli = (...args) =>
  JSON.parse(
    execFileSync(process.execPath, [bin, ...args, '--json'], {
      encoding: 'utf8',
      env: { ...process.env, CI: 'true' },
      maxBuffer: 1 << 26,
    }),
  );

const base = path.join(dataDir, `events-${events}.ndjson`);
if (!existsSync(base))
  execFileSync(
    process.execPath,
    [bin, 'generate', '--events', String(events), '--out', base, '--seed', '1'],
    { stdio: 'inherit' },
  );
const hourly = events / 48;
const lake = mkdtempSync(path.join(os.tmpdir(), 'bench-marts-'));
cli('ingest', base, '--lake', lake, '--max-bad-ratio', '1');

// The baseline: sessions (30-minute gap) from the same live raw_events files, one query.
async function handWrittenSessions() {
  const files = liveFiles(lake, 'raw_events')
    .map((f) => `'${f}'`)
    .join(',');
  const instance = await DuckDBInstance.create(':memory:');
  const c = await instance.connect();
  await c.run("SET TimeZone = 'UTC'");
  const started = performance.now();
  await c.run(`CREATE TABLE sessions AS
    WITH e AS (SELECT user_id, event_time, event_type, ip, cart_value, amount FROM read_parquet([${files}])),
    g AS (SELECT *, CASE WHEN lag(event_time) OVER w IS NULL
                           OR epoch_us(event_time) - epoch_us(lag(event_time) OVER w) > 1800000000 THEN 1 ELSE 0 END AS s
          FROM e WINDOW w AS (PARTITION BY user_id ORDER BY event_time)),
    n AS (SELECT *, sum(s) OVER (PARTITION BY user_id ORDER BY event_time ROWS UNBOUNDED PRECEDING) AS sn FROM g)
    SELECT user_id, sn, min(event_time) AS start_time, max(event_time) AS end_time, count(*) AS events,
           count(*) FILTER (WHERE event_type = 'product_view') AS product_views,
           count(*) FILTER (WHERE event_type = 'add_to_cart') AS add_to_carts,
           count(*) FILTER (WHERE event_type = 'purchase') AS purchases,
           sum(amount) FILTER (WHERE event_type = 'purchase') AS revenue, count(DISTINCT ip) AS distinct_ips
    FROM n GROUP BY user_id, sn`);
  const ms = performance.now() - started;
  c.closeSync();
  instance.closeSync();
  return ms;
}

const full = [];
const baseline = [];
for (let r = 0; r < runs; r++) {
  baseline.push(await handWrittenSessions());
  full.push(cli('build-marts', '--lake', lake, '--full-refresh', '--warn-only').durationMs);
  process.stderr.write(
    `full run ${r + 1}: build-marts ${full.at(-1)} ms, hand-written sessions ${baseline.at(-1).toFixed(0)} ms\n`,
  );
}
const incremental = [];
for (let r = 0; r < runs; r++) {
  const hourFile = path.join(dataDir, `hour-${r}-${events}.ndjson`);
  const start = new Date(Date.parse('2026-11-03T00:00:00Z') + r * 3_600_000).toISOString();
  execFileSync(
    process.execPath,
    [
      bin,
      'generate',
      '--events',
      String(Math.round(hourly)),
      '--out',
      hourFile,
      '--seed',
      String(100 + r),
      '--start',
      start,
      '--hours',
      '1',
    ],
    { stdio: 'ignore' },
  );
  cli('ingest', hourFile, '--lake', lake, '--max-bad-ratio', '1');
  const summary = cli('build-marts', '--lake', lake, '--warn-only');
  if (summary.mode !== 'incremental') throw new Error(`expected an incremental build, got ${summary.mode}`);
  incremental.push(summary.durationMs);
  process.stderr.write(`incremental run ${r + 1}: ${summary.durationMs} ms\n`);
}
rmSync(lake, { recursive: true, force: true });

const mFull = median(full);
const mBase = median(baseline);
const mInc = median(incremental);
const lines = [
  '',
  `## marts — ${new Date().toISOString().slice(0, 10)}`,
  '',
  `${machine()} ${events.toLocaleString('en-US')} generated events over 2 days; median of ${runs} runs.`,
  '',
  '| measure | time | ratio |',
  '|---|---|---|',
  `| hand-written DuckDB sessions query (baseline) | ${(mBase / 1000).toFixed(2)} s | 1.00 |`,
  `| build-marts --full-refresh (all 6 marts + quality checks) | ${(mFull / 1000).toFixed(2)} s | ${(mFull / mBase).toFixed(2)}x the baseline |`,
  `| build-marts incremental (1 new hour, ~${Math.round(hourly).toLocaleString('en-US')} events) | ${(mInc / 1000).toFixed(2)} s | ${(mFull / mInc).toFixed(1)}x faster than full |`,
];
appendResults(lines);

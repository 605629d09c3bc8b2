#!/usr/bin/env node
// bench/marts: build-marts on 5M generated events over 2 days — a full build, and incremental
// builds of one new hour each — against one hand-written DuckDB query that builds the sessions
// table from the same raw_events files, in the same run. Median of several runs.
// Usage: node bench/marts.mjs [--events 5000000] [--runs 3]. Needs `npm run build`. Appends to bench/RESULTS.md.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin/run.js');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const events = Number(arg('events', '5000000'));
const runs = Number(arg('runs', '3'));
const dataDir = path.join(root, 'bench/data');
mkdirSync(dataDir, { recursive: true });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
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
  const files = (await liveRawFiles()).map((f) => `'${f}'`).join(',');
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
async function liveRawFiles() {
  // the live files, by replaying the JSON log (no checkpoints in a fresh bench lake below 10 commits)
  const log = path.join(lake, 'raw_events', '_delta_log');
  const live = new Map();
  for (const name of execFileSync('ls', [log], { encoding: 'utf8' })
    .split('\n')
    .filter((n) => /^\d{20}\.json$/.test(n))
    .sort()) {
    for (const line of readFileSync(path.join(log, name), 'utf8').trim().split('\n')) {
      const action = JSON.parse(line);
      if (action.add)
        live.set(action.add.path, path.join(lake, 'raw_events', decodeURIComponent(action.add.path)));
      if (action.remove) live.delete(action.remove.path);
    }
  }
  return [...live.values()];
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
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const duckdbVersion = JSON.parse(
  readFileSync(path.join(root, 'node_modules/@duckdb/node-api/package.json'), 'utf8'),
).version;
const lines = [
  '',
  `## marts — ${new Date().toISOString().slice(0, 10)}`,
  '',
  `Machine: ${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, DuckDB ${duckdbVersion}. ${events.toLocaleString('en-US')} generated events over 2 days; median of ${runs} runs.`,
  '',
  '| measure | time | ratio |',
  '|---|---|---|',
  `| hand-written DuckDB sessions query (baseline) | ${(mBase / 1000).toFixed(2)} s | 1.00 |`,
  `| build-marts --full-refresh (all 6 marts + quality checks) | ${(mFull / 1000).toFixed(2)} s | ${(mFull / mBase).toFixed(2)}x the baseline |`,
  `| build-marts incremental (1 new hour, ~${Math.round(hourly).toLocaleString('en-US')} events) | ${(mInc / 1000).toFixed(2)} s | ${(mFull / mInc).toFixed(1)}x faster than full |`,
];
const results = path.join(root, 'bench/RESULTS.md');
if (!existsSync(results))
  writeFileSync(
    results,
    '# Benchmark results\n\nEach section is one run of a `bench/` script on the machine it names.\n',
  );
writeFileSync(results, readFileSync(results, 'utf8') + lines.join('\n') + '\n');
process.stdout.write(`${lines.join('\n')}\n`);

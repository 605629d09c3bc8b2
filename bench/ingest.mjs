#!/usr/bin/env node
// bench/ingest: shopstream ingest vs raw DuckDB doing the same work on the same generated file, in
// the same run. Median of several runs. Usage: node bench/ingest.mjs [--events 1000000,5000000] [--runs 3]
// Appends a section to bench/RESULTS.md. Needs `npm run build` first (uses dist/ and bin/run.js).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { appendResults, arg, bin, machine, median, root } from './lib.mjs';

const sizes = arg('events', '1000000,5000000').split(',').map(Number);
const runs = Number(arg('runs', '3'));
const dataDir = path.join(root, 'bench/data');
mkdirSync(dataDir, { recursive: true });

async function duckdbBaseline(file, partitioned) {
  const out = mkdtempSync(path.join(os.tmpdir(), 'bench-duckdb-'));
  const instance = await DuckDBInstance.create(':memory:');
  const c = await instance.connect();
  await c.run("SET TimeZone = 'UTC'");
  const started = performance.now();
  if (partitioned) {
    // The same output layout as shopstream: typed event time, dt/hour Hive partitions, zstd.
    await c.run(`COPY (SELECT *, CAST(event_time AS DATE) AS dt, hour(event_time) AS hour
                      FROM (SELECT *, TRY_CAST("timestamp" AS TIMESTAMPTZ) AS event_time
                            FROM read_json('${file}', format = 'newline_delimited', ignore_errors = true))
                      WHERE event_time IS NOT NULL)
                 TO '${out}' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (dt, hour))`);
  } else {
    await c.run(`COPY (SELECT * FROM read_json('${file}', format = 'newline_delimited', ignore_errors = true))
                 TO '${out}/all.parquet' (FORMAT parquet, COMPRESSION zstd)`);
  }
  const ms = performance.now() - started;
  c.closeSync();
  instance.closeSync();
  rmSync(out, { recursive: true, force: true });
  return ms;
}

function shopstreamIngest(file) {
  const lake = mkdtempSync(path.join(os.tmpdir(), 'bench-lake-'));
  const started = performance.now();
  const stdout = execFileSync(
    process.execPath,
    [bin, 'ingest', file, '--lake', lake, '--json', '--max-bad-ratio', '1'],
    {
      encoding: 'utf8',
      env: { ...process.env, CI: 'true' },
      maxBuffer: 1 << 26,
    },
  );
  const wall = performance.now() - started;
  const summary = JSON.parse(stdout);
  rmSync(lake, { recursive: true, force: true });
  return { wall, inProcess: summary.durationMs, read: summary.read, written: summary.written };
}

const rows = [];
for (const n of sizes) {
  const file = path.join(dataDir, `events-${n}.ndjson`);
  if (!existsSync(file)) {
    execFileSync(process.execPath, [bin, 'generate', '--events', String(n), '--out', file, '--seed', '1'], {
      stdio: 'inherit',
    });
  }
  const bytes = statSync(file).size;
  const plain = [];
  const partitioned = [];
  const ours = [];
  for (let r = 0; r < runs; r++) {
    plain.push(await duckdbBaseline(file, false));
    partitioned.push(await duckdbBaseline(file, true));
    ours.push(shopstreamIngest(file));
    process.stderr.write(
      `events ${n} run ${r + 1}/${runs}: duckdb ${plain.at(-1).toFixed(0)} ms, partitioned ${partitioned.at(-1).toFixed(0)} ms, shopstream ${ours.at(-1).inProcess} ms (wall ${ours.at(-1).wall.toFixed(0)} ms)\n`,
    );
  }
  const read = ours[0].read;
  const mPlain = median(plain);
  const mPart = median(partitioned);
  const mOurs = median(ours.map((o) => o.inProcess));
  const mWall = median(ours.map((o) => o.wall));
  rows.push({ n, bytes, read, written: ours[0].written, mPlain, mPart, mOurs, mWall });
}

const eps = (count, ms) => Math.round(count / (ms / 1000)).toLocaleString('en-US');
const lines = [
  '',
  `## ingest — ${new Date().toISOString().slice(0, 10)}`,
  '',
  `${machine()} Median of ${runs} runs.`,
  '',
  '| events | file | DuckDB COPY (1 file) | DuckDB COPY partitioned dt/hour | shopstream ingest (in process) | shopstream (CLI wall) | ratio vs COPY | ratio vs partitioned COPY |',
  '|---|---|---|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.n.toLocaleString('en-US')} | ${(r.bytes / 2 ** 20).toFixed(0)} MiB | ${(r.mPlain / 1000).toFixed(2)} s (${eps(r.read, r.mPlain)}/s) | ${(r.mPart / 1000).toFixed(2)} s (${eps(r.read, r.mPart)}/s) | ${(r.mOurs / 1000).toFixed(2)} s (${eps(r.read, r.mOurs)}/s) | ${(r.mWall / 1000).toFixed(2)} s | ${((r.mPlain / r.mOurs) * 100).toFixed(0)}% | ${((r.mPart / r.mOurs) * 100).toFixed(0)}% |`,
  ),
  '',
  'Ratio = DuckDB time ÷ shopstream time (throughput relative to raw DuckDB; 100% = as fast).',
];
appendResults(lines);

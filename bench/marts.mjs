#!/usr/bin/env node
// bench/marts: build-marts on generated events over 2 days, in the same run as its reference:
// - full: `build-marts --full-refresh` vs the hand-written DuckDB script of the same six marts
//   (bench/marts-reference.sql, run by bench/marts-reference.mjs), in pairs A B A B; the reference's
//   rows are checked equal to the marts build-marts wrote before anything is timed;
// - incremental: `build-marts` after ingesting one new hour, vs the full build.
// Each run is a whole process timed with /usr/bin/time: CPU (user+sys) and wall. The machine is
// shared, so CPU ratios are the figures to quote; median of --runs.
// Usage: node bench/marts.mjs [--events 5000000] [--runs 3] [--data FILE]. Needs `npm run build`.
// Appends to bench/RESULTS.md.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { appendResults, arg, bin, machine, median, root } from './lib.mjs';

const events = Number(arg('events', '5000000'));
const runs = Number(arg('runs', '3'));
const dataDir = path.join(root, 'bench/data');
mkdirSync(dataDir, { recursive: true });
const scratch = mkdtempSync(path.join(os.tmpdir(), 'bench-marts-'));
const lake = path.join(scratch, 'lake');
const refOut = path.join(scratch, 'reference');
const env = { ...process.env, CI: 'true' };

/** Runs a command under /usr/bin/time; returns its CPU and wall seconds and its stdout. */
function timed(command, args) {
  const timesFile = path.join(scratch, 'time.txt');
  const stdout = execFileSync('/usr/bin/time', ['-o', timesFile, '-f', '%U %S %e', command, ...args], {
    encoding: 'utf8',
    env,
    maxBuffer: 1 << 26,
  });
  const [user, sys, wall] = readFileSync(timesFile, 'utf8').trim().split('\n').at(-1).split(' ').map(Number);
  return { cpu: user + sys, wall, stdout };
}
const cli = (...args) => timed(process.execPath, [bin, ...args, '--json']);
const reference = (...extra) =>
  timed(process.execPath, [
    path.join(root, 'bench/marts-reference.mjs'),
    '--lake',
    lake,
    '--out',
    refOut,
    ...extra,
  ]);

const data = arg('data', path.join(dataDir, `events-${events}.ndjson`));
if (!existsSync(data))
  execFileSync(
    process.execPath,
    [bin, 'generate', '--events', String(events), '--out', data, '--seed', '1'],
    {
      stdio: 'inherit',
    },
  );
cli('ingest', data, '--lake', lake, '--max-bad-ratio', '1');

// the reference must compute what build-marts computes: checked once, before timing
cli('build-marts', '--lake', lake, '--full-refresh', '--warn-only');
const check = JSON.parse(reference('--check').stdout);
process.stderr.write(`reference check: ${JSON.stringify(check)}\n`);

const full = [];
const ref = [];
for (let r = 0; r < runs; r++) {
  full.push(cli('build-marts', '--lake', lake, '--full-refresh', '--warn-only'));
  ref.push(reference());
  process.stderr.write(
    `full run ${r + 1}: build-marts ${full.at(-1).cpu.toFixed(1)} s CPU, reference ${ref.at(-1).cpu.toFixed(1)} s CPU\n`,
  );
}
const incremental = [];
const hourly = Math.round(events / 48);
for (let r = 0; r < runs; r++) {
  const hourFile = path.join(scratch, `hour-${r}.ndjson`);
  const start = new Date(Date.parse('2026-11-03T00:00:00Z') + r * 3_600_000).toISOString();
  execFileSync(process.execPath, [
    bin,
    'generate',
    '--events',
    String(hourly),
    '--out',
    hourFile,
    '--seed',
    String(100 + r),
    '--start',
    start,
    '--hours',
    '1',
  ]);
  cli('ingest', hourFile, '--lake', lake, '--max-bad-ratio', '1');
  const run = cli('build-marts', '--lake', lake, '--warn-only');
  const mode = JSON.parse(run.stdout).mode;
  if (mode !== 'incremental') throw new Error(`expected an incremental build, got ${mode}`);
  incremental.push(run);
  process.stderr.write(`incremental run ${r + 1}: ${run.cpu.toFixed(1)} s CPU\n`);
}
rmSync(scratch, { recursive: true, force: true });

const m = (xs, key) => median(xs.map((x) => x[key]));
const ratio = (as, bs, key) => median(as.map((a, i) => a[key] / bs[i][key]));
const equal = Object.values(check).every((d) => d.lakeOnly === 0 && d.referenceOnly === 0);
const lines = [
  '',
  `## marts — ${new Date().toISOString().slice(0, 10)}`,
  '',
  `${machine()} ${events.toLocaleString('en-US')} generated events over 2 days; median of ${runs} runs, each a whole process under /usr/bin/time; ratios are medians of the pairs. The machine is shared: quote CPU (user+sys), wall is noisier.`,
  `Reference check: ${equal ? 'the hand-written script produced the same rows as build-marts for all six marts' : `DIFFERENT rows: ${JSON.stringify(check)}`}.`,
  '',
  '| measure | CPU | wall | ratio (CPU) | ratio (wall) |',
  '|---|---|---|---|---|',
  `| hand-written DuckDB script, the six marts (bench/marts-reference.sql) | ${m(ref, 'cpu').toFixed(2)} s | ${m(ref, 'wall').toFixed(2)} s | 1.00 | 1.00 |`,
  `| build-marts --full-refresh (six marts + quality checks) | ${m(full, 'cpu').toFixed(2)} s | ${m(full, 'wall').toFixed(2)} s | ${ratio(full, ref, 'cpu').toFixed(2)}x the reference | ${ratio(full, ref, 'wall').toFixed(2)}x |`,
  `| build-marts incremental (1 new hour, ~${hourly.toLocaleString('en-US')} events) | ${m(incremental, 'cpu').toFixed(2)} s | ${m(incremental, 'wall').toFixed(2)} s | ${(m(full, 'cpu') / m(incremental, 'cpu')).toFixed(1)}x faster than full | ${(m(full, 'wall') / m(incremental, 'wall')).toFixed(1)}x |`,
];
appendResults(lines);
if (!equal) process.exitCode = 1;

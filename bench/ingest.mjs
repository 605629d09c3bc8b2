#!/usr/bin/env node
// bench/ingest: `shopstream ingest` vs the issue's reference, DuckDB `read_json` -> the raw_events
// columns, typed -> dt/hour-partitioned zstd Parquet (bench/ingest-reference.mjs), on the same file
// in the same run. Each is its own process, timed by /usr/bin/time (wall, user+sys CPU, peak RSS),
// run in turn (reference, shopstream, reference, ...); medians, and the ratio of each pair.
// With --floor, each round also runs bench/ingest-validation-floor.mjs (DuckDB reading the file and
// applying ingest's staging rules, nothing else): how close to the reference any ingest that
// validates like shopstream could come on this machine.
// Usage: node bench/ingest.mjs [--events 1000000,5000000] [--runs 3] [--data DIR] [--floor]
// DIR holds (or receives) events-<N>m.ndjson.gz, generated with --seed 7. Needs `npm run build`.
// Appends a section to bench/RESULTS.md.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { appendResults, arg, bin, machine, median, root } from './lib.mjs';

const sizes = arg('events', '1000000,5000000').split(',').map(Number);
const runs = Number(arg('runs', '3'));
const dataDir = arg('data', path.join(root, 'bench/data'));
const withFloor = process.argv.includes('--floor');
mkdirSync(dataDir, { recursive: true });

/** Runs a command under /usr/bin/time: wall and CPU seconds, peak RSS in MiB, its stdout. */
function timed(command, args) {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'bench-time-'));
  const report = path.join(scratch, 'time');
  const run = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', '-o', report, command, ...args], {
    encoding: 'utf8',
    env: { ...process.env, CI: 'true' },
    maxBuffer: 1 << 26,
  });
  if (run.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${run.status}): ${run.stderr}`);
  const [wall, user, sys, kb] = readFileSync(report, 'utf8').trim().split('\n').at(-1).split(' ').map(Number);
  rmSync(scratch, { recursive: true, force: true });
  return { wall, cpu: user + sys, rssMiB: kb / 1024, stdout: run.stdout };
}

/** One of the DuckDB scripts (the reference, the validation floor) writing FILE's events to a temp folder. */
function script(name, file) {
  const out = mkdtempSync(path.join(os.tmpdir(), 'bench-reference-'));
  const result = timed(process.execPath, [path.join(root, 'bench', name), file, out]);
  rmSync(out, { recursive: true, force: true });
  return result;
}
const reference = (file) => script('ingest-reference.mjs', file);

function shopstream(file) {
  const lake = mkdtempSync(path.join(os.tmpdir(), 'bench-lake-'));
  const result = timed(process.execPath, [
    bin,
    'ingest',
    file,
    '--lake',
    lake,
    '--json',
    '--max-bad-ratio',
    '1',
  ]);
  rmSync(lake, { recursive: true, force: true });
  const summary = JSON.parse(result.stdout);
  return { ...result, read: summary.read, written: summary.written };
}

const rows = [];
for (const n of sizes) {
  const file = path.join(dataDir, `events-${n / 1e6}m.ndjson.gz`);
  if (!existsSync(file)) {
    execFileSync(process.execPath, [bin, 'generate', '--events', String(n), '--out', file, '--seed', '7'], {
      stdio: 'inherit',
    });
  }
  const ref = [];
  const ours = [];
  const floor = [];
  for (let r = 0; r < runs; r++) {
    ref.push(reference(file));
    ours.push(shopstream(file));
    if (withFloor) floor.push(script('ingest-validation-floor.mjs', file));
    const [a, b] = [ref.at(-1), ours.at(-1)];
    process.stderr.write(
      `events ${n} run ${r + 1}/${runs}: reference ${a.wall} s wall ${a.cpu.toFixed(1)} s CPU ${a.rssMiB.toFixed(0)} MiB; shopstream ${b.wall} s wall ${b.cpu.toFixed(1)} s CPU ${b.rssMiB.toFixed(0)} MiB${withFloor ? `; validation floor ${floor.at(-1).wall} s wall ${floor.at(-1).cpu.toFixed(1)} s CPU` : ''}\n`,
    );
  }
  const pair = (f) => median(ref.map((a, i) => f(a) / f(ours[i])));
  const floorPair = (f) => median(ref.map((a, i) => f(a) / f(floor[i])));
  rows.push({
    n,
    bytes: statSync(file).size,
    read: ours[0].read,
    written: ours[0].written,
    ref: {
      wall: median(ref.map((r) => r.wall)),
      cpu: median(ref.map((r) => r.cpu)),
      rss: median(ref.map((r) => r.rssMiB)),
    },
    ours: {
      wall: median(ours.map((r) => r.wall)),
      cpu: median(ours.map((r) => r.cpu)),
      rss: median(ours.map((r) => r.rssMiB)),
    },
    wallRatio: pair((r) => r.wall),
    cpuRatio: pair((r) => r.cpu),
    rssRatio: median(ours.map((o, i) => o.rssMiB / ref[i].rssMiB)),
    floor: withFloor
      ? {
          wall: median(floor.map((r) => r.wall)),
          cpu: median(floor.map((r) => r.cpu)),
          wallRatio: floorPair((r) => r.wall),
          cpuRatio: floorPair((r) => r.cpu),
        }
      : undefined,
  });
}

const eps = (count, s) => `${Math.round(count / s / 1000)}k/s`;
const lines = [
  '',
  `## ingest — ${new Date().toISOString().slice(0, 10)}`,
  '',
  `${machine()} Load average at the end: ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}. Median of ${runs} runs, each a separate process, reference and shopstream in turn.`,
  'Reference: DuckDB `read_json` (typed columns) -> the raw_events columns -> zstd Parquet partitioned by dt/hour (bench/ingest-reference.mjs).',
  '',
  '| events | file (gz) | reference wall / CPU / peak RSS | shopstream wall / CPU / peak RSS | throughput vs reference (wall) | CPU-time ratio | peak RSS ÷ reference |',
  '|---|---|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.n.toLocaleString('en-US')} | ${(r.bytes / 2 ** 20).toFixed(0)} MiB | ${r.ref.wall.toFixed(2)} s (${eps(r.read, r.ref.wall)}) / ${r.ref.cpu.toFixed(2)} s / ${r.ref.rss.toFixed(0)} MiB | ${r.ours.wall.toFixed(2)} s (${eps(r.read, r.ours.wall)}) / ${r.ours.cpu.toFixed(2)} s / ${r.ours.rss.toFixed(0)} MiB | ${(r.wallRatio * 100).toFixed(0)}% | ${(r.cpuRatio * 100).toFixed(0)}% | ${r.rssRatio.toFixed(2)}x |`,
  ),
  '',
  'Throughput vs reference = reference wall ÷ shopstream wall, pair by pair (100% = as fast); CPU-time ratio the same with user+sys seconds (less sensitive to other load on the machine).',
  ...(withFloor
    ? [
        '',
        'Validation floor (bench/ingest-validation-floor.mjs: DuckDB reads the file and applies only the staging rules, then writes the accepted rows; no line numbers, integrity check, deduplication, quarantine or log): the most any ingest that validates like shopstream could reach here.',
        '',
        '| events | floor wall / CPU | floor vs reference (wall) | floor vs reference (CPU) |',
        '|---|---|---|---|',
        ...rows.map(
          (r) =>
            `| ${r.n.toLocaleString('en-US')} | ${r.floor.wall.toFixed(2)} s / ${r.floor.cpu.toFixed(2)} s | ${(r.floor.wallRatio * 100).toFixed(0)}% | ${(r.floor.cpuRatio * 100).toFixed(0)}% |`,
        ),
      ]
    : []),
];
appendResults(lines);

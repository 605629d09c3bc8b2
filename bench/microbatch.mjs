#!/usr/bin/env node
// bench/microbatch: feeds generated events to `shopstream microbatch --from -` at a fixed rate for a
// while and measures sustained throughput and the latency from an event's arrival (written to the
// pipe) to its alert (per-event rules: bots, big carts, big quantities), at 1M events/minute and
// higher until it falls behind. Events are offered on a fixed schedule (the feeder never waits for
// the consumer), and latency counts from each event's scheduled offer time. Compares with DuckDB computing the fraud_user_minute aggregate
// for one minute of the same data. Usage: node bench/microbatch.mjs [--seconds 120] [--rates 1,2,3]
// [--from-spawn] [--cpu-prof DIR] [--batches FILE] [--latencies FILE] [--no-append]
import { execFileSync, spawn } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { DuckDBInstance } from '@duckdb/node-api';
import { appendResults, arg, bin, machine, median, root } from './lib.mjs';

const seconds = Number(arg('seconds', '120'));
const rates = arg('rates', '1,2,4').split(',').map(Number); // millions of events per minute
// --cpu-prof DIR: the consumer writes a V8 CPU profile there; --batches FILE: its per-batch metric
// lines are copied there; --no-append: RESULTS.md is left alone (profiling runs)
const cpuProf = arg('cpu-prof', '');
const batchesFile = arg('batches', '');
const latenciesFile = arg('latencies', '');
const append = !process.argv.includes('--no-append');
// By default the offer starts once the consumer is up: it has answered a probe line (refused by the
// staging rules: no event, no watermark move) with its first batch metric, so start-up (process,
// CLI, DuckDB, planning: reported as "ready after") is not counted as stream latency. --from-spawn:
// the offer starts when the consumer is spawned (the method of the sections before 2026-12-03 late),
// its start-up and the catch-up on what queued meanwhile included in the latencies.
const fromSpawn = process.argv.includes('--from-spawn');
const source = path.join(root, 'bench/data/events-1000000.ndjson');
if (!existsSync(source)) {
  // the feeder's input: generated once (seed 7), as bench/ingest.mjs does for its files
  mkdirSync(path.dirname(source), { recursive: true });
  execFileSync(process.execPath, [bin, 'generate', '--events', '1000000', '--out', source, '--seed', '7'], {
    stdio: 'inherit',
  });
}
const lines = readFileSync(source, 'utf8').split('\n').filter(Boolean);
const idOf = (line) => line.slice(13, line.indexOf('"', 13));
const pct = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};

async function runAt(millionsPerMinute) {
  const spawned = Date.now();
  const work = mkdtempSync(path.join(os.tmpdir(), 'bench-mb-'));
  const child = spawn(
    process.execPath,
    [
      ...(cpuProf ? ['--cpu-prof', '--cpu-prof-dir', cpuProf] : []),
      bin,
      'microbatch',
      '--from',
      '-',
      '--no-land',
      '--interval',
      '0.1',
      '--metrics',
      '--lake',
      path.join(work, 'lake'),
    ],
    {
      env: { ...process.env, CI: 'true' },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  // Event i is OFFERED at started + i / rate, whether or not the consumer keeps up: the feeder
  // never waits for the pipe to drain (what it cannot write yet queues in this process, as a
  // producer's backlog would), so a slow consumer shows as latency and lag, not as a lower rate.
  const offeredAt = new Map();
  const latencies = [];
  const batchLatencies = [];
  let processed = 0;
  let lastMetricAt = 0;
  let ready;
  const firstMetric = new Promise((resolve) => {
    ready = resolve;
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    const alert = JSON.parse(line);
    if (!alert.eventId) return;
    const at = offeredAt.get(alert.eventId);
    if (at === undefined) return;
    latencies.push(Date.parse(alert.emittedAt) - at);
    if (latenciesFile) appendFileSync(latenciesFile, `${at - started} ${Date.parse(alert.emittedAt) - at}\n`);
  });
  createInterface({ input: child.stderr }).on('line', (line) => {
    if (!line.startsWith('{"metric"')) return;
    const m = JSON.parse(line);
    if (batchesFile) appendFileSync(batchesFile, `${line}\n`);
    processed += m.events + (m.rejected ?? 0);
    lastMetricAt = Date.now();
    batchLatencies.push(m.batchLatencyMs);
    ready();
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  if (!fromSpawn) {
    child.stdin.write('{"probe":"bench/microbatch.mjs: refused, starts the offer"}\n');
    const answer = await Promise.race([firstMetric.then(() => 'ready'), exited]);
    if (answer !== 'ready')
      throw new Error(`the consumer exited (code ${answer}) before answering the probe`);
    processed = 0;
    batchLatencies.length = 0;
  }
  const readyMs = Date.now() - spawned;
  const perMs = (millionsPerMinute * 1_000_000) / 60_000;
  const total = Math.round(perMs * seconds * 1000);
  const started = Date.now();
  let sent = 0;
  let cursor = 0;
  let overflow = false;
  while (sent < total) {
    const due = Math.min(total, Math.floor((Date.now() - started) * perMs));
    let chunk = '';
    for (; sent < due; sent++) {
      const line = lines[cursor++ % lines.length];
      offeredAt.set(idOf(line), started + sent / perMs);
      chunk += `${line}\n`;
    }
    if (chunk) child.stdin.write(chunk);
    if (child.stdin.writableLength > 1024 ** 3) {
      overflow = true; // over 1 GiB queued: hopelessly behind
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const offerSeconds = (Date.now() - started) / 1000;
  const processedWhileOffering = processed;
  child.stdin.end();
  // a consumer that died (exit code other than 0) did not keep up, whatever it processed before
  const exitCode = await exited;
  const drainedSeconds = ((lastMetricAt || Date.now()) - started) / 1000;
  rmSync(work, { recursive: true, force: true });
  const offeredPerMinute = Math.round((sent / offerSeconds) * 60);
  return {
    rate: millionsPerMinute,
    offeredPerMinute,
    // all of it, over the time until the last batch: below the offered rate = fell behind
    processedPerMinute: Math.round((processed / drainedSeconds) * 60),
    // more than 2 s of offered input not yet processed when the offer ended
    behind: overflow || exitCode !== 0 || sent - processedWhileOffering > perMs * 2000,
    exitCode,
    readyMs,
    p50: Math.round(pct(latencies, 50)),
    p95: Math.round(pct(latencies, 95)),
    p99: Math.round(pct(latencies, 99)),
    alerts: latencies.length,
    batchP95: pct(batchLatencies, 95),
  };
}

// The SQL comparison: DuckDB computing fraud_user_minute for one minute of the same data.
async function sqlOneMinute() {
  const work = mkdtempSync(path.join(os.tmpdir(), 'bench-mb-sql-'));
  const file = path.join(work, 'minute.ndjson');
  const minute = lines.filter((l) => l.includes('"timestamp":"2026-11-01T12:00:'));
  writeFileSync(file, `${minute.join('\n')}\n`);
  const instance = await DuckDBInstance.create(':memory:');
  const c = await instance.connect();
  const times = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    await c.run(`SELECT user_id, date_trunc('minute', CAST("timestamp" AS TIMESTAMPTZ)) AS minute, count(*) AS events,
                        sum(coalesce(properties.cart_value, 0)) AS total_value, count(DISTINCT ip) AS distinct_ips
                 FROM read_json('${file}', format = 'newline_delimited') GROUP BY ALL HAVING count(*) > 100 OR sum(coalesce(properties.cart_value, 0)) > 50000`);
    times.push(performance.now() - t);
  }
  c.closeSync();
  instance.closeSync();
  rmSync(work, { recursive: true, force: true });
  return { events: minute.length, ms: median(times) };
}

const results = [];
for (const rate of rates) {
  const r = await runAt(rate);
  results.push(r);
  process.stderr.write(`${rate}M/min: ${JSON.stringify(r)}\n`);
  if (r.behind) break;
}
const sql = append ? await sqlOneMinute() : undefined;
if (sql)
  appendResults([
    '',
    `## microbatch — ${new Date().toISOString().slice(0, 10)}`,
    '',
    `${machine()} Generated events piped into \`shopstream microbatch --from - --interval 0.1 --no-land\` for ${seconds} s per rate. ${fromSpawn ? 'The offer starts when the consumer is spawned (its start-up and the catch-up counted as latency).' : 'The offer starts once the consumer has answered a probe line (start-up not counted: "ready after").'} Events offered on a fixed schedule whatever the consumer does (the feeder never waits for the pipe); latency = alert emitted − the event's scheduled offer time, over alerts naming an event (bots, carts > $10,000, quantity > 50); keeps up = less than 2 s of offered input unprocessed when the offer ends.`,
    '',
    '| offered | processed | keeps up | alert latency p50 / p95 / p99 | batch latency p95 | alerts measured | ready after |',
    '|---|---|---|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${(r.offeredPerMinute / 1e6).toFixed(2)}M/min | ${(r.processedPerMinute / 1e6).toFixed(2)}M/min | ${r.behind ? 'no' : 'yes'} | ${r.p50} / ${r.p95} / ${r.p99} ms | ${r.batchP95} ms | ${r.alerts} | ${r.readyMs} ms |`,
    ),
    '',
    `For comparison, DuckDB computing the fraud_user_minute aggregate over one minute of the same data (${sql.events.toLocaleString('en-US')} events, from NDJSON): ${sql.ms.toFixed(0)} ms (median of 5) — a batch query that only starts once the minute is complete.`,
  ]);

#!/usr/bin/env node
// bench/microbatch: feeds generated events to `shopstream microbatch --from -` at a fixed rate for a
// while and measures sustained throughput and the latency from an event's arrival (written to the
// pipe) to its alert (per-event rules: bots, big carts, big quantities), at 1M events/minute and
// higher until it falls behind. Compares with DuckDB computing the fraud_user_minute aggregate
// for one minute of the same data. Usage: node bench/microbatch.mjs [--seconds 120] [--rates 1,2,3]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { DuckDBInstance } from '@duckdb/node-api';
import { appendResults, arg, bin, machine, median, root } from './lib.mjs';

const seconds = Number(arg('seconds', '120'));
const rates = arg('rates', '1,2,3').split(',').map(Number); // millions of events per minute
const source = path.join(root, 'bench/data/events-1000000.ndjson');
const lines = readFileSync(source, 'utf8').split('\n').filter(Boolean);
const idOf = (line) => line.slice(13, line.indexOf('"', 13));
const pct = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};

async function runAt(millionsPerMinute) {
  const work = mkdtempSync(path.join(os.tmpdir(), 'bench-mb-'));
  const child = spawn(
    process.execPath,
    [
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
  const written = new Map();
  const latencies = [];
  const batchLatencies = [];
  let processed = 0;
  createInterface({ input: child.stdout }).on('line', (line) => {
    const alert = JSON.parse(line);
    if (!alert.eventId) return;
    const at = written.get(alert.eventId);
    if (at !== undefined) latencies.push(Date.parse(alert.emittedAt) - at);
  });
  createInterface({ input: child.stderr }).on('line', (line) => {
    if (!line.startsWith('{"metric"')) return;
    const m = JSON.parse(line);
    processed += m.events;
    batchLatencies.push(m.batchLatencyMs);
  });
  const perTick = Math.round((millionsPerMinute * 1_000_000) / 600); // every 100 ms
  const started = Date.now();
  let sent = 0;
  let cursor = 0;
  while (Date.now() - started < seconds * 1000) {
    const tickStart = Date.now();
    let chunk = '';
    for (let i = 0; i < perTick; i++) {
      const line = lines[cursor++ % lines.length];
      written.set(idOf(line), Date.now());
      chunk += `${line}\n`;
    }
    sent += perTick;
    if (!child.stdin.write(chunk)) await new Promise((resolve) => child.stdin.once('drain', resolve));
    const wait = 100 - (Date.now() - tickStart);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  const sendSeconds = (Date.now() - started) / 1000;
  const lagAtEnd = sent - processed;
  child.stdin.end();
  await new Promise((resolve) => child.on('exit', resolve));
  rmSync(work, { recursive: true, force: true });
  return {
    rate: millionsPerMinute,
    offeredPerMinute: Math.round((sent / sendSeconds) * 60),
    processedPerMinute: Math.round((processed / ((Date.now() - started) / 1000)) * 60),
    behind: lagAtEnd > perTick * 20, // more than 2 s of input not yet processed when sending stopped
    p50: pct(latencies, 50),
    p95: pct(latencies, 95),
    p99: pct(latencies, 99),
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
const sql = await sqlOneMinute();
appendResults([
  '',
  `## microbatch — ${new Date().toISOString().slice(0, 10)}`,
  '',
  `${machine()} Generated events piped into \`shopstream microbatch --from - --interval 0.1 --no-land\` for ${seconds} s per rate. Latency = alert emitted − event written to the pipe, over per-event alerts (bots, carts > $10,000, quantity > 50).`,
  '',
  '| offered | processed | keeps up | alert latency p50 / p95 / p99 | batch latency p95 | alerts measured |',
  '|---|---|---|---|---|---|',
  ...results.map(
    (r) =>
      `| ${(r.offeredPerMinute / 1e6).toFixed(2)}M/min | ${(r.processedPerMinute / 1e6).toFixed(2)}M/min | ${r.behind ? 'no' : 'yes'} | ${r.p50} / ${r.p95} / ${r.p99} ms | ${r.batchP95} ms | ${r.alerts} |`,
  ),
  '',
  `For comparison, DuckDB computing the fraud_user_minute aggregate over one minute of the same data (${sql.events.toLocaleString('en-US')} events, from NDJSON): ${sql.ms.toFixed(0)} ms (median of 5) — a batch query that only starts once the minute is complete.`,
]);

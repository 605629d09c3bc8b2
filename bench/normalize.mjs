#!/usr/bin/env node
// bench/normalize: in-process cost of the micro-batch's event normalizer (staging SQL +
// live_events.sql + conversion) per batch of --batch lines (6,700 = 4M events/min in 0.1 s batches),
// median over --batches batches after 3 warm-up ones. --dist DIR measures another build (e.g. an
// older commit's dist/) on the same data. Usage: node bench/normalize.mjs --file events.ndjson
// [--batch 6700] [--batches 40] [--threads 1] [--dist dist]
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { arg, median, root } from './lib.mjs';

const dist = path.resolve(arg('dist', path.join(root, 'dist')));
const file = arg('file', path.join(root, 'bench/data/events-1000000.ndjson'));
const batch = Number(arg('batch', '6700'));
const batches = Number(arg('batches', '40'));
const threads = Number(arg('threads', '1'));
const { EventNormalizer } = await import(pathToFileURL(path.join(dist, 'stream/normalize.js')).href);
const raw = readFileSync(file, 'utf8').split('\n').filter(Boolean);
const normalizer = await EventNormalizer.open(
  { maxFutureHours: 24 * 365 * 10, minEventDate: '2000-01-01', threads },
  { sessionTimeoutMinutes: 30, currency: { default: 'USD' } },
);
const times = [];
let offset = 0;
for (let b = 0; b < batches + 3; b++) {
  if (offset + batch > raw.length) offset = 0;
  const lines = raw
    .slice(offset, offset + batch)
    .map((text, i) => ({ source: 'stdin', line: offset + i + 1, raw: text, arrivedAt: 0 }));
  offset += batch;
  const started = performance.now();
  const { events } = await normalizer.normalize(lines);
  const elapsed = performance.now() - started;
  if (events.length === 0) throw new Error('no events accepted: check --file');
  if (b >= 3) times.push(elapsed);
}
normalizer.close();
const ms = median(times);
console.log(
  JSON.stringify({
    dist: path.relative(root, dist) || dist,
    batch,
    batches,
    threads,
    medianMs: Math.round(ms * 10) / 10,
    usPerEvent: Math.round((ms / batch) * 1000 * 10) / 10,
  }),
);

// CLI start-up: `shopstream --version` and a local `query` against a bare `node -e 0` in the same run,
// interleaved (A B A B), whole processes, median of N runs each. Usage: node bench/startup.mjs [--runs 15]
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { arg, bin, machine, median, root } from './lib.mjs';

const runs = Number(arg('runs', '15'));
const dir = mkdtempSync(path.join(os.tmpdir(), 'shopstream-bench-startup-'));
const lake = path.join(dir, 'lake');
const run = (args) => {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
};
run([bin, 'ingest', path.join(root, 'fixtures/demo/events.ndjson'), '--lake', lake]);

const cases = {
  'node -e 0 (reference)': ['-e', '0'],
  'shopstream --version': [bin, '--version'],
  'shopstream query (local lake)': [bin, 'query', 'SELECT count(*) FROM raw_events', '--lake', lake],
};
const times = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (let i = 0; i < runs + 1; i++) {
  for (const [name, args] of Object.entries(cases)) {
    const ms = run(args);
    if (i > 0) times[name].push(ms); // the first round warms the file cache
  }
}
console.log(machine());
console.log(`${runs} runs each, interleaved, wall ms median:`);
const ref = median(times['node -e 0 (reference)']);
for (const [name, values] of Object.entries(times)) {
  const m = median(values);
  console.log(`  ${name.padEnd(32)} ${m.toFixed(0).padStart(6)} ms  (${(m / ref).toFixed(2)}x node -e 0)`);
}

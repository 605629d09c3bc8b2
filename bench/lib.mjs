// Shared by the bench/ scripts: flags, medians, the machine line, live files, RESULTS.md.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const bin = path.join(root, 'bin/run.js');

/** `--name value` from the command line, or the fallback. */
export function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

export function median(values) {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
}

export function duckdbVersion() {
  return JSON.parse(readFileSync(path.join(root, 'node_modules/@duckdb/node-api/package.json'), 'utf8'))
    .version;
}

/** "Machine: <cpu>, <n> cores, <GiB>, Node <v>, DuckDB <v>." */
export function machine() {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `Machine: ${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, DuckDB ${duckdbVersion()}.`;
}

/** The live data files of a local lake table, by replaying its JSON log. */
export function liveFiles(lakeDir, table) {
  const log = path.join(lakeDir, table, '_delta_log');
  const live = new Map();
  for (const name of readdirSync(log)
    .filter((n) => /^\d{20}\.json$/.test(n))
    .sort()) {
    for (const line of readFileSync(path.join(log, name), 'utf8').trim().split('\n')) {
      const action = JSON.parse(line);
      if (action.add)
        live.set(action.add.path, path.join(lakeDir, table, decodeURIComponent(action.add.path)));
      if (action.remove) live.delete(action.remove.path);
    }
  }
  return [...live.values()];
}

/** Appends a section to bench/RESULTS.md and prints it. */
export function appendResults(lines) {
  const results = path.join(root, 'bench/RESULTS.md');
  if (!existsSync(results)) {
    writeFileSync(
      results,
      '# Benchmark results\n\nEach section is one run of a `bench/` script on the machine it names.\n',
    );
  }
  writeFileSync(results, `${readFileSync(results, 'utf8')}${lines.join('\n')}\n`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

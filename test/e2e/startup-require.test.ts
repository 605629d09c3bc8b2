import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { BIN, fixture, ROOT, tempDir } from '../helpers/cli.js';

/**
 * @duckdb/node-api is CommonJS: imported from ESM, Node lexes all its modules for named exports
 * first (~110 ms CPU more per command than require). The engine loads it with require. Traced, no
 * timing: the ESM resolutions and our own requires are recorded apart.
 */
function trace(args: readonly string[], cwd: string): { imports: string[]; requires: string[] } {
  const id = Math.random().toString(36).slice(2);
  const files = {
    imports: path.join(cwd, `imports-${id}.txt`),
    requires: path.join(cwd, `requires-${id}.txt`),
  };
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env))
    if (!key.startsWith('SHOPSTREAM_') && value !== undefined) env[key] = value;
  const result = spawnSync(
    process.execPath,
    ['--import', path.join(ROOT, 'test/helpers/trace-imports.mjs'), BIN, ...args],
    {
      cwd,
      env: { ...env, SHOPSTREAM_TRACE_IMPORTS: files.imports, SHOPSTREAM_TRACE_REQUIRES: files.requires },
      encoding: 'utf8',
      timeout: 600_000,
    },
  );
  expect(result.status, result.stderr).toBe(0);
  const read = (file: string) =>
    existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
  return { imports: read(files.imports), requires: read(files.requires) };
}

it('commands load the DuckDB API with require, never through an ESM import', () => {
  const dir = tempDir('startup-require');
  const lake = path.join(dir, 'lake');
  for (const args of [
    ['ingest', fixture('demo', 'events.ndjson'), '--lake', lake],
    ['build-marts', '--lake', lake],
    ['query', 'SELECT count(*) FROM raw_events', '--lake', lake],
  ]) {
    const { imports, requires } = trace(args, dir);
    expect(requires, args.join(' ')).toContain('@duckdb/node-api');
    expect(imports, args.join(' ')).not.toContain('@duckdb/node-api');
  }
});

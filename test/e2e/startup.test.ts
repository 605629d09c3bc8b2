import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, fixture, ROOT, tempDir } from '../helpers/cli.js';

/**
 * Start-up cost is part of every command: the CLI must import only what a command uses. Each run is
 * traced (test/helpers/trace-imports.mjs records every package a process imports); no timing.
 */
function importsOf(args: readonly string[], cwd: string): string[] {
  const trace = path.join(cwd, `imports-${Math.random().toString(36).slice(2)}.txt`);
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env))
    if (!key.startsWith('SHOPSTREAM_') && value !== undefined) env[key] = value;
  const result = spawnSync(
    process.execPath,
    ['--import', path.join(ROOT, 'test/helpers/trace-imports.mjs'), BIN, ...args],
    { cwd, env: { ...env, SHOPSTREAM_TRACE_IMPORTS: trace }, encoding: 'utf8', timeout: 600_000 },
  );
  expect(result.status, result.stderr).toBe(0);
  return existsSync(trace) ? [...new Set(readFileSync(trace, 'utf8').split('\n').filter(Boolean))] : [];
}

const CLOUD = [/^@aws-sdk\//, /^snowflake-sdk/, /^ioredis/, /^vega/];
const cloudIn = (imports: readonly string[]) => imports.filter((i) => CLOUD.some((c) => c.test(i)));

describe('CLI start-up', () => {
  it('--version and --help load no command and no engine; local commands load no cloud SDK', () => {
    const dir = tempDir('startup');
    const lake = path.join(dir, 'lake');
    const warehouse = path.join(dir, 'warehouse.duckdb');

    for (const args of [['--version'], ['--help'], ['query', '--help'], ['report', 'query', '--help']]) {
      const imports = importsOf(args, dir);
      expect(imports, args.join(' ')).not.toContain('@duckdb/node-api');
      expect(cloudIn(imports), args.join(' ')).toEqual([]);
    }

    const local = [
      ['ingest', fixture('demo', 'events.ndjson'), '--lake', lake],
      ['build-marts', '--lake', lake],
      ['load', '--lake', lake, '--warehouse', warehouse],
      ['query', 'SELECT count(*) FROM raw_events', '--lake', lake],
      ['report', 'conversion', '--lake', lake, '--warehouse', warehouse],
      ['report', 'query', 'conversion', '--lake', lake, '--warehouse', warehouse],
      ['table', 'list', '--lake', lake],
    ];
    for (const args of local) {
      const imports = importsOf(args, dir);
      expect(imports, args.join(' ')).toContain('@duckdb/node-api');
      expect(cloudIn(imports), args.join(' ')).toEqual([]);
    }
    // the query command loads nothing but the engine, oclif and the config schema
    expect(
      importsOf(['query', 'SELECT 1', '--lake', lake], dir).filter(
        (i) => !/^(@duckdb\/|@oclif\/|zod)/.test(i) && !/^(is-|wsl-|powershell-)/.test(i),
      ),
    ).toEqual([]);
    // and the trace does see what a command loads on use: the HTML report loads vega
    expect(importsOf(['report', '--out', path.join(dir, 'r.html'), '--lake', lake], dir)).toContain('vega');
    expect(importsOf(['report', 'html', '--out', path.join(dir, 'h.html'), '--lake', lake], dir)).toContain(
      'vega',
    );
  });
});

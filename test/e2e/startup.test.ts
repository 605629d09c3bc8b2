import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixture, tempDir } from '../helpers/cli.js';
import { loadsOf } from '../helpers/trace-loads.js';

/**
 * Start-up cost is part of every command: the CLI must import only what a command uses. Each run is
 * traced (test/helpers/trace-loads.ts: every package a process loads); no timing.
 */
const importsOf = (args: readonly string[], cwd: string): readonly string[] => loadsOf(args, cwd).all;

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

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { BIN, ROOT } from './cli.js';

/** The packages a command loaded: through ESM imports, through our own code's require, and both. */
export interface Loads {
  readonly imports: readonly string[];
  readonly requires: readonly string[];
  readonly all: readonly string[];
}

/**
 * Runs the CLI with ARGS under test/helpers/trace-imports.mjs (no timing: what a process loads is
 * recorded, not how long it takes) and returns what it loaded, each package once. The run must succeed.
 */
export function loadsOf(args: readonly string[], cwd: string): Loads {
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
    existsSync(file) ? [...new Set(readFileSync(file, 'utf8').split('\n').filter(Boolean))] : [];
  const imports = read(files.imports);
  const requires = read(files.requires);
  return { imports, requires, all: [...new Set([...imports, ...requires])] };
}

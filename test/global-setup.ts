import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The CLI and multi-process tests run the built code: build dist/ and the oclif manifest once before
 * the suite. Every temp folder of the run (the tests' lakes, the CLI processes' and DuckDB's scratch)
 * goes under one folder, TMPDIR for the workers and every process they start, removed at the end:
 * repeated runs do not fill the machine's /tmp.
 */
export default function setup(): () => void {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  execFileSync(
    process.execPath,
    [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json')],
    {
      stdio: 'inherit',
    },
  );
  // The manifest lets the CLI start without importing every command; a stale one would hide new flags.
  execFileSync(process.execPath, [path.join(root, 'scripts/write-manifest.mjs')], { stdio: 'inherit' });
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'shopstream-tests-'));
  process.env.TMPDIR = scratch;
  return () => rmSync(scratch, { recursive: true, force: true });
}

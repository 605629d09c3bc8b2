import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The CLI and multi-process tests run the built code: build dist/ and the oclif manifest once before the suite. */
export default function setup(): void {
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
}

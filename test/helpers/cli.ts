import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'bin/run.js');
export const fixture = (...parts: string[]) => path.join(ROOT, 'fixtures', ...parts);

export interface CliResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the built CLI (dist/) as a user would, in a pipe (no TTY), with a clean SHOPSTREAM_* env. */
export function cli(
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): CliResult {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env))
    if (!key.startsWith('SHOPSTREAM_') && value !== undefined) env[key] = value;
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? tempDir('cli-cwd'),
    env: { ...env, ...options.env },
    encoding: 'utf8',
    // a safety net against a hung process, never a speed limit (vitest cannot interrupt spawnSync)
    timeout: 600_000,
  });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** Like `cli`, without blocking the event loop: for tests whose servers run in this process. */
export function cliAsync(
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env))
    if (!key.startsWith('SHOPSTREAM_') && value !== undefined) env[key] = value;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? tempDir('cli-cwd'),
      env: { ...env, ...options.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ status: code ?? -1, stdout, stderr }));
  });
}

export function tempDir(label: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `shopstream-test-${label}-`));
}

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cliAsync, fixture, ROOT, tempDir } from '../helpers/cli.js';

const HOLDER = path.join(ROOT, 'test/helpers/duckdb-lock-holder.mjs');

/** Starts a real second process holding the DuckDB file's lock; resolves once it holds it. */
async function holdLock(file: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [HOLDER, file], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`lock holder exited with ${code} before taking the lock`)));
  });
  return child;
}

describe('a DuckDB warehouse file locked by another process', () => {
  let holder: ChildProcess | undefined;
  afterEach(async () => {
    if (holder && holder.exitCode === null) {
      holder.stdin!.end();
      await once(holder, 'exit');
    }
    holder = undefined;
  });

  it('exits 75 (retryable conflict) naming the file, and succeeds once the lock is released', async () => {
    const dir = tempDir('wh-lock');
    const lake = path.join(dir, 'lake');
    const warehouse = path.join(dir, 'warehouse.duckdb');
    const ingest = await cliAsync(['ingest', fixture('demo', 'events.ndjson'), '--lake', lake]);
    expect(ingest.status, ingest.stderr).toBe(0);
    holder = await holdLock(warehouse);

    const locked = await cliAsync(['load', '--lake', lake, '--warehouse', warehouse, '--json']);
    expect(locked.status, locked.stderr).toBe(75);
    const error = JSON.parse(locked.stderr.trim().split('\n').at(-1)!).error;
    expect(error.code).toBe('WAREHOUSE_LOCKED');
    expect(error.message).toContain(warehouse);

    const plain = await cliAsync(['load', '--lake', lake, '--warehouse', warehouse]);
    expect(plain.status).toBe(75);
    expect(plain.stderr).toContain(`the warehouse file ${warehouse} is in use by another process`);

    holder.stdin!.end();
    await once(holder, 'exit');
    const retried = await cliAsync(['load', '--lake', lake, '--warehouse', warehouse, '--json']);
    expect(retried.status, retried.stderr).toBe(0);
  });
});

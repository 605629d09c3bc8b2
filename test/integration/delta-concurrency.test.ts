import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DuckDb } from '../../src/engine/duckdb.js';
import { Lake } from '../../src/lake/table/lake.js';
import { LocalStore } from '../../src/storage/local-store.js';
import { ROOT, tempDir } from '../helpers/cli.js';

const WORKER = path.join(ROOT, 'test/helpers/lake-worker.mjs');

function run(
  lakeDir: string,
  mode: string,
  worker = 'w',
  count = 1,
): { child: ChildProcess; done: Promise<string> } {
  const child = spawn(process.execPath, [WORKER, lakeDir, mode, worker, String(count)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const done = new Promise<string>((resolve, reject) =>
    child.on('exit', (code, signal) =>
      code === 0 ? resolve(out) : reject(new Error(`worker ${mode} exited ${code ?? signal}: ${err}`)),
    ),
  );
  return { child, done };
}

describe('commits across processes', () => {
  let dir: string;
  let db: DuckDb;
  let lake: Lake;
  const logDir = () => path.join(dir, 'race', '_delta_log');
  const commits = () =>
    readdirSync(logDir())
      .filter((f) => /^\d{20}\.json$/.test(f))
      .sort();

  beforeEach(async () => {
    dir = tempDir('race');
    db = await DuckDb.open();
    lake = new Lake(new LocalStore(dir), db);
  });
  afterEach(() => db.close());

  it('two processes racing 15 appends each: one commit per version, contiguous, no append lost', async () => {
    await run(dir, 'ensure').done;
    const [a, b] = [run(dir, 'append', 'a', 15), run(dir, 'append', 'b', 15)];
    const [outA, outB] = await Promise.all([a.done, b.done]);
    const versions = [...outA.trim().split('\n'), ...outB.trim().split('\n')]
      .map(Number)
      .sort((x, y) => x - y);
    expect(versions).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(commits()).toHaveLength(31);
    // each commit is one writer's append (its worker parameter) and no version was written twice
    const writers = commits()
      .slice(1)
      .map(
        (f) =>
          JSON.parse(readFileSync(path.join(logDir(), f), 'utf8').split('\n')[0]!).commitInfo
            .operationParameters.worker,
      );
    expect(writers.filter((w: string) => w === 'a')).toHaveLength(15);
    expect(writers.filter((w: string) => w === 'b')).toHaveLength(15);
    await lake.table('race').register('race');
    expect(
      await db.all(
        'SELECT worker, count(*)::INT AS n, count(DISTINCT i)::INT AS d FROM race GROUP BY 1 ORDER BY 1',
      ),
    ).toEqual([
      { worker: 'a', n: 15, d: 15 },
      { worker: 'b', n: 15, d: 15 },
    ]);
    // checkpoints were written every 10 commits along the way
    expect(existsSync(path.join(logDir(), '00000000000000000010.checkpoint.parquet'))).toBe(true);
    expect(existsSync(path.join(logDir(), '00000000000000000030.checkpoint.parquet'))).toBe(true);
  });

  it('two processes creating the same table leave exactly one version 0', async () => {
    const results = await Promise.all([run(dir, 'ensure').done, run(dir, 'ensure').done]);
    expect(results.map((r) => r.trim())).toEqual(['0', '0']);
    expect(commits()).toEqual(['00000000000000000000.json']);
  });

  it('an overwrite computed from an old snapshot fails with a retryable conflict after a concurrent append', async () => {
    const table = lake.table('race');
    const before = await table.ensure({
      columns: [
        { name: 'worker', type: 'string' },
        { name: 'i', type: 'long' },
      ],
    });
    await run(dir, 'append', 'other', 1).done;
    await db.run("CREATE OR REPLACE TEMP TABLE batch AS SELECT 'mine' AS worker, CAST(0 AS BIGINT) AS i");
    await expect(
      table.write({ relation: 'batch', mode: 'overwrite', operation: 'WRITE', readSnapshot: before }),
    ).rejects.toMatchObject({
      kind: 'conflict',
      exitCode: 75,
    });
    // a blind append from the same old snapshot goes on at the next version
    const appended = await table.write({
      relation: 'batch',
      mode: 'append',
      operation: 'WRITE',
      readSnapshot: before,
    });
    expect(appended.version).toBe(2);
  });

  it('a writer killed after writing data files but before committing leaves nothing visible; the rerun commits once', async () => {
    const crash = run(dir, 'crash');
    await new Promise<void>((resolve) =>
      crash.child.stdout!.on('data', (d) => String(d).includes('WRITTEN') && resolve()),
    );
    crash.child.kill('SIGKILL');
    await crash.done.catch(() => undefined);
    const orphans = readdirSync(path.join(dir, 'race')).filter((f) => f.endsWith('.parquet'));
    expect(orphans).toHaveLength(1);
    expect(commits()).toEqual(['00000000000000000000.json']);
    await lake.table('race').register('race');
    expect(await db.all('SELECT count(*)::INT AS n FROM race')).toEqual([{ n: 0 }]);
    // plain DuckDB over the folder would see the orphan; the log-based reader does not
    expect(
      await db.all(`SELECT count(*)::INT AS n FROM read_parquet('${path.join(dir, 'race', '*.parquet')}')`),
    ).toEqual([{ n: 1 }]);

    // a stray temp commit and a half-written next version name are ignored too
    mkdirSync(path.join(logDir(), '.tmp'), { recursive: true });
    writeFileSync(path.join(logDir(), '.tmp', '00000000000000000001.json'), '{"add":{"path":"x.parquet"}}\n');
    writeFileSync(path.join(logDir(), '00000000000000000001.json.tmp'), '{"add":{"path":"x.parquet"}}\n');
    expect((await run(dir, 'txn').done).trim()).toBe('COMMITTED');
    expect((await run(dir, 'txn').done).trim()).toBe('SKIPPED');
    await lake.table('race').register('race');
    expect(await db.all('SELECT worker, count(*)::INT AS n FROM race GROUP BY 1')).toEqual([
      { worker: 'job', n: 1 },
    ]);
  });
});

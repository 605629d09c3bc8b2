import { spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  utimesSync,
  watch,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/config-schema.js';
import { DuckDb } from '../../src/engine/duckdb.js';
import { checkpointTable } from '../../src/lake/operations/checkpoint.js';
import { vacuumTable } from '../../src/lake/operations/vacuum.js';
import { appendRows } from '../../src/lake/table/append-rows.js';
import { Lake } from '../../src/lake/table/lake.js';
import { LocalStore } from '../../src/storage/local-store.js';
import { HOST_TAG } from '../../src/storage/staging.js';
import { runQualityChecks } from '../../src/transforms/quality.js';
import { cli, cliAsync, ROOT, tempDir } from '../helpers/cli.js';

const DEFINITION = {
  columns: [
    { name: 'worker', type: 'string' as const },
    { name: 'i', type: 'long' as const },
  ],
};

/** Runs an ES module script in its own node process (the built dist/ modules), returning the child. */
function nodeScript(dir: string, source: string, args: readonly string[]) {
  const file = path.join(dir, `script-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(file, source.replaceAll('@DIST@', path.join(ROOT, 'dist')));
  const child = spawn(process.execPath, [file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<{ code: number | null; signal: string | null; out: string; err: string }>(
    (resolve) => child.on('exit', (code, signal) => resolve({ code, signal, out, err })),
  );
  return { child, exited, output: () => out };
}

function waitForLine(child: ReturnType<typeof nodeScript>): Promise<string> {
  return new Promise((resolve) => {
    const check = () => {
      const line = child.output().split('\n')[0];
      if (child.output().includes('\n')) resolve(line!);
    };
    child.child.stdout!.on('data', check);
    check();
  });
}

const mode = (p: string) => statSync(p).mode & 0o777;

describe('checkpoints: readers survive a broken one, writers never leave one half-written', () => {
  let dir: string;
  let db: DuckDb;
  let lake: Lake;
  const logDir = () => path.join(dir, 'race', '_delta_log');
  const checkpoint10 = () => path.join(logDir(), '00000000000000000010.checkpoint.parquet');

  beforeEach(async () => {
    dir = tempDir('ckpt-safety');
    db = await DuckDb.open();
    lake = new Lake(new LocalStore(dir), db);
    // version 0 creates, versions 1..12 append one row each; version 10 writes a checkpoint
    for (let i = 1; i <= 12; i++) await appendRows(lake, 'race', DEFINITION, [{ worker: 'w', i }]);
    expect(existsSync(checkpoint10())).toBe(true);
  });
  afterEach(() => db.close());

  const count = async (version?: number) => {
    await lake.table('race').register('race', version === undefined ? {} : { version });
    const [row] = await db.all<{ n: number; s: number }>(
      'SELECT count(*)::INT AS n, sum(i)::INT AS s FROM race',
    );
    return row;
  };

  it('a truncated checkpoint and a garbage _last_checkpoint: every version still reads its rows', async () => {
    truncateSync(checkpoint10(), Math.floor(statSync(checkpoint10()).size / 2));
    writeFileSync(path.join(logDir(), '_last_checkpoint'), '\u0000garbage{"version":');
    expect(await count()).toEqual({ n: 12, s: 78 });
    expect(await count(11)).toEqual({ n: 11, s: 66 });
    expect(await count(10)).toEqual({ n: 10, s: 55 });
    expect(await count(4)).toEqual({ n: 4, s: 10 });
    // an empty checkpoint file, and a _last_checkpoint naming a version that does not exist
    writeFileSync(checkpoint10(), '');
    writeFileSync(path.join(logDir(), '_last_checkpoint'), '{"version":999,"size":3}');
    expect(await count()).toEqual({ n: 12, s: 78 });
    // the CLI too (it exited 65 on such a table before)
    const listed = cli(['table', 'list', '--lake', dir, '--json']);
    expect(listed.status, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'race', version: 12, rows: 12 })]),
    );
    const queried = cli(['query', 'SELECT count(*) AS n FROM race', '--lake', dir, '--json']);
    expect(queried.status, queried.stderr).toBe(0);
    expect(queried.stdout).toContain('12');
  });

  it('a corrupt newer checkpoint falls back to an older readable one; a multi-part checkpoint missing a part is ignored', async () => {
    for (let i = 13; i <= 20; i++) await appendRows(lake, 'race', DEFINITION, [{ worker: 'w', i }]);
    const checkpoint20 = path.join(logDir(), '00000000000000000020.checkpoint.parquet');
    writeFileSync(checkpoint20, 'PAR1 not really parquet');
    writeFileSync(
      path.join(logDir(), '00000000000000000020.checkpoint.0000000001.0000000002.parquet'),
      readFileSync(checkpoint10()),
    );
    // commits before 10 are gone (log cleanup): only checkpoint 10 can supply the early state
    for (let v = 0; v < 10; v++) rmSync(path.join(logDir(), `${String(v).padStart(20, '0')}.json`));
    expect(await count()).toEqual({ n: 20, s: 210 });
    // with checkpoint 10 broken too, nothing can rebuild versions 0-9: a clear data error, not a crash
    truncateSync(checkpoint10(), 100);
    await expect(lake.table('race').snapshot()).rejects.toMatchObject({
      code: 'LOG_GAP',
      exitCode: 65,
      message: expect.stringMatching(/no readable checkpoint.*unreadable/),
    });
  });

  it('putFile from another filesystem copies beside the target and renames: a kill mid-copy leaves no partial file at the final name', async () => {
    const shm = '/dev/shm';
    if (!existsSync(shm) || statSync(shm).dev === statSync(dir).dev) {
      console.warn('skipped: no tmpfs at /dev/shm on another filesystem than the lake');
      return;
    }
    const source = path.join(shm, `shopstream-test-${process.pid}-${Date.now()}.parquet`);
    const size = 128 * 1024 * 1024;
    writeFileSync(source, Buffer.alloc(size, 7));
    try {
      const key = 'race/_delta_log/00000000000000000012.checkpoint.parquet';
      const target = path.join(dir, key);
      const created: string[] = [];
      const watcher = watch(logDir());
      const writer = nodeScript(
        dir,
        `import { LocalStore } from '@DIST@/storage/local-store.js';
         const [root, source, key] = process.argv.slice(2);
         await new LocalStore(root).putFile(source, key);`,
        [dir, source, key],
      );
      // kill -9 the writer as soon as it creates its first name in _delta_log/
      watcher.on('change', (_event, name) => {
        if (created.length === 0) writer.child.kill('SIGKILL');
        created.push(String(name));
      });
      const result = await writer.exited;
      watcher.close();
      console.log(
        `putFile writer ended by ${result.signal ?? result.code}; names created: ${created.join(', ')}`,
      );
      // whenever it died, the final name is absent or whole
      if (existsSync(target)) expect(statSync(target).size).toBe(size);
      if (result.signal === 'SIGKILL') {
        // the mechanism: the first file the copy created is a temp name in the same folder
        expect(created[0]).toMatch(/^\.00000000000000000012\.checkpoint\.parquet\..*\.tmp$/);
      }
      // and whatever is left there, the table reads as before
      expect(await count()).toEqual({ n: 12, s: 78 });
      // a temp file a killed writer left in _delta_log/ goes with the next `table checkpoint` a day later
      const leftover = path.join(logDir(), '.00000000000000000011.json.0000.tmp');
      writeFileSync(leftover, 'partial');
      expect((await checkpointTable(lake, 'race')).logFilesDeleted).toEqual([]);
      const { logFilesDeleted } = await checkpointTable(lake, 'race', Date.now() + 2 * 24 * 3600_000);
      expect(logFilesDeleted).toContain('.00000000000000000011.json.0000.tmp');
      expect(readdirSync(logDir()).filter((n) => n.endsWith('.tmp'))).toEqual([]);
      expect(await count()).toEqual({ n: 12, s: 78 });
    } finally {
      rmSync(source, { force: true });
    }
  });
});

describe('staging: inside the lake, private, and cleaned after a crash', () => {
  let dir: string;
  let db: DuckDb;

  beforeEach(async () => {
    dir = tempDir('staging');
    db = await DuckDb.open();
  });
  afterEach(() => db.close());

  it('staging folders are 0700 under <lake>/_shopstream/tmp/; a killed writer`s folder goes at the next start', async () => {
    const store = new LocalStore(dir);
    const staging = await store.stagingDir('write');
    expect(path.dirname(staging)).toBe(path.join(dir, '_shopstream', 'tmp'));
    expect(mode(staging)).toBe(0o700);
    expect(mode(path.join(dir, '_shopstream', 'tmp'))).toBe(0o700);

    // a writer killed -9 while its Parquet file is staged
    const writer = nodeScript(
      dir,
      `import { writeFileSync } from 'node:fs';
       import { LocalStore } from '@DIST@/storage/local-store.js';
       const folder = await new LocalStore(process.argv[2]).stagingDir('write');
       writeFileSync(folder + '/part-1.parquet', 'personal data');
       process.stdout.write(folder + '\\n');
       await new Promise(() => undefined);`,
      [dir],
    );
    const leftover = await waitForLine(writer);
    writer.child.kill('SIGKILL');
    await writer.exited;
    expect(existsSync(path.join(leftover, 'part-1.parquet'))).toBe(true);
    // another host's folder: kept while recent (its owner may run), removed when a day old
    const tmp = path.join(dir, '_shopstream', 'tmp');
    const foreignRecent = path.join(tmp, 'write-00000000-1-abcdef');
    const foreignOld = path.join(tmp, 'write-00000000-2-abcdef');
    mkdirSync(foreignRecent);
    mkdirSync(foreignOld);
    const twoDaysAgo = new Date(Date.now() - 48 * 3600_000);
    utimesSync(foreignOld, twoDaysAgo, twoDaysAgo);

    // the next process to stage cleans up; this process's own folder stays
    const next = await new LocalStore(dir).stagingDir('write');
    const names = readdirSync(tmp);
    expect(names).not.toContain(path.basename(leftover));
    expect(names).not.toContain(path.basename(foreignOld));
    expect(names).toEqual(
      expect.arrayContaining([path.basename(staging), path.basename(next), path.basename(foreignRecent)]),
    );
    expect(HOST_TAG).not.toBe('00000000');
  });

  it('ingest and checkpoint write nothing to $TMPDIR and leave nothing staged; _shopstream is never a table', async () => {
    const tmp = tempDir('tmpdir');
    const lakeDir = path.join(dir, 'lake');
    const env = { TMPDIR: tmp };
    const events = path.join(ROOT, 'fixtures/demo/events.ndjson');
    const ingested = cli(['ingest', events, '--lake', lakeDir, '--json'], { env });
    expect(ingested.status, ingested.stderr).toBe(0);
    const checkpointed = cli(['table', 'checkpoint', 'raw_events', '--lake', lakeDir, '--json'], { env });
    expect(checkpointed.status, checkpointed.stderr).toBe(0);
    expect(readdirSync(tmp).filter((n) => n.startsWith('shopstream-'))).toEqual([]);
    expect(readdirSync(path.join(lakeDir, '_shopstream', 'tmp'))).toEqual([]);

    // even a folder in _shopstream/ that looks like a table is not one
    const fake = path.join(lakeDir, '_shopstream', '_delta_log');
    mkdirSync(fake, { recursive: true });
    copyFileSync(
      path.join(lakeDir, 'raw_events', '_delta_log', '00000000000000000000.json'),
      path.join(fake, '00000000000000000000.json'),
    );
    const local = new Lake(new LocalStore(lakeDir), db);
    const names = await local.tableNames();
    expect(names).toEqual(expect.arrayContaining(['quarantine', 'raw_events']));
    expect(names).not.toContain('_shopstream');
    expect(() => local.table('_shopstream')).toThrow(/invalid table name/);
    const listed = cli(['table', 'list', '--lake', lakeDir, '--json'], { env });
    expect(JSON.parse(listed.stdout).map((t: { name: string }) => t.name)).toEqual(names);
    // vacuum of a table never reaches into the staging area
    mkdirSync(path.join(lakeDir, '_shopstream', 'tmp', 'write-00000000-1-zzzzzz'), { recursive: true });
    writeFileSync(path.join(lakeDir, '_shopstream', 'tmp', 'write-00000000-1-zzzzzz', 'part.parquet'), 'x');
    const vacuum = await vacuumTable(local, 'raw_events', { retentionHours: 0, force: true, dryRun: true });
    expect(vacuum.files.filter((f) => f.includes('_shopstream'))).toEqual([]);
  });
});

describe('deduplication under concurrency', () => {
  let dir: string;

  beforeEach(() => {
    dir = tempDir('dedupe-race');
  });

  const distinctCounts = async (lakeDir: string) => {
    const db = await DuckDb.open();
    try {
      const lake = new Lake(new LocalStore(lakeDir), db);
      await lake.table('raw_events').register('raw_events');
      const [row] = await db.all<{ n: number; d: number }>(
        'SELECT count(*)::INT AS n, count(DISTINCT event_id)::INT AS d FROM raw_events',
      );
      const quality = await runQualityChecks(lake, ConfigSchema.parse({}).marts);
      return { ...row!, unique: quality.checks.find((c) => c.name === 'unique_raw_event_id') };
    } finally {
      db.close();
    }
  };

  /** Runs ingests concurrently; a run that exits 75 (retryable conflict) is rerun, as a scheduler would. */
  const race = async (lakeDir: string, sources: readonly string[]) => {
    const results = await Promise.all(
      sources.map((source) =>
        cliAsync(['ingest', source, '--lake', lakeDir, '--json', '--max-bad-ratio', '1']),
      ),
    );
    for (const [i, result] of results.entries()) {
      expect([0, 75], result.stderr).toContain(result.status);
      if (result.status === 75) {
        const rerun = cli(['ingest', sources[i]!, '--lake', lakeDir, '--json', '--max-bad-ratio', '1']);
        expect(rerun.status, rerun.stderr).toBe(0);
      }
    }
    return results.map((r) => r.status);
  };

  it('a file and its renamed copy, and files with overlapping lines, ingested at once: each event lands once', async () => {
    const all = path.join(dir, 'all.ndjson');
    const generated = cli(['generate', '--events', '20000', '--out', all, '--seed', '11', '--days', '2']);
    expect(generated.status, generated.stderr).toBe(0);
    const lines = readFileSync(all, 'utf8').split('\n').filter(Boolean);
    const copy = path.join(dir, 'renamed-copy.ndjson');
    copyFileSync(all, copy);
    const head = path.join(dir, 'head.ndjson');
    const tail = path.join(dir, 'tail.ndjson');
    writeFileSync(head, `${lines.slice(0, 14000).join('\n')}\n`);
    writeFileSync(tail, `${lines.slice(6000).join('\n')}\n`);

    // what one ingest of everything lands
    const reference = path.join(dir, 'reference');
    expect(cli(['ingest', all, '--lake', reference, '--json', '--max-bad-ratio', '1']).status).toBe(0);
    const expected = await distinctCounts(reference);
    expect(expected.n).toBe(expected.d);
    expect(expected.n).toBeGreaterThan(15000);

    const renamed = path.join(dir, 'lake-renamed');
    // different files: the later commit re-checks against the earlier one and both succeed
    expect(await race(renamed, [all, copy])).toEqual([0, 0]);
    expect(await distinctCounts(renamed)).toMatchObject({
      n: expected.n,
      d: expected.n,
      unique: { failing: 0 },
    });

    const overlapping = path.join(dir, 'lake-overlap');
    expect(await race(overlapping, [head, tail])).toEqual([0, 0]);
    expect(await distinctCounts(overlapping)).toMatchObject({ n: expected.n, d: expected.n });

    // the same file twice at once: one may have to rerun (exit 75); nothing lands twice
    const same = path.join(dir, 'lake-same');
    console.log(`the same file twice at once exited ${(await race(same, [all, all])).join(' and ')}`);
    expect(await distinctCounts(same)).toMatchObject({ n: expected.n, d: expected.n });
  }, 240_000);

  it('an append with a read predicate fails with CONCURRENT_APPEND (exit 75) after a concurrent add there, and deletes its uncommitted files', async () => {
    const db = await DuckDb.open();
    try {
      const lake = new Lake(new LocalStore(dir), db);
      const table = lake.table('days');
      const definition = {
        columns: [
          { name: 'id', type: 'string' as const },
          { name: 'dt', type: 'date' as const },
        ],
        partitionColumns: ['dt'],
      };
      const before = await table.ensure(definition);
      await appendRows(lake, 'days', definition, [{ id: 'theirs', dt: '2026-11-20' }]);
      await db.run("CREATE TEMP TABLE mine AS SELECT 'mine' AS id, DATE '2026-11-20' AS dt");
      const request = {
        relation: 'mine',
        mode: 'append' as const,
        operation: 'WRITE',
        readSnapshot: before,
        readPartitions: [{ dt: '2026-11-20' }],
      };
      await expect(table.write(request)).rejects.toMatchObject({ code: 'CONCURRENT_APPEND', exitCode: 75 });
      const files = readdirSync(path.join(dir, 'days', 'dt=2026-11-20'));
      expect(files).toHaveLength(1); // only the committed one: the loser removed its own
      // another day is not in the predicate: goes on at the next version
      expect((await table.write({ ...request, readPartitions: [{ dt: '2026-11-19' }] })).version).toBe(2);
    } finally {
      db.close();
    }
  });

  it('the unique_raw_event_id quality check fails on a lake holding a duplicate event', async () => {
    const lakeDir = path.join(dir, 'lake');
    expect(cli(['ingest', path.join(ROOT, 'fixtures/demo/events.ndjson'), '--lake', lakeDir]).status).toBe(0);
    const db = await DuckDb.open();
    try {
      const lake = new Lake(new LocalStore(lakeDir), db);
      const config = ConfigSchema.parse({}).marts;
      const before = await runQualityChecks(lake, config);
      expect(before.checks.find((c) => c.name === 'unique_raw_event_id')).toMatchObject({
        severity: 'error',
        failing: 0,
        passed: true,
      });
      // land one event a second time through the lake API (a blind append, as racing ingests did)
      const raw = lake.table('raw_events');
      await raw.register('raw_events');
      await db.run('CREATE TEMP TABLE __dup AS SELECT * FROM raw_events ORDER BY event_id LIMIT 1');
      const { added } = await raw.write({ relation: '__dup', mode: 'append', operation: 'WRITE' });
      const after = await runQualityChecks(lake, config);
      expect(after.checks.find((c) => c.name === 'unique_raw_event_id')).toMatchObject({
        failing: 1,
        passed: false,
      });
      expect(after.passed).toBe(false);
      // an incremental build checks only its new raw files, against the rest of their days
      const incremental = await runQualityChecks(lake, config, new Map([['raw_events', added]]));
      expect(incremental.scope).toBe('build');
      expect(incremental.checks.find((c) => c.name === 'unique_raw_event_id')).toMatchObject({
        checked: 1,
        failing: 1,
        passed: false,
      });
    } finally {
      db.close();
    }
  });
});

import { readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DuckDb } from '../../src/engine/duckdb.js';
import type { AddFile } from '../../src/lake/log/actions.js';
import { Lake } from '../../src/lake/table/lake.js';
import { LocalStore } from '../../src/storage/local-store.js';
import { tempDir } from '../helpers/cli.js';

const COLUMNS = [
  { name: 'id', type: 'long' },
  { name: 'name', type: 'string' },
  { name: 'qty', type: 'integer' },
  { name: 'score', type: 'double' },
  { name: 'ok', type: 'boolean' },
  { name: 'seen_at', type: 'timestamp' },
  { name: 'amount', type: 'decimal(18,2)' },
  { name: 'day', type: 'date' },
  { name: 'tag', type: 'string' },
];

describe('Delta tables we write', () => {
  let dir: string;
  let db: DuckDb;
  let lake: Lake;
  const logLines = (version: number) =>
    readFileSync(path.join(dir, 't', '_delta_log', `${String(version).padStart(20, '0')}.json`), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));

  beforeEach(async () => {
    dir = tempDir('writer');
    db = await DuckDb.open();
    lake = new Lake(new LocalStore(dir), db);
  });
  afterEach(() => db.close());

  const insert = async (sql: string) => db.run(`CREATE OR REPLACE TEMP TABLE src AS ${sql}`);
  const BATCH = `SELECT * FROM (VALUES
      (1, 'alpha', 1, 1.5, true, TIMESTAMPTZ '2026-01-01 10:00:00.123456+00', 10.25, DATE '2026-01-01', 'a/b c%d=e'),
      (2, NULL, 2, NULL, false, TIMESTAMPTZ '2026-01-01 11:00:00+00', 20.50, DATE '2026-01-01', 'a/b c%d=e'),
      (3, 'a string longer than thirty-two characters for stats', 3, 3.5, NULL, TIMESTAMPTZ '2026-01-02 00:00:00+00', NULL, DATE '2026-01-02', NULL),
      (4, 'delta', NULL, 4.5, true, NULL, 40.00, DATE '2026-01-02', 'plain')
    ) AS v(id, name, qty, score, ok, seen_at, amount, day, tag)`;

  it('writes a valid log that our reader and plain DuckDB read back with the same rows', async () => {
    const table = lake.table('t');
    await table.ensure({ columns: COLUMNS, partitionColumns: ['day', 'tag'] });
    await insert(
      `SELECT CAST(id AS BIGINT) AS id, name, CAST(qty AS INTEGER) AS qty, CAST(score AS DOUBLE) AS score, ok, seen_at, CAST(amount AS DECIMAL(18,2)) AS amount, day, tag FROM (${BATCH})`,
    );
    const { version, added } = await table.write({ relation: 'src', mode: 'append', operation: 'WRITE' });
    expect(version).toBe(1);

    const [protocol, metaData] = logLines(0).filter((a) => !a.commitInfo);
    expect(protocol).toEqual({ protocol: { minReaderVersion: 1, minWriterVersion: 2 } });
    const schema = JSON.parse(metaData.metaData.schemaString);
    expect(schema.type).toBe('struct');
    expect(schema.fields.map((f: { name: string; type: string }) => `${f.name}:${f.type}`)).toEqual(
      COLUMNS.map((c) => `${c.name}:${c.type}`),
    );
    expect(metaData.metaData.partitionColumns).toEqual(['day', 'tag']);
    expect(metaData.metaData.format).toEqual({ provider: 'parquet', options: {} });

    const commit = logLines(1);
    expect(commit[0].commitInfo).toMatchObject({
      operation: 'WRITE',
      engineInfo: expect.stringMatching(/^shopstream/),
    });
    const adds: AddFile[] = commit.filter((a) => a.add).map((a) => a.add);
    expect(adds).toHaveLength(3);
    for (const add of adds) {
      expect(Object.keys(add.partitionValues).sort()).toEqual(['day', 'tag']);
      expect(add.path).not.toMatch(/^\//);
      const file = path.join(dir, 't', decodeURIComponent(add.path));
      expect(statSync(file).size).toBe(add.size);
      const stats = JSON.parse(add.stats!);
      const [real] = await db.all<{ n: string; min_id: string; max_id: string; null_name: string }>(
        'SELECT count(*) AS n, min(id) AS min_id, max(id) AS max_id, count(*) - count(name) AS null_name FROM read_parquet($1)',
        [file],
      );
      expect(stats.numRecords).toBe(Number(real!.n));
      expect(stats.minValues.id).toBe(Number(real!.min_id));
      expect(stats.maxValues.id).toBe(Number(real!.max_id));
      expect(stats.nullCount.name).toBe(Number(real!.null_name));
      expect(stats.minValues.day).toBeUndefined(); // partition columns have no stats
    }
    const special = adds.find((a) => a.partitionValues.tag === 'a/b c%d=e')!;
    expect(special.path).toContain('%25'); // the % of the Hive escape is itself escaped in the URI
    expect(adds.find((a) => a.partitionValues.tag === null)).toBeDefined();
    const long = adds.find((a) => a.partitionValues.day === '2026-01-02' && a.partitionValues.tag === null)!;
    const longStats = JSON.parse(long.stats!);
    expect(longStats.minValues.name).toHaveLength(32);
    expect(longStats.maxValues.name).toBeUndefined();
    const withMicros = adds.find((a) => a.partitionValues.tag === 'a/b c%d=e')!;
    expect(JSON.parse(withMicros.stats!).minValues.seen_at).toBe('2026-01-01T10:00:00.123Z');
    expect(JSON.parse(withMicros.stats!).maxValues.seen_at).toBe('2026-01-01T11:00:00.000Z');

    const source = (await db.all('SELECT * FROM src ORDER BY id')).map((r) => JSON.stringify(r));
    await table.register('t');
    expect((await db.all('SELECT * FROM t ORDER BY id')).map((r) => JSON.stringify(r))).toEqual(source);
    // Plain DuckDB over the live files (no Hive parsing): the same data columns.
    const files = added.map((a) => path.join(dir, 't', decodeURIComponent(a.path)));
    const plain = await db.all(
      `SELECT id, name, qty, score, ok, seen_at, amount FROM read_parquet([${files.map((f) => `'${f}'`).join(',')}], hive_partitioning = false) ORDER BY id`,
    );
    expect(plain).toEqual(
      await db.all('SELECT id, name, qty, score, ok, seen_at, amount FROM src ORDER BY id'),
    );
  });

  it('overwrites the whole table or only matching partitions, and travels back by version and time', async () => {
    const table = lake.table('t');
    await table.ensure({ columns: COLUMNS, partitionColumns: ['day'] });
    const write = async (
      ids: number[],
      mode: 'append' | 'overwrite',
      replacePartitions?: { day: string }[],
    ) => {
      await insert(`SELECT CAST(i AS BIGINT) AS id, 'n' || i AS name, CAST(i AS INTEGER) AS qty, i * 1.0 AS score, true AS ok,
        TIMESTAMPTZ '2026-01-01 00:00:00+00' AS seen_at, CAST(i AS DECIMAL(18,2)) AS amount,
        CAST(DATE '2026-01-01' + INTERVAL (i % 2) DAY AS DATE) AS day, 'x' AS tag FROM unnest([${ids.join(',')}]) AS u(i)`);
      return table.write({
        relation: 'src',
        mode,
        operation: 'WRITE',
        ...(replacePartitions ? { replacePartitions } : {}),
      });
    };
    await write([1, 2, 3, 4], 'append'); // v1: days 01 (2,4) and 02 (1,3)
    await write([10, 12], 'overwrite', [{ day: '2026-01-01' }]); // v2: day 01 replaced by 10, 12
    const v2 = logLines(2);
    expect(v2.filter((a) => a.remove).map((a) => a.remove)).toEqual([
      expect.objectContaining({
        dataChange: true,
        extendedFileMetadata: true,
        partitionValues: { day: '2026-01-01' },
      }),
    ]);
    await write([7], 'overwrite'); // v3: everything replaced

    const ids = async (target: { version?: number; timestamp?: number }) => {
      await table.register('t', target);
      return (await db.all<{ id: string }>('SELECT id FROM t ORDER BY id')).map((r) => Number(r.id));
    };
    expect(await ids({ version: 1 })).toEqual([1, 2, 3, 4]);
    expect(await ids({ version: 2 })).toEqual([1, 3, 10, 12]);
    expect(await ids({})).toEqual([7]);

    const logDir = path.join(dir, 't', '_delta_log');
    const base = Date.parse('2026-01-10T00:00:00Z') / 1000;
    for (let v = 0; v <= 3; v++)
      utimesSync(path.join(logDir, `${String(v).padStart(20, '0')}.json`), base + v * 60, base + v * 60);
    expect(await ids({ timestamp: (base + 90) * 1000 })).toEqual([1, 2, 3, 4]);
    expect(await ids({ timestamp: (base + 150) * 1000 })).toEqual([1, 3, 10, 12]);
    await expect(ids({ timestamp: (base - 10) * 1000 })).rejects.toMatchObject({ code: 'VERSION_NOT_FOUND' });
    await expect(ids({ version: 9 })).rejects.toMatchObject({ code: 'VERSION_NOT_FOUND' });
  });

  it('checkpoints every 10 commits; reads survive deleted early commits and a stale or broken _last_checkpoint', async () => {
    const table = lake.table('t');
    await table.ensure({ columns: COLUMNS.slice(0, 2) });
    for (let i = 0; i < 25; i++) {
      await insert(`SELECT CAST(${i} AS BIGINT) AS id, 'n${i}' AS name`);
      await table.write({
        relation: 'src',
        mode: 'append',
        operation: 'WRITE',
        txns: [{ appId: 'loader', version: i }],
      });
    }
    const logDir = path.join(dir, 't', '_delta_log');
    const names = readdirSync(logDir);
    expect(names).toContain('00000000000000000010.checkpoint.parquet');
    expect(names).toContain('00000000000000000020.checkpoint.parquet');
    expect(JSON.parse(readFileSync(path.join(logDir, '_last_checkpoint'), 'utf8'))).toMatchObject({
      version: 20,
      size: 2 + 1 + 20,
    });
    const described = await db.all<{ column_name: string; column_type: string }>(
      `DESCRIBE SELECT * FROM read_parquet('${path.join(logDir, '00000000000000000020.checkpoint.parquet')}')`,
    );
    expect(described.map((c) => c.column_name)).toEqual(['txn', 'add', 'remove', 'metaData', 'protocol']);
    expect(described.find((c) => c.column_name === 'add')!.column_type).toContain(
      'partitionValues MAP(VARCHAR, VARCHAR)',
    );

    const expectLatest = async () => {
      const snapshot = await table.snapshot();
      expect(snapshot.version).toBe(25);
      expect(snapshot.files).toHaveLength(25);
      expect(snapshot.txnVersion('loader')).toBe(24);
      await table.register('t');
      expect(await db.all('SELECT count(*)::INT AS n, sum(id)::INT AS s FROM t')).toEqual([
        { n: 25, s: 300 },
      ]);
    };
    await expectLatest();
    for (let v = 0; v < 20; v++) rmSync(path.join(logDir, `${String(v).padStart(20, '0')}.json`));
    await expectLatest();
    writeFileSync(path.join(logDir, '_last_checkpoint'), JSON.stringify({ version: 10, size: 13 }));
    await expectLatest();
    writeFileSync(path.join(logDir, '_last_checkpoint'), '{not json');
    await expectLatest();
    rmSync(path.join(logDir, '_last_checkpoint'));
    await expectLatest();
    // before the oldest checkpoint the history is gone: a clear error, not wrong rows
    await expect(table.snapshot({ version: 5 })).rejects.toMatchObject({ code: 'LOG_GAP' });
  });

  it('honours delta.appendOnly and refuses tables above reader 1 / writer 2', async () => {
    const table = lake.table('t');
    await table.ensure({ columns: COLUMNS.slice(0, 2), configuration: { 'delta.appendOnly': 'true' } });
    await insert("SELECT CAST(1 AS BIGINT) AS id, 'a' AS name");
    await table.write({ relation: 'src', mode: 'append', operation: 'WRITE' });
    await expect(
      table.write({ relation: 'src', mode: 'overwrite', operation: 'WRITE' }),
    ).rejects.toMatchObject({ code: 'APPEND_ONLY' });

    const other = lake.table('future');
    await other.ensure({ columns: COLUMNS.slice(0, 2) });
    writeFileSync(
      path.join(dir, 'future', '_delta_log', '00000000000000000001.json'),
      `${JSON.stringify({ protocol: { minReaderVersion: 3, minWriterVersion: 7, readerFeatures: ['deletionVectors'], writerFeatures: ['deletionVectors'] } })}\n`,
    );
    await expect(other.snapshot()).rejects.toMatchObject({ code: 'PROTOCOL_UNSUPPORTED' });
  });
});

import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DuckDb } from '../../src/engine/duckdb.js';
import type { DeltaTable } from '../../src/lake/table/delta-table.js';
import { Lake } from '../../src/lake/table/lake.js';
import { registerSnapshot } from '../../src/lake/table/table-scan.js';
import { LocalStore } from '../../src/storage/local-store.js';
import { tempDir } from '../helpers/cli.js';

/**
 * registerSnapshot declares a view without reading the files' Parquet footers when the log's
 * statistics prove every file holds every column, and falls back to union_by_name (every footer,
 * missing columns as NULL) when they do not (schema evolution, files without statistics).
 */
describe('registerSnapshot: footers', () => {
  let dir: string;
  let db: DuckDb;
  let lake: Lake;
  let table: DeltaTable;

  beforeEach(async () => {
    dir = tempDir('scan-footers');
    db = await DuckDb.open();
    lake = new Lake(new LocalStore(dir), db);
    table = lake.table('t');
    await table.ensure({
      columns: [
        { name: 'id', type: 'long' },
        { name: 'name', type: 'string' },
        { name: 'day', type: 'string' },
      ],
      partitionColumns: ['day'],
    });
  });
  afterEach(() => db.close());

  async function append(sql: string, addColumns?: { name: string; type: string }[]): Promise<void> {
    await db.run(`CREATE OR REPLACE TEMP TABLE batch AS ${sql}`);
    await table.write({
      relation: 'batch',
      mode: 'append',
      operation: 'WRITE',
      ...(addColumns ? { addColumns } : {}),
    });
  }

  /** Whether one of the view's read_parquet calls reads every footer (DuckDB prints CAST('t' ...)). */
  const unionByName = async (view: string) => {
    const [row] = await db.all<{ sql: string }>('SELECT sql FROM duckdb_views() WHERE view_name = $1', [
      view,
    ]);
    const flags = [...row!.sql.matchAll(/union_by_name = (?:CAST\('([tf])'|(true|false))/g)];
    if (flags.length === 0) throw new Error(`no union_by_name in ${row!.sql}`);
    return flags.some((flag) => flag[1] === 't' || flag[2] === 'true');
  };

  it('registers a view over files whose statistics name every column without opening them', async () => {
    await append("SELECT CAST(1 AS BIGINT) AS id, 'a' AS name, '2026-01-01' AS day");
    await append("SELECT CAST(2 AS BIGINT) AS id, 'b' AS name, '2026-01-02' AS day");
    const snapshot = await table.snapshot();
    await registerSnapshot(db, lake.store, table.tableKey, snapshot, 'v');
    expect(await db.all('SELECT id, name, day FROM v ORDER BY id')).toEqual([
      { id: '1', name: 'a', day: '2026-01-01' },
      { id: '2', name: 'b', day: '2026-01-02' },
    ]);
    expect(await unionByName('v')).toBe(false);

    // the second day's file made unreadable: registering (which no longer reads footers) succeeds,
    // and only a scan reaching that file fails
    const second = path.join(dir, 't', 'day=2026-01-02');
    writeFileSync(path.join(second, readdirSync(second)[0]!), 'not parquet');
    await registerSnapshot(db, lake.store, table.tableKey, snapshot, 'v2');
    await expect(db.all('SELECT count(*) AS n FROM v2')).rejects.toThrow();
  });

  it('older files without a newer column still read it as NULL, whichever file comes first', async () => {
    await append("SELECT CAST(1 AS BIGINT) AS id, 'a' AS name, '2026-01-01' AS day");
    await append("SELECT CAST(2 AS BIGINT) AS id, 'b' AS name, 'x' AS note, '2026-01-02' AS day", [
      { name: 'note', type: 'string' },
    ]);
    const snapshot = await table.snapshot();
    for (const [view, files] of [
      ['old_first', snapshot.files],
      ['new_first', [...snapshot.files].reverse()],
    ] as const) {
      await registerSnapshot(db, lake.store, table.tableKey, snapshot, view, files);
      // one read per run of files with the same columns, the missing ones NULL: no union_by_name
      expect(await unionByName(view)).toBe(false);
      expect(await db.all(`SELECT id, name, note, day FROM ${view} ORDER BY id`)).toEqual([
        { id: '1', name: 'a', note: null, day: '2026-01-01' },
        { id: '2', name: 'b', note: 'x', day: '2026-01-02' },
      ]);
    }
    // only the newer file: its statistics name every column
    const newer = snapshot.files.filter((f) => f.partitionValues.day === '2026-01-02');
    await registerSnapshot(db, lake.store, table.tableKey, snapshot, 'newer', newer);
    expect(await unionByName('newer')).toBe(false);
    expect(await db.all('SELECT id, note FROM newer')).toEqual([{ id: '2', note: 'x' }]);
  });

  it('files without statistics: their footers say which columns they hold', async () => {
    await append("SELECT CAST(1 AS BIGINT) AS id, 'a' AS name, '2026-01-01' AS day");
    await append("SELECT CAST(2 AS BIGINT) AS id, 'b' AS name, 'x' AS note, '2026-01-02' AS day", [
      { name: 'note', type: 'string' },
    ]);
    const snapshot = await table.snapshot();
    const files = snapshot.files.map((f) => ({ ...f, stats: null }));
    await registerSnapshot(db, lake.store, table.tableKey, snapshot, 'nostats', files);
    expect(await unionByName('nostats')).toBe(false);
    expect(await db.all('SELECT id, note FROM nostats ORDER BY id')).toEqual([
      { id: '1', note: null },
      { id: '2', note: 'x' },
    ]);
    const newer = files.filter((f) => f.partitionValues.day === '2026-01-02');
    await registerSnapshot(db, lake.store, table.tableKey, snapshot, 'nostats_newer', newer);
    expect(await unionByName('nostats_newer')).toBe(false);
    expect(await db.all('SELECT id, note FROM nostats_newer')).toEqual([{ id: '2', note: 'x' }]);
  });

  it('array columns (no statistics): each footer is read once per session, then the files are known', async () => {
    const arrays = lake.table('a');
    await arrays.ensure({
      columns: [
        { name: 'id', type: 'long' },
        { name: 'tags', type: { type: 'array', elementType: 'string', containsNull: true } },
        { name: 'day', type: 'string' },
      ],
      partitionColumns: ['day'],
    });
    for (const [id, day] of [
      [1, '2026-01-01'],
      [2, '2026-01-02'],
    ] as const) {
      await db.run(
        `CREATE OR REPLACE TEMP TABLE batch AS SELECT CAST(${id} AS BIGINT) AS id, ['t${id}'] AS tags, '${day}' AS day`,
      );
      await arrays.write({ relation: 'batch', mode: 'append', operation: 'WRITE' });
    }
    // a column added later, with an array: the older file reads it as NULL
    await db.run(
      `CREATE OR REPLACE TEMP TABLE batch AS SELECT CAST(3 AS BIGINT) AS id, ['t3'] AS tags, [1, 2] AS scores, '2026-01-03' AS day`,
    );
    await arrays.write({
      relation: 'batch',
      mode: 'append',
      operation: 'WRITE',
      addColumns: [{ name: 'scores', type: { type: 'array', elementType: 'long', containsNull: true } }],
    });
    const snapshot = await arrays.snapshot();
    const firstTwo = snapshot.files.filter((f) => f.partitionValues.day !== '2026-01-03');
    await registerSnapshot(db, lake.store, arrays.tableKey, snapshot, 'all_a');
    expect(await unionByName('all_a')).toBe(false);
    expect(await db.all('SELECT id, tags, scores FROM all_a ORDER BY id')).toEqual([
      { id: '1', tags: ['t1'], scores: null },
      { id: '2', tags: ['t2'], scores: null },
      { id: '3', tags: ['t3'], scores: [1, 2] },
    ]);
    const third = snapshot.files.filter((f) => f.partitionValues.day === '2026-01-03');
    await registerSnapshot(db, lake.store, arrays.tableKey, snapshot, 'third', third);
    expect(await unionByName('third')).toBe(false);
    expect(await db.all('SELECT id, tags, scores FROM third')).toEqual([
      { id: '3', tags: ['t3'], scores: [1, 2] },
    ]);

    // the footers were read once: registering the same files again opens none of them
    const second = path.join(dir, 'a', 'day=2026-01-02');
    writeFileSync(path.join(second, readdirSync(second)[0]!), 'not parquet');
    await registerSnapshot(db, lake.store, arrays.tableKey, snapshot, 'again', firstTwo);
    await expect(db.all('SELECT count(*) AS n FROM again')).rejects.toThrow();
  });
});

import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDb } from '../../src/engine/duckdb.js';
import { DeltaLog } from '../../src/lake/log/delta-log.js';
import { registerSnapshot } from '../../src/lake/table/table-scan.js';
import { LocalStore } from '../../src/storage/local-store.js';
import { ROOT } from '../helpers/cli.js';

/**
 * The reader against 20 tables written by Spark and delta-rs (../shared/delta-golden, beside the
 * clone in CI). Expected rows follow ../shared/delta-golden/EXPECTED.md: DAT tables against their
 * own expected Parquet files, the others built here from the rules the document states.
 */
const GOLDEN = path.resolve(ROOT, '../shared/delta-golden');
const store = new LocalStore(GOLDEN);
let db: DuckDb;

beforeAll(async () => {
  db = await DuckDb.open();
});
afterAll(() => db.close());

const keyOf = (name: string) => (name.startsWith('dat_') ? `${name}/delta` : name);
const logOf = (name: string) => new DeltaLog(store, keyOf(name), db);

/** Rows at a version, every value as text, sorted: a multiset to compare. */
async function rowsAt(name: string, version?: number, select = '*'): Promise<string[]> {
  const snapshot = await logOf(name).snapshot(version === undefined ? {} : { version });
  await registerSnapshot(db, store, keyOf(name), snapshot, 'golden');
  const rows = await db.all<Record<string, unknown>>(`SELECT ${select} FROM golden`);
  return rows.map((r) => JSON.stringify(r)).sort();
}

const rows = (items: readonly unknown[][], columns: readonly string[]) =>
  items.map((values) => JSON.stringify(Object.fromEntries(columns.map((c, i) => [c, values[i]])))).sort();
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

it('has all 20 reference tables beside the project', () => {
  expect(existsSync(GOLDEN)).toBe(true);
  expect(readdirSync(GOLDEN).filter((n) => !n.endsWith('.md'))).toHaveLength(20);
});

describe('DAT tables equal their expected Parquet content at every version', () => {
  const cases: [string, string[]][] = [
    ['dat_basic_append', ['v0', 'v1', 'latest']],
    ['dat_basic_partitioned', ['v0', 'v1', 'latest']],
    ['dat_multi_partitioned', ['v0', 'v1', 'v2', 'latest']],
    ['dat_with_schema_change', ['v1', 'latest']],
  ];
  for (const [name, versions] of cases) {
    for (const v of versions) {
      it(`${name} ${v}`, async () => {
        const expectedFile = path.join(GOLDEN, name, 'expected', v, 'table_content.parquet');
        const expected = (
          await db.all<Record<string, unknown>>('SELECT * FROM read_parquet($1)', [expectedFile])
        )
          .map((r) => JSON.stringify(r))
          .sort();
        const actual = await rowsAt(name, v === 'latest' ? undefined : Number(v.slice(1)));
        expect(actual).toEqual(expected);
      });
    }
  }

  it('dat_with_schema_change v0 has the replaced schema (letter, number) with 3 rows', async () => {
    const snapshot = await logOf('dat_with_schema_change').snapshot({ version: 0 });
    expect(snapshot.schema.fields.map((f) => f.name)).toEqual(['letter', 'number']);
    expect(await rowsAt('dat_with_schema_change', 0)).toHaveLength(3);
    const latest = await logOf('dat_with_schema_change').snapshot();
    expect(latest.schema.fields.map((f) => f.name)).toEqual(['num1', 'num2']);
    expect(latest.tombstones).toHaveLength(1);
  });

  it('dat_multi_partitioned: escaped partition values, binary partition, tombstones without null keys', async () => {
    const v2 = await logOf('dat_multi_partitioned').snapshot({ version: 2 });
    expect(v2.tombstones).toHaveLength(5);
    const actual = await rowsAt(
      'dat_multi_partitioned',
      2,
      'letter, CAST(date AS VARCHAR) AS date, hex(data) AS data, number',
    );
    expect(actual).toEqual(
      rows(
        [
          ['/%20%f', '1970-01-01', '68656C6C6F', '6'],
          ['b', '1970-01-01', 'F09F9888', '7'],
        ],
        ['letter', 'date', 'data', 'number'],
      ),
    );
  });
});

describe('Spark golden tables', () => {
  it('golden_snapshot-repartitioned: overwrite, DELETE with an empty file, repartition', async () => {
    const c = ['col1', 'col2'];
    const data = (batch: number, n: number) => range(0, n).map((x) => [x, `data-${batch}-${x}`]);
    const expected: Record<number, unknown[][]> = {
      0: data(0, 10),
      1: [...data(0, 10), ...data(1, 10)],
      2: data(2, 10),
      3: [...data(2, 10), ...data(3, 20)],
      4: data(3, 20),
      5: data(3, 20),
    };
    const files = [2, 4, 2, 4, 3, 2];
    const tombstones = [0, 0, 4, 4, 6, 9];
    for (let v = 0; v <= 5; v++) {
      expect(await rowsAt('golden_snapshot-repartitioned', v), `v${v}`).toEqual(rows(expected[v]!, c));
      const snapshot = await logOf('golden_snapshot-repartitioned').snapshot({ version: v });
      expect(snapshot.files.length, `files v${v}`).toBe(files[v]);
      expect(snapshot.tombstones.length, `tombstones v${v}`).toBe(tombstones[v]);
    }
  });

  it('golden_time-travel-schema-changes-b: an added column reads NULL for old files', async () => {
    expect(await rowsAt('golden_time-travel-schema-changes-b', 0)).toEqual(
      rows(
        range(0, 10).map((i) => [String(i)]),
        ['id'],
      ),
    );
    expect(await rowsAt('golden_time-travel-schema-changes-b', 1)).toEqual(
      rows(
        [...range(0, 10).map((i) => [String(i), null]), ...range(10, 20).map((i) => [String(i), String(i)])],
        ['id', 'part'],
      ),
    );
  });

  it('golden_data-reader-partition-values: every primitive partition type, all-null row, literal "null"', async () => {
    // as_timestamp was written zone-less by a Los Angeles JVM; this reader takes zone-less values as UTC.
    const actual = await rowsAt(
      'golden_data-reader-partition-values',
      undefined,
      `as_int, as_long, as_byte, as_short, as_boolean, as_float, as_double, as_string, as_string_lit_null,
       CAST(as_date AS VARCHAR) AS as_date, CAST(as_timestamp AS VARCHAR) AS as_timestamp, CAST(as_big_decimal AS VARCHAR) AS as_big_decimal,
       as_list_of_records, as_nested_struct, value`,
    );
    const row = (i: number) => [
      i,
      String(i),
      i,
      i,
      i % 2 === 0,
      i,
      i,
      String(i),
      'null',
      '2021-09-08',
      '2021-09-08 11:11:11+00',
      String(i),
      [{ val: i }, { val: i }, { val: i }],
      { aa: String(i), ab: String(i), ac: { aca: i, acb: String(i) } },
      String(i),
    ];
    const nulls = [
      ...Array(12).fill(null),
      [{ val: 2 }, { val: 2 }, { val: 2 }],
      { aa: '2', ab: '2', ac: { aca: 2, acb: '2' } },
      '2',
    ];
    const cols = [
      'as_int',
      'as_long',
      'as_byte',
      'as_short',
      'as_boolean',
      'as_float',
      'as_double',
      'as_string',
      'as_string_lit_null',
      'as_date',
      'as_timestamp',
      'as_big_decimal',
      'as_list_of_records',
      'as_nested_struct',
      'value',
    ];
    expect(actual).toEqual(rows([row(0), row(1), nulls], cols));
  });

  it('golden_data-reader-escaped-chars: double-encoded paths, one row per version', async () => {
    const all = [
      ['foo1', 'bar+%21'],
      ['foo2', 'bar+%22'],
      ['foo3', 'bar+%23'],
    ];
    for (let v = 0; v <= 2; v++) {
      expect(await rowsAt('golden_data-reader-escaped-chars', v)).toEqual(
        rows(all.slice(0, v + 1), ['_1', '_2']),
      );
    }
  });

  it('golden_basic-with-inserts-deletes-checkpoint: checkpoint at 10 then JSON 11..13', async () => {
    const counts = [10, 20, 30, 40, 50, 45, 40, 35, 30, 25, 35, 45, 55, 41];
    for (let v = 0; v <= 13; v++)
      expect((await rowsAt('golden_basic-with-inserts-deletes-checkpoint', v)).length, `v${v}`).toBe(
        counts[v],
      );
    const ids = [
      ...range(0, 5),
      ...range(10, 15),
      ...range(20, 25),
      ...range(30, 35),
      ...range(40, 45),
      ...range(50, 66),
    ];
    expect(await rowsAt('golden_basic-with-inserts-deletes-checkpoint')).toEqual(
      rows(
        ids.map((i) => [String(i)]),
        ['id'],
      ),
    );
    const latest = await logOf('golden_basic-with-inserts-deletes-checkpoint').snapshot();
    expect(latest.version).toBe(13);
    expect(latest.files).toHaveLength(7);
    expect(latest.tombstones).toHaveLength(7);
    expect(latest.numRecords).toBe(41);
  });

  it('golden_basic-with-inserts-overwrite-restore: RESTORE re-adds old files', async () => {
    const ids = (from: number, to: number) =>
      rows(
        range(from, to).map((i) => [String(i)]),
        ['id'],
      );
    expect(await rowsAt('golden_basic-with-inserts-overwrite-restore', 0)).toEqual(ids(0, 100));
    expect(await rowsAt('golden_basic-with-inserts-overwrite-restore', 1)).toEqual(ids(0, 200));
    expect(await rowsAt('golden_basic-with-inserts-overwrite-restore', 2)).toEqual(ids(500, 1000));
    expect(await rowsAt('golden_basic-with-inserts-overwrite-restore', 3)).toEqual(ids(0, 200));
    const v3 = await logOf('golden_basic-with-inserts-overwrite-restore').snapshot({ version: 3 });
    expect([v3.files.length, v3.tombstones.length]).toEqual([4, 2]);
  });

  it('golden_kernel-timestamp-partition-col-ISO8601: ISO-8601 partition values', async () => {
    expect(
      await rowsAt('golden_kernel-timestamp-partition-col-ISO8601', undefined, 'str, epoch_us(ts) AS ts'),
    ).toEqual(
      rows(
        [
          ['2024-01-01 10:00:00', '1704103200000000'],
          ['2024-01-02 12:30:00', '1704198600000000'],
        ],
        ['str', 'ts'],
      ),
    );
  });

  it('golden_data-skipping-basic-stats-all-types: INT96 timestamp, orphan file ignored', async () => {
    const actual = await rowsAt(
      'golden_data-skipping-basic-stats-all-types',
      undefined,
      'as_int, as_long, as_byte, as_short, as_float, as_double, as_string, CAST(as_date AS VARCHAR) AS as_date, CAST(as_timestamp AS VARCHAR) AS as_timestamp, CAST(as_big_decimal AS VARCHAR) AS as_big_decimal',
    );
    expect(actual).toEqual(
      rows(
        [[0, '0', 0, 0, 0, 0, '0', '2000-01-01', '2000-01-01 08:00:00+00', '0']],
        [
          'as_int',
          'as_long',
          'as_byte',
          'as_short',
          'as_float',
          'as_double',
          'as_string',
          'as_date',
          'as_timestamp',
          'as_big_decimal',
        ],
      ),
    );
    const snapshot = await logOf('golden_data-skipping-basic-stats-all-types').snapshot();
    expect(snapshot.metadata.id).toBe('testId');
    expect(snapshot.files).toHaveLength(1);
  });
});

describe('delta-rs test tables', () => {
  it('deltars_simple_table: the uncommitted .tmp/ commit is ignored; rows per version', async () => {
    const log = logOf('deltars_simple_table');
    expect(await log.latestVersion()).toBe(4);
    const latest = await log.snapshot();
    expect(latest.files).toHaveLength(5);
    expect(latest.tombstones).toHaveLength(31);
    expect(latest.tombstones.some((t) => t.deletionTimestamp === 1587968596250)).toBe(true);
    expect(latest.files.map((f) => f.path.slice(0, 20)).sort()).toEqual(
      [
        'part-00000-2befed33-',
        'part-00000-c1777d7d-',
        'part-00001-7891c33d-',
        'part-00004-315835fe-',
        'part-00007-3a0e4727-',
      ].sort(),
    );
    expect(await rowsAt('deltars_simple_table')).toEqual(rows([['5'], ['7'], ['9']], ['id']));
    expect(await rowsAt('deltars_simple_table', 3)).toEqual(
      rows([['5'], ['7'], ['9'], ['106'], ['108']], ['id']),
    );
    const v3 = await log.snapshot({ version: 3 });
    expect([v3.files.length, v3.tombstones.length]).toEqual([6, 29]);
    const counts = [5, 20, 5, 5, 3];
    for (let v = 0; v <= 4; v++)
      expect((await rowsAt('deltars_simple_table', v)).length, `v${v}`).toBe(counts[v]);
  });

  it('deltars_delta-0.2.0: old-style checkpoint at 3, txn, files per version', async () => {
    const log = logOf('deltars_delta-0.2.0');
    const values = (...v: number[]) =>
      rows(
        v.map((x) => [x]),
        ['value'],
      );
    expect(await rowsAt('deltars_delta-0.2.0', 0)).toEqual(values(1, 2, 3));
    expect(await rowsAt('deltars_delta-0.2.0', 1)).toEqual(values(1, 1, 2, 2, 3, 3));
    expect(await rowsAt('deltars_delta-0.2.0', 2)).toEqual(values(1, 2, 3));
    expect(await rowsAt('deltars_delta-0.2.0', 3)).toEqual(values(1, 1, 2, 2, 3, 3));
    const v3 = await log.snapshot({ version: 3 });
    expect(v3.txnVersion('e4a20b59-dd0e-4c50-b074-e8ae4786df30')).toBe(0);
    expect(v3.files.map((f) => f.path.slice(0, 19)).sort()).toEqual([
      'part-00000-7c2deba3',
      'part-00000-cb6b150b',
      'part-00001-c373a5bd',
    ]);
    const v0 = await log.snapshot({ version: 0 });
    expect(v0.files.map((f) => f.path.slice(0, 19)).sort()).toEqual([
      'part-00000-b44fcdb0',
      'part-00001-185eca06',
    ]);
  });

  it('deltars_delta-0.8.0-partitioned: three string partitions', async () => {
    expect(await rowsAt('deltars_delta-0.8.0-partitioned', undefined, 'value, year, month, day')).toEqual(
      rows(
        [
          ['1', '2020', '1', '1'],
          ['2', '2020', '2', '3'],
          ['3', '2020', '2', '5'],
          ['6', '2021', '12', '20'],
          ['7', '2021', '12', '20'],
          ['5', '2021', '12', '4'],
          ['4', '2021', '4', '5'],
        ],
        ['value', 'year', 'month', 'day'],
      ),
    );
  });

  it('deltars_delta-0.8.0-null-partition and special-partition', async () => {
    expect(await rowsAt('deltars_delta-0.8.0-null-partition', undefined, 'k, v')).toEqual(
      rows(
        [
          ['A', '1'],
          [null, '2'],
        ],
        ['k', 'v'],
      ),
    );
    expect(await rowsAt('deltars_delta-0.8.0-special-partition', undefined, 'x, y')).toEqual(
      rows(
        [
          ['A/A', '1'],
          ['B B', '2'],
        ],
        ['x', 'y'],
      ),
    );
  });

  it('deltars_delta-2.2.0-partitioned-types: int and string partitions, stats only on c3', async () => {
    expect(await rowsAt('deltars_delta-2.2.0-partitioned-types', undefined, 'c3, c1, c2')).toEqual(
      rows(
        [
          [4, 6, 'a'],
          [5, 4, 'c'],
          [6, 5, 'b'],
        ],
        ['c3', 'c1', 'c2'],
      ),
    );
  });

  it('deltars_simple_table_with_checkpoint: v has v+1 files and rows; latest from the checkpoint equals replay', async () => {
    const log = logOf('deltars_simple_table_with_checkpoint');
    for (let v = 0; v <= 10; v++) {
      const snapshot = await log.snapshot({ version: v });
      expect(snapshot.files.length).toBe(v + 1);
      expect((await rowsAt('deltars_simple_table_with_checkpoint', v)).length).toBe(v + 1);
    }
    expect((await log.history(5)).length).toBe(5);
  });

  it('deltars_table_with_edge_timestamps: INT96 up to year 9999', async () => {
    expect(
      await rowsAt(
        'deltars_table_with_edge_timestamps',
        undefined,
        'CAST("BIG_DATE" AS VARCHAR) AS b, CAST("NORMAL_DATE" AS VARCHAR) AS n, "SOME_VALUE" AS v',
      ),
    ).toEqual(
      rows(
        [
          ['9999-12-31 00:00:00+00', '2022-01-01 00:00:00+00', 1],
          ['9999-12-30 00:00:00+00', '2022-02-01 00:00:00+00', 2],
        ],
        ['b', 'n', 'v'],
      ),
    );
  });
});

import { describe, expect, it } from 'vitest';
import { detectConflict, matchesPartition } from '../../src/lake/log/conflicts.js';
import { commitFileName, parseLogFileName } from '../../src/lake/log/log-files.js';
import { deltaTypeOf } from '../../src/lake/table/columns.js';
import { statsFromCopy } from '../../src/lake/table/file-stats.js';
import { decodeDataPath, encodeDataPath } from '../../src/lake/table/paths.js';

describe('log file names', () => {
  it('recognizes commits and checkpoints and nothing else', () => {
    expect(commitFileName(12)).toBe('00000000000000000012.json');
    expect(parseLogFileName('00000000000000000012.json')).toMatchObject({ kind: 'commit', version: 12 });
    expect(parseLogFileName('00000000000000000010.checkpoint.parquet')).toMatchObject({
      kind: 'checkpoint',
      version: 10,
      part: 1,
      parts: 1,
    });
    expect(parseLogFileName('00000000000000000010.checkpoint.0000000002.0000000003.parquet')).toMatchObject({
      kind: 'checkpoint',
      part: 2,
      parts: 3,
    });
    for (const ignored of [
      '.00000000000000000000.json.crc',
      '00000000000000000000.crc',
      '_last_checkpoint',
      '00000000000000000001.json.tmp',
      '0001.json',
      'x.json',
    ]) {
      expect(parseLogFileName(ignored), ignored).toBeUndefined();
    }
  });
});

describe('conflict rules', () => {
  const add = (path: string, partitionValues: Record<string, string | null> = {}) => ({
    add: { path, partitionValues, size: 1, modificationTime: 0, dataChange: true },
  });
  it('lets blind appends pass each other', () => {
    expect(detectConflict({ actions: [add('a')], scope: { kind: 'append' } }, [add('b')])).toBeUndefined();
  });
  it('stops on schema or protocol changes, the same txn id, and removing the same file', () => {
    const metaData = {
      metaData: {
        id: 'x',
        format: { provider: 'parquet', options: {} },
        schemaString: '{}',
        partitionColumns: [],
        configuration: {},
      },
    };
    expect(detectConflict({ actions: [], scope: { kind: 'append' } }, [metaData])).toMatch(/schema/);
    expect(
      detectConflict({ actions: [], scope: { kind: 'append' } }, [
        { protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
      ]),
    ).toMatch(/protocol/);
    const txn = { txn: { appId: 'job', version: 1 } };
    expect(detectConflict({ actions: [txn], scope: { kind: 'append' } }, [txn])).toMatch(/job/);
    const remove = { remove: { path: 'a%20b', dataChange: true } };
    expect(
      detectConflict(
        { actions: [{ remove: { path: 'a b', dataChange: true } }], scope: { kind: 'rewrite' } },
        [remove],
      ),
    ).toMatch(/removed/);
  });
  it('stops a rewrite when data lands in a partition it read, not elsewhere', () => {
    const scope = { kind: 'rewrite' as const, partitions: [{ day: '2026-01-01' }] };
    expect(detectConflict({ actions: [], scope }, [add('x', { day: '2026-01-01' })])).toMatch(/partition/);
    expect(detectConflict({ actions: [], scope }, [add('x', { day: '2026-01-02' })])).toBeUndefined();
    expect(
      detectConflict({ actions: [], scope: { kind: 'rewrite' } }, [add('x', { day: '2026-01-02' })]),
    ).toMatch(/partition/);
    expect(matchesPartition({ a: null, b: '1' }, { a: null })).toBe(true);
    expect(matchesPartition({ a: '1' }, { a: null })).toBe(false);
  });
});

describe('compaction conflicts', () => {
  it('lets appends land during a compaction but not a removal of a compacted file', () => {
    const ours = {
      actions: [{ remove: { path: 'old.parquet', dataChange: false } }],
      scope: { kind: 'compact' as const },
    };
    const append = {
      add: { path: 'new.parquet', partitionValues: {}, size: 1, modificationTime: 0, dataChange: true },
    };
    expect(detectConflict(ours, [append])).toBeUndefined();
    expect(detectConflict(ours, [{ remove: { path: 'old.parquet', dataChange: true } }])).toMatch(/removed/);
  });
});

describe('file statistics', () => {
  const file = (stats: Record<string, Record<string, string>>) => ({
    filename: 'f',
    count: '3',
    file_size_bytes: '10',
    partition_keys: null,
    column_statistics: Object.entries(stats).map(([k, v]) => ({
      key: `"${k}"`,
      value: Object.entries(v).map(([key, value]) => ({ key, value })),
    })),
  });
  const field = (name: string, type: string) => ({ name, type, nullable: true, metadata: {} });

  it('converts numbers, dates, timestamps (rounded outward to ms) and truncates strings safely', () => {
    const stats = statsFromCopy(
      file({
        n: { min: '1', max: '9', null_count: '0' },
        d: { min: '2026-01-01', max: '2026-01-02', null_count: '1' },
        t: { min: '2026-01-01 10:00:00.1234+00', max: '2026-01-01 11:00:00.0009+00', null_count: '0' },
        s: { min: 'x'.repeat(40), max: 'y'.repeat(40), null_count: '2' },
        short: { min: 'a', max: 'b', null_count: '0' },
        m: { min: '1.50', max: '2.25', null_count: '0' },
      }),
      [
        field('n', 'long'),
        field('d', 'date'),
        field('t', 'timestamp'),
        field('s', 'string'),
        field('short', 'string'),
        field('m', 'decimal(18,2)'),
      ],
    );
    expect(stats.numRecords).toBe(3);
    expect(stats.minValues).toEqual({
      n: 1,
      d: '2026-01-01',
      t: '2026-01-01T10:00:00.123Z',
      s: 'x'.repeat(32),
      short: 'a',
      m: 1.5,
    });
    expect(stats.maxValues).toEqual({
      n: 9,
      d: '2026-01-02',
      t: '2026-01-01T11:00:00.001Z',
      short: 'b',
      m: 2.25,
    });
    expect(stats.nullCount).toEqual({ n: 0, d: 1, t: 0, s: 2, short: 0, m: 0 });
  });
});

describe('paths and types', () => {
  it('encodes data paths as URI references and decodes them back', () => {
    const dir = 'tag=a%2Fb c%25d/part-1.parquet';
    const encoded = encodeDataPath(dir);
    expect(encoded).toBe('tag=a%252Fb%20c%2525d/part-1.parquet');
    expect(decodeDataPath(encoded)).toBe(dir);
  });
  it('maps DuckDB types to Delta and refuses what reader 1 cannot hold', () => {
    expect(deltaTypeOf('TIMESTAMP WITH TIME ZONE')).toBe('timestamp');
    expect(deltaTypeOf('DECIMAL(38,2)')).toBe('decimal(38,2)');
    expect(deltaTypeOf('VARCHAR[]')).toEqual({ type: 'array', elementType: 'string', containsNull: true });
    expect(() => deltaTypeOf('HUGEINT')).toThrow(/no Delta/);
    expect(() => deltaTypeOf('TIMESTAMP')).toThrow(/no Delta/);
  });
});

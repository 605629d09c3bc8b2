import {
  copyFileSync,
  createWriteStream,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import avro from 'avsc';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DuckDb, quoteLiteral } from '../../src/engine/duckdb.js';
import { SCHEMAS_DIR } from '../../src/governance/avro-registry.js';
import { ingest } from '../../src/ingest/ingest.js';
import { Lake } from '../../src/lake/table/lake.js';
import { LocalStore } from '../../src/storage/local-store.js';
import { fixture, tempDir } from '../helpers/cli.js';
import { testIngestOptions } from '../helpers/ingest-workspace.js';

const NOW = new Date('2026-11-24T12:00:00Z');
const base = testIngestOptions(NOW);

interface FieldJson {
  name: string;
  type: unknown;
  default?: unknown;
  doc?: string;
}
interface RecordJson {
  type: 'record';
  name: string;
  namespace?: string;
  fields: FieldJson[];
}

const V1_FILE = path.join(SCHEMAS_DIR, 'clickstream_event', 'v1.avsc');
const v1 = (): RecordJson => JSON.parse(readFileSync(V1_FILE, 'utf8')) as RecordJson;

/** v1 with its fields changed by `edit`. */
function evolve(edit: (fields: FieldJson[]) => FieldJson[]): RecordJson {
  const schema = v1();
  return { ...schema, fields: edit(schema.fields) };
}

const optional = (name: string, type: unknown): FieldJson => ({ name, type: ['null', type], default: null });

/** Writes a real Avro object container file (deflate blocks, like most producers). */
async function writeAvro(
  file: string,
  schema: RecordJson,
  records: Record<string, unknown>[],
): Promise<string> {
  // the schema as JSON, not a Type: the header then keeps its logicalType attributes
  const encoder = new avro.streams.BlockEncoder(schema as avro.Schema, { codec: 'deflate' });
  const done = pipeline(encoder, createWriteStream(file));
  for (const record of records) encoder.write(record);
  encoder.end();
  await done;
  return file;
}

/** The demo NDJSON events as flat v1 records: properties at top level, times as epoch millis. */
function demoRecords(): Record<string, unknown>[] {
  const lines = readFileSync(fixture('demo', 'events.ndjson'), 'utf8').trim().split('\n');
  return lines.map((line) => {
    const e = JSON.parse(line) as Record<string, unknown> & { properties: Record<string, unknown> };
    const record: Record<string, unknown> = {};
    for (const field of v1().fields) record[field.name] = null;
    const { properties, timestamp, received_at, ...top } = e;
    return {
      ...record,
      ...top,
      ...properties,
      event_time: Date.parse(String(timestamp)),
      received_at: Date.parse(String(received_at)),
    };
  });
}

const v1Record = (overrides: Record<string, unknown>): Record<string, unknown> => ({
  ...demoRecords()[0],
  ...overrides,
});

describe('ingest of Avro object container files', () => {
  let dir: string;
  let db: DuckDb;
  let lake: Lake;
  let lakeDir: string;

  beforeEach(async () => {
    dir = tempDir('ingest-avro');
    lakeDir = path.join(dir, 'lake');
    db = await DuckDb.open();
    lake = new Lake(new LocalStore(lakeDir), db);
  });
  afterEach(() => db.close());

  const rows = async (sql: string, on: Lake = lake) => {
    for (const name of await on.tableNames()) await on.table(name).register(name);
    return on.db.all<Record<string, unknown>>(sql);
  };

  /** Every file under the lake (data and log), to prove a refused ingest wrote nothing. */
  const lakeFiles = () =>
    (readdirSync(lakeDir, { recursive: true }) as string[]).filter((f) => /\.(parquet|json)$/.test(f)).sort();

  const commit = (table: string, version: number) =>
    readFileSync(path.join(lakeDir, table, '_delta_log', `${String(version).padStart(20, '0')}.json`), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, Record<string, unknown>>);

  it('lands a v1 Avro file with the same rows as the equivalent NDJSON, and quarantines bad records by line', async () => {
    const bad = v1Record({ event_id: 'evt_bad', price: -5 });
    const landing = path.join(dir, 'landing', 'day=1');
    mkdirSync(landing, { recursive: true });
    const source = await writeAvro(path.join(landing, 'events.avro'), v1(), [...demoRecords(), bad]);
    // a directory source finds .avro files
    const summary = await ingest(lake, { ...base, sources: [path.dirname(landing)] });
    expect(summary).toMatchObject({
      files: { total: 1, ingested: 1 },
      read: 9,
      written: 8,
      quarantined: 1,
      addedColumns: [],
    });

    const other = new Lake(new LocalStore(path.join(dir, 'ndjson-lake')), await DuckDb.open());
    try {
      await ingest(other, { ...base, sources: [fixture('demo', 'events.ndjson')] });
      const sql = 'SELECT * EXCLUDE (source_file, ingested_at) FROM raw_events ORDER BY event_id';
      const fromNdjson = await rows(sql, other);
      expect(fromNdjson).toHaveLength(8);
      expect(await rows(sql)).toEqual(fromNdjson);
    } finally {
      other.db.close();
    }
    expect(await rows('SELECT DISTINCT source_file FROM raw_events')).toEqual([{ source_file: source }]);
    const [quarantined] = await rows(
      'SELECT source_file, source_line, error_field, error_reason, raw FROM quarantine',
    );
    expect(quarantined).toMatchObject({
      source_file: source,
      source_line: '9',
      error_field: 'properties.price',
      error_reason: 'negative price',
    });
    expect(JSON.parse(String(quarantined!.raw))).toMatchObject({ event_id: 'evt_bad', price: -5 });
    // the received_at epoch millis of the Avro file landed as timestamps
    expect(
      await rows("SELECT CAST(received_at AS VARCHAR) AS r FROM raw_events WHERE event_id = 'evt_001'"),
    ).toEqual([{ r: '2026-11-20 10:00:00.12+00' }]);
  });

  it('adds the new optional fields of an Avro file as nullable columns in the commit with the data', async () => {
    await ingest(lake, {
      ...base,
      sources: [await writeAvro(path.join(dir, 'v1.avro'), v1(), demoRecords())],
    });
    const evolved = evolve((fields) => [
      ...fields,
      { ...optional('coupon_code', 'string'), doc: 'Coupon applied, if any.' },
      optional('loyalty_points', 'int'),
    ]);
    const file = await writeAvro(path.join(dir, 'v2.avro'), evolved, [
      v1Record({ event_id: 'evt_101', coupon_code: 'SAVE10', loyalty_points: 120 }),
      v1Record({ event_id: 'evt_102', coupon_code: null, loyalty_points: 7 }),
      v1Record({ event_id: 'evt_103', coupon_code: 'WELCOME', loyalty_points: null }),
    ]);
    const summary = await ingest(lake, { ...base, sources: [file] });
    expect(summary).toMatchObject({
      written: 3,
      rawEventsVersion: 2,
      addedColumns: ['coupon_code', 'loyalty_points'],
    });

    // one commit: commitInfo, metaData (old schema + the nullable columns; same id, partitioning,
    // configuration), then the adds
    const actions = commit('raw_events', 2);
    expect(actions.map((a) => Object.keys(a)[0])).toEqual(['commitInfo', 'metaData', 'txn', 'add']);
    const created = commit('raw_events', 0).find((a) => a.metaData)!.metaData!;
    const meta = actions[1]!.metaData!;
    expect(meta.id).toBe(created.id);
    expect(meta.partitionColumns).toEqual(created.partitionColumns);
    expect(meta.configuration).toEqual(created.configuration);
    const oldFields = JSON.parse(String(created.schemaString)).fields;
    const newFields = JSON.parse(String(meta.schemaString)).fields;
    expect(newFields.slice(0, oldFields.length)).toEqual(oldFields);
    expect(newFields.slice(oldFields.length)).toEqual([
      {
        name: 'coupon_code',
        type: 'string',
        nullable: true,
        metadata: { comment: 'Coupon applied, if any.' },
      },
      { name: 'loyalty_points', type: 'integer', nullable: true, metadata: expect.any(Object) },
    ]);
    expect(actions[0]!.commitInfo!.operationParameters).toMatchObject({
      addedColumns: JSON.stringify(['coupon_code', 'loyalty_points']),
    });

    // our reader: old rows read NULL, new rows their values
    const sql =
      "SELECT event_id, coupon_code, loyalty_points FROM raw_events WHERE event_id IN ('evt_001', 'evt_008', 'evt_101', 'evt_102', 'evt_103') ORDER BY 1";
    const expected = [
      { event_id: 'evt_001', coupon_code: null, loyalty_points: null },
      { event_id: 'evt_008', coupon_code: null, loyalty_points: null },
      { event_id: 'evt_101', coupon_code: 'SAVE10', loyalty_points: 120 },
      { event_id: 'evt_102', coupon_code: null, loyalty_points: 7 },
      { event_id: 'evt_103', coupon_code: 'WELCOME', loyalty_points: null },
    ];
    expect(await rows(sql)).toEqual(expected);
    // plain DuckDB over the Parquet files (old files have no such columns)
    const glob = quoteLiteral(path.join(lakeDir, 'raw_events', '**', '*.parquet'));
    expect(
      await db.all(sql.replace('FROM raw_events', `FROM read_parquet(${glob}, union_by_name = true)`)),
    ).toEqual(expected);
    const files = await db.all<{ file: string; n: number }>(
      `SELECT count(*)::INT AS n FROM (SELECT DISTINCT filename FROM read_parquet(${glob}, filename = true))`,
    );
    expect(files[0]!.n).toBeGreaterThanOrEqual(2);

    // later NDJSON fills the extension columns too; a value of the wrong type is quarantined by field
    const ndjson = path.join(dir, 'later.ndjson');
    const line = (id: string, extra: Record<string, unknown>) =>
      JSON.stringify({
        event_id: id,
        event_type: 'page_view',
        user_id: 'usr_009',
        timestamp: '2026-11-21T09:00:00Z',
        ...extra,
      });
    writeFileSync(
      ndjson,
      `${line('evt_201', { coupon_code: 'NDJSON', properties: { loyalty_points: 3 } })}\n${line('evt_202', { loyalty_points: 'lots' })}\n` +
        // a fraction in an integer column is refused, not rounded (TRY_CAST would make 2.5 into 3)
        `${line('evt_203', { loyalty_points: 2.5 })}\n${line('evt_204', { properties: { loyalty_points: '7.0' } })}\n`,
    );
    const later = await ingest(lake, { ...base, sources: [ndjson] });
    expect(later).toMatchObject({ written: 1, quarantined: 3, addedColumns: [] });
    expect(later.quarantineSamples).toEqual([
      { file: ndjson, line: 2, field: 'loyalty_points', reason: 'wrong type: expected integer, got lots' },
      { file: ndjson, line: 3, field: 'loyalty_points', reason: 'wrong type: expected integer, got 2.5' },
      { file: ndjson, line: 4, field: 'loyalty_points', reason: 'wrong type: expected integer, got 7.0' },
    ]);
    expect(
      await rows("SELECT coupon_code, loyalty_points FROM raw_events WHERE event_id = 'evt_201'"),
    ).toEqual([{ coupon_code: 'NDJSON', loyalty_points: 3 }]);
    expect(commit('raw_events', 3).some((a) => a.metaData)).toBe(false);
  });

  const refused = async (name: string, schema: RecordJson, record: Record<string, unknown>) => {
    const file = await writeAvro(path.join(dir, name), schema, [record]);
    const before = lakeFiles();
    const versions = [
      await lake.table('raw_events').log.latestVersion(),
      await lake.table('quarantine').log.latestVersion(),
    ];
    const error = await ingest(lake, { ...base, sources: [fixture('ingest', 'events.csv'), file] }).then(
      () => undefined,
      (e: unknown) => e as { code: string; exitCode: number; message: string },
    );
    expect(error).toMatchObject({ code: 'SCHEMA_INCOMPATIBLE', exitCode: 65 });
    expect(error!.message).toContain(`${file}: incompatible with raw_events (clickstream_event v1)`);
    // nothing written: no new commit in either table, no new data file
    expect([
      await lake.table('raw_events').log.latestVersion(),
      await lake.table('quarantine').log.latestVersion(),
    ]).toEqual(versions);
    expect(lakeFiles()).toEqual(before);
    return error!.message;
  };

  describe('refuses an incompatible file, naming the file and each breaking field, and writes nothing', () => {
    beforeEach(async () => {
      await ingest(lake, { ...base, sources: [fixture('demo', 'events.ndjson')] });
    });

    it('a narrowing type change (quantity long in the file, int in raw_events)', async () => {
      const schema = evolve((fields) =>
        fields.map((f) => (f.name === 'quantity' ? optional('quantity', 'long') : f)),
      );
      const message = await refused('events-v3.avro', schema, v1Record({ quantity: 2 }));
      expect(message).toMatch(/field quantity: type long cannot be read as int \(narrowing\)$/);
    });

    it('a renamed required field (user_id → customer_id)', async () => {
      const schema = evolve((fields) =>
        fields.map((f) => (f.name === 'user_id' ? { ...f, name: 'customer_id' } : f)),
      );
      const { user_id, ...rest } = v1Record({});
      const message = await refused('renamed.avro', schema, { ...rest, customer_id: user_id });
      expect(message).toContain('field user_id: required field missing (no default)');
    });

    it('a new required field', async () => {
      const schema = evolve((fields) => [...fields, { name: 'coupon_code', type: 'string' }]);
      const message = await refused('required.avro', schema, v1Record({ coupon_code: 'X' }));
      expect(message).toContain(
        'field coupon_code: new field coupon_code is required (no default): old events cannot have it; make it optional',
      );
    });

    it('a new field whose name cannot be a column', async () => {
      const schema = evolve((fields) => [...fields, optional('couponCode', 'string')]);
      const message = await refused('camel.avro', schema, v1Record({ couponCode: 'X' }));
      expect(message).toContain('field couponCode: new field cannot become a column');
    });

    it('a type clash with a column an earlier evolution added', async () => {
      const added = evolve((fields) => [...fields, optional('loyalty_points', 'int')]);
      await ingest(lake, {
        ...base,
        sources: [
          await writeAvro(path.join(dir, 'ok.avro'), added, [
            v1Record({ event_id: 'e1', loyalty_points: 1 }),
          ]),
        ],
      });
      const clash = evolve((fields) => [...fields, optional('loyalty_points', 'string')]);
      const file = await writeAvro(path.join(dir, 'clash.avro'), clash, [v1Record({ loyalty_points: 'x' })]);
      await expect(ingest(lake, { ...base, sources: [file] })).rejects.toMatchObject({
        code: 'SCHEMA_INCOMPATIBLE',
        message: expect.stringContaining('field loyalty_points: type string cannot be read as int'),
      });
    });
  });

  it('refuses an incompatible file on a new lake without creating the tables', async () => {
    const schema = evolve((fields) => fields.filter((f) => f.name !== 'event_id'));
    const { event_id: _, ...rest } = v1Record({});
    const file = await writeAvro(path.join(dir, 'no-id.avro'), schema, [rest]);
    await expect(ingest(lake, { ...base, sources: [file] })).rejects.toMatchObject({
      code: 'SCHEMA_INCOMPATIBLE',
      message: expect.stringContaining('field event_id: required field missing'),
    });
    expect(await lake.tableNames()).toEqual([]);
  });

  it('evolves raw_events for NDJSON events when the registry gains a version with a new optional field', async () => {
    await ingest(lake, { ...base, sources: [fixture('demo', 'events.ndjson')] });
    const schemaDir = path.join(dir, 'schemas');
    mkdirSync(path.join(schemaDir, 'clickstream_event'), { recursive: true });
    copyFileSync(V1_FILE, path.join(schemaDir, 'clickstream_event', 'v1.avsc'));
    writeFileSync(
      path.join(schemaDir, 'clickstream_event', 'v2.avsc'),
      JSON.stringify(
        evolve((fields) => [...fields, { ...optional('coupon_code', 'string'), doc: 'Coupon.' }]),
      ),
    );
    const ndjson = path.join(dir, 'coupons.ndjson');
    const event = (id: string, extra: Record<string, unknown>) =>
      JSON.stringify({
        event_id: id,
        event_type: 'purchase',
        user_id: 'u1',
        timestamp: '2026-11-22T08:00:00Z',
        ...extra,
      });
    writeFileSync(
      ndjson,
      [
        event('c1', { coupon_code: 'SAVE10' }),
        event('c2', { properties: { coupon_code: 'NESTED', amount: 5 } }),
        event('c3', {}),
      ].join('\n'),
    );
    const summary = await ingest(lake, { ...base, schemaDir, sources: [ndjson] });
    expect(summary).toMatchObject({ written: 3, addedColumns: ['coupon_code'] });
    expect(commit('raw_events', 2).map((a) => Object.keys(a)[0])).toEqual([
      'commitInfo',
      'metaData',
      'txn',
      'add',
    ]);
    expect(
      await rows(
        "SELECT event_id, coupon_code FROM raw_events WHERE event_id IN ('c1', 'c2', 'c3', 'evt_001') ORDER BY 1",
      ),
    ).toEqual([
      { event_id: 'c1', coupon_code: 'SAVE10' },
      { event_id: 'c2', coupon_code: 'NESTED' },
      { event_id: 'c3', coupon_code: null },
      { event_id: 'evt_001', coupon_code: null },
    ]);
    // a v1 Avro file is still compatible with the v2 reader (coupon_code has a default)
    const again = await ingest(lake, {
      ...base,
      schemaDir,
      sources: [await writeAvro(path.join(dir, 'v1.avro'), v1(), [v1Record({ event_id: 'a1' })])],
    });
    expect(again).toMatchObject({ written: 1, addedColumns: [] });
  });

  it('maps nested, enum, bytes, date and timestamp fields to Delta columns', async () => {
    const schema = evolve((fields) => [
      ...fields,
      optional('tags', { type: 'array', items: 'string' }),
      optional('channel', { type: 'enum', name: 'Channel', symbols: ['WEB', 'APP'] }),
      optional('address', {
        type: 'record',
        name: 'Address',
        fields: [
          { name: 'city', type: 'string' },
          { name: 'zip', type: ['null', 'string'], default: null },
        ],
      }),
      optional('token', 'bytes'),
      optional('shipped_on', { type: 'int', logicalType: 'date' }),
      optional('seen_at', { type: 'long', logicalType: 'timestamp-millis' }),
      optional('score', 'double'),
      optional('vip', 'boolean'),
      optional('visits', 'long'),
    ]);
    const file = await writeAvro(path.join(dir, 'rich.avro'), schema, [
      v1Record({
        event_id: 'r1',
        tags: ['a', 'b'],
        channel: 'APP',
        address: { city: 'Lyon', zip: null },
        token: Buffer.from('hi'),
        shipped_on: 20_000,
        seen_at: Date.parse('2026-11-20T10:00:01.5Z'),
        score: 0.25,
        vip: true,
        visits: 5_000_000_000,
      }),
    ]);
    const summary = await ingest(lake, { ...base, sources: [file] });
    expect(summary.addedColumns).toEqual([
      'tags',
      'channel',
      'address',
      'token',
      'shipped_on',
      'seen_at',
      'score',
      'vip',
      'visits',
    ]);
    const schemaString = String(commit('raw_events', 1).find((a) => a.metaData)!.metaData!.schemaString);
    const types = Object.fromEntries(
      (JSON.parse(schemaString).fields as { name: string; type: string }[]).map((f) => [f.name, f.type]),
    );
    expect(types).toMatchObject({
      tags: 'string',
      channel: 'string',
      address: 'string',
      token: 'string',
      shipped_on: 'date',
      seen_at: 'timestamp',
      score: 'double',
      vip: 'boolean',
      visits: 'long',
    });
    expect(
      await rows(
        `SELECT tags, channel, address, token, CAST(shipped_on AS VARCHAR) AS shipped_on,
                CAST(seen_at AS VARCHAR) AS seen_at, score, vip, visits FROM raw_events`,
      ),
    ).toEqual([
      {
        tags: '["a","b"]',
        channel: 'APP',
        address: '{"city":"Lyon","zip":null}',
        token: Buffer.from('hi').toString('base64'),
        shipped_on: '2024-10-04',
        seen_at: '2026-11-20 10:00:01.5+00',
        score: 0.25,
        vip: true,
        visits: '5000000000',
      },
    ]);
  });

  it('names a file that is not an Avro container', async () => {
    const file = path.join(dir, 'fake.avro');
    writeFileSync(file, 'not avro at all');
    await expect(ingest(lake, { ...base, sources: [file] })).rejects.toMatchObject({
      code: 'AVRO_UNREADABLE',
      exitCode: 65,
      message: expect.stringContaining(file),
    });
  });
});

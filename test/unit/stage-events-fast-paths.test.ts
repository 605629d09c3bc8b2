import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDb } from '../../src/engine/duckdb.js';
import { stageEventsSql } from '../../src/ingest/staging-sql.js';

// sql/ingest/stage_events.sql takes shortcuts on the hot path: cheap pre-filters that decide where an
// exact check runs (staging_prefilter) and direct conversions of values in common shapes
// (staging_fast_path), both macros of sql/macros/staging.sql. The rules are defined by the exact
// checks alone: with every shortcut turned off (each exact check on every row, every number through
// the exact path) the query must give the same rows, column for column, over hostile input.

const PARAMS = {
  ingested_at: '2026-11-24T12:00:00Z',
  min_event_time: '2000-01-01 00:00:00+00',
  max_event_time: '2026-11-25T12:00:00Z',
};

const T = '2026-11-20T10:00:00Z';

/** JSON value texts around every shortcut's edge (what a pre-filter looks at, what a fast path takes). */
const VALUES = [
  '"x"',
  '""',
  '" "',
  '"\\t "',
  '"\\u3000"',
  '"\\u00a0x"',
  '"\\u0085"',
  '"\\ufeff"',
  '"a\\u0000b"',
  '"\\u0000"',
  '"{\\"a\\":1}"',
  '"[1]"',
  '"{"',
  '"["',
  '"|"',
  '"\\\\"',
  '"true"',
  '"false"',
  '"NaN"',
  '"Infinity"',
  '"-Infinity"',
  '"nan"',
  '"inf"',
  '"é"',
  '"😀"',
  '"tru"',
  '"fals"',
  '"Nan"',
  '"page_view"',
  '"PAGE_VIEW"',
  '"usd"',
  '"US"',
  '{}',
  '{"a":1}',
  '[]',
  '[1,"x"]',
  'true',
  'false',
  'null',
  'NaN',
  '-NaN',
  'Infinity',
  '-Infinity',
  '0',
  '-0',
  '1',
  '-1',
  '7',
  '2.5',
  '2.50',
  '2.0',
  '9.99',
  '9.999',
  '-9.99',
  '0.1',
  '0.01',
  '0.001',
  '10',
  '100.1',
  '1e2',
  '1E2',
  '1e-2',
  '1.5e1',
  '123456789',
  '1234567890',
  '2147483647',
  '2147483648',
  '9999999999999999',
  '99999999999999999',
  '9999999999999999.99',
  '1e15',
  '1e16',
  '1e400',
  '1e-400',
  '"1"',
  '"01"',
  '"1.50"',
  '"+1"',
  '" 1"',
  '"1 "',
  '"0x10"',
  '"1_000"',
  '"1e2"',
  '"-5"',
  `"${T}"`,
  '"2026-11-20 10:00:00"',
  '"2026-11-20T10:00:00+02:00"',
  '"2026-11-20"',
  '"2026-13-45T99:99:99Z"',
  '1795168802000',
  '1795168802',
  '1795168802.5',
  '"1795168802"',
  `"${'9'.repeat(40)}"`,
];

const STRING_FIELDS = [
  'event_id',
  'event_type',
  'user_id',
  'session_id',
  'ip',
  'user_agent',
  'page_url',
  'referrer',
];
const PROPERTY_FIELDS = [
  'product_id',
  'category',
  'quantity',
  'price',
  'cart_value',
  'order_id',
  'amount',
  'currency',
];
const FIELDS = [...STRING_FIELDS, 'timestamp', 'event_time', 'received_at', 'properties', ...PROPERTY_FIELDS];

const BASE: [string, string][] = [
  ['event_id', '"e"'],
  ['event_type', '"add_to_cart"'],
  ['user_id', '"u1"'],
  ['session_id', '"s1"'],
  ['timestamp', `"${T}"`],
];

/** A record of the base fields with `field` (top level, or under properties) set to the JSON text `value`. */
function record(id: number, field: string, value: string, nested: boolean): string {
  const members = BASE.filter(([k]) => k !== field && !(field === 'event_time' && k === 'timestamp')).map(
    ([k, v]) => `"${k}":${k === 'event_id' ? `"e${id}"` : v}`,
  );
  const text = `"${field}":${value}`;
  return nested ? `{${members.join(',')},"properties":{${text}}}` : `{${members.join(',')},${text}}`;
}

/** A small deterministic PRNG (mulberry32), so that a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Variants of a good line: whitespace, trailing commas, duplicate keys, cut or doubled text. */
function variants(line: string, next: () => number): string[] {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const at = Math.floor(next() * line.length);
  const ws = pick([' ', '\t', '\r', '\n', '  ', ' \t ']);
  return [
    line.replaceAll(',', `,${ws}`),
    line.replaceAll(':', `${ws}:${ws}`),
    `${ws}${line}${ws}`,
    `${line.slice(0, -1)},}`,
    `${line.slice(0, -1)},${ws}}`,
    line.replace('}', ',}'),
    line.replace('{', '{"event_id":"dup",'),
    line.slice(0, at),
    line.slice(0, at) + line.slice(at + 1),
    line.slice(0, at) +
      pick(['"', ',', '{', '}', '[', ']', ':', '\\', '\\u0000', ', }', ' ']) +
      line.slice(at),
    `[${line}]`,
    `${line}${line}`,
    line.replaceAll('"', "'"),
  ];
}

describe('stage_events.sql shortcuts', () => {
  let db: DuckDb;
  let sql: string;
  beforeAll(async () => {
    db = await DuckDb.open();
    sql = await stageEventsSql(db);
  });
  afterAll(() => db.close());

  async function stage(lines: readonly string[], shortcuts: boolean): Promise<Record<string, unknown>[]> {
    await db.run(
      'CREATE OR REPLACE TEMP TABLE __ingest_lines (source_file VARCHAR, line_number BIGINT, raw VARCHAR)',
    );
    const appender = await db.connection.createAppender('__ingest_lines', 'main', 'temp');
    for (const [i, line] of lines.entries()) {
      appender.appendVarchar('f');
      appender.appendBigInt(BigInt(i + 1));
      appender.appendVarchar(line);
      appender.endRow();
    }
    appender.closeSync();
    await stageEventsSql(db);
    if (!shortcuts) {
      await db.run('CREATE OR REPLACE MACRO staging_prefilter(cheap) AS true');
      await db.run('CREATE OR REPLACE MACRO staging_fast_path(cheap) AS false');
    }
    // every column as text: a value and its type compared at once
    return db.all(`SELECT COLUMNS(*)::VARCHAR FROM (${sql}) ORDER BY source_line`, PARAMS);
  }

  async function expectSameRows(lines: readonly string[]): Promise<Record<string, unknown>[]> {
    const fast = await stage(lines, true);
    const exact = await stage(lines, false);
    expect(exact.length).toBeGreaterThan(0);
    expect(fast.length).toBe(exact.length);
    for (const [i, row] of fast.entries())
      expect({ line: lines[i], ...row }).toEqual({ line: lines[i], ...exact[i] });
    return exact;
  }

  it('give the rows of the exact rules for every edge value of every field, top level and nested', async () => {
    const lines: string[] = [];
    for (const field of FIELDS) {
      for (const value of VALUES) {
        lines.push(record(lines.length, field, value, false));
        if (PROPERTY_FIELDS.includes(field)) lines.push(record(lines.length, field, value, true));
      }
    }
    // both paths were exercised: good rows, and refusals for many fields and reasons
    const rows = await expectSameRows(lines);
    expect(rows.filter((r) => r.error_reason === null).length).toBeGreaterThan(500);
    expect(new Set(rows.map((r) => r.error_field)).size).toBeGreaterThan(15);
    expect(new Set(rows.map((r) => r.error_reason)).size).toBeGreaterThan(100);
  });

  it('give the rows of the exact rules for the fixtures and thousands of generated variants of them', async () => {
    const fixtures = ['fixtures/golden/events.ndjson', 'fixtures/ingest/mixed.ndjson'].flatMap((file) =>
      readFileSync(file, 'utf8').split('\n'),
    );
    const next = random(14);
    const lines = [...fixtures];
    for (const line of fixtures.filter((l) => l.startsWith('{'))) {
      for (let round = 0; round < 8; round++) lines.push(...variants(line, next));
    }
    // blank and almost blank lines: spaces, Unicode spaces, controls
    lines.push(
      ' ',
      '   ',
      '\u3000',
      '\u00a0 ',
      ' \u2028',
      '\t',
      ' \t',
      '\u0085',
      '\ufeff',
      ' x',
      '\u3000{}',
      '.',
    );
    const rows = await expectSameRows(lines);
    expect(rows.filter((r) => r.error_reason === null).length).toBeGreaterThan(100);
    expect(rows.filter((r) => r.error_field === 'record').length).toBeGreaterThan(100);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDb } from '../../src/engine/duckdb.js';
import { stageEventsSql } from '../../src/ingest/staging-sql.js';

// sql/ingest/stage_events.sql on its own: no value of any field may make the query fail (a failed
// staging query loses the whole batch), and every hostile value is either landed as sent or refused
// with the field it came from.

const PARAMS = {
  ingested_at: '2026-11-24T12:00:00Z',
  min_event_time: '2000-01-01 00:00:00+00',
  max_event_time: '2026-11-25T12:00:00Z',
};

/** JSON value texts that have broken, or could break, a conversion somewhere. */
const HOSTILE = [
  'NaN',
  '-NaN',
  'Infinity',
  '-Infinity',
  'inf',
  '1e400',
  '-1e400',
  '1e-400',
  '1e308',
  '1.7976931348623157e308',
  '5e-324',
  '9.3e15',
  '1e16',
  '-1e17',
  '1e300',
  '9223372036854775807',
  '9223372036854775808',
  '-9223372036854775809',
  '123456789012345678901234567890',
  '0',
  '-0',
  '-0.0',
  '2.5',
  'true',
  'false',
  'null',
  '{}',
  '[]',
  '{"a":1}',
  '[1,"x",null]',
  '""',
  '" "',
  '"\\u0000"',
  '"NaN"',
  '"1e400"',
  '"-1e17"',
  '"infinity"',
  '"-infinity"',
  '"epoch"',
  '"294247-01-10T04:00:54Z"',
  '"2026-13-45T99:99:99Z"',
  '"0x10"',
  '"1_000"',
  '" 12 "',
  '"1e99999999999999999999"',
  '"1e-99999999999999999999"',
  '"1.5e-9223372036854775808"',
  '"1.5e9223372036854775807"',
  '"0.0e-9223372036854775808"',
  '1e-9223372036854775808',
  '"\\ud83d\\ude00"',
  `"${'9'.repeat(400)}"`,
  `"${'x'.repeat(5000)}"`,
  '"\'; DROP TABLE raw_events; --"',
];

const FIELDS = [
  'event_id',
  'event_type',
  'user_id',
  'session_id',
  'timestamp',
  'event_time',
  'received_at',
  'ip',
  'user_agent',
  'page_url',
  'referrer',
  'properties',
  'product_id',
  'category',
  'quantity',
  'price',
  'cart_value',
  'order_id',
  'amount',
  'currency',
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

const VALID: Record<string, unknown> = {
  event_id: 'e',
  event_type: 'add_to_cart',
  user_id: 'u1',
  timestamp: '2026-11-20T10:00:00Z',
};

/** A valid record with `field` (top level, or under properties) set to the JSON text `value`. */
function record(id: number, field: string, value: string, nested: boolean): string {
  const fields = Object.entries({ ...VALID, event_id: `e${id}` })
    .filter(([k]) => k !== field && !(field === 'event_time' && k === 'timestamp'))
    .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
  const text = `${JSON.stringify(field)}:${value}`;
  return nested ? `{${fields.join(',')},"properties":{${text}}}` : `{${fields.join(',')},${text}}`;
}

describe('stage_events.sql', () => {
  let db: DuckDb;
  beforeAll(async () => {
    db = await DuckDb.open();
  });
  afterAll(() => db.close());

  async function stage(lines: readonly string[]) {
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
    return db.all<{
      source_line: string;
      event_id: string | null;
      error_field: string | null;
      error_reason: string | null;
    }>(
      `SELECT source_line, event_id, error_field, error_reason FROM (${await stageEventsSql(db)}) ORDER BY source_line`,
      PARAMS,
    );
  }

  it('no value of any field, top level or under properties, fails the staging query', async () => {
    const lines: string[] = [];
    const cases: { field: string; value: string }[] = [];
    for (const field of FIELDS) {
      for (const value of HOSTILE) {
        lines.push(record(lines.length, field, value, false));
        cases.push({ field, value });
        if (PROPERTY_FIELDS.includes(field)) {
          lines.push(record(lines.length, field, value, true));
          cases.push({ field: `properties.${field}`, value });
        }
      }
    }
    // One query over every case at once: a single conversion error anywhere would fail it.
    const staged = await stage(lines);
    expect(staged).toHaveLength(lines.length);
    for (const [i, row] of staged.entries()) {
      const { field } = cases[i]!;
      if (row.error_reason === null) continue;
      // a refusal names the field it came from (timestamps may name event_time; a record-level problem names record)
      const named = field.replace(/^properties\./, '');
      const allowed = [field, `properties.${named}`, named, 'record', 'properties'];
      // a missing event_time is reported as the missing required timestamp
      if (field === 'event_time') allowed.push('timestamp');
      expect(allowed).toContain(row.error_field);
      expect(row.error_reason.length).toBeGreaterThan(5);
    }
  });

  it('refuses every non-string value of a string field, and lands the string forms', async () => {
    const stringFields = ['event_id', 'user_id', 'session_id', 'ip', 'user_agent', 'page_url', 'referrer'];
    const lines: string[] = [];
    const expected: (string | null)[] = [];
    for (const field of stringFields) {
      for (const value of ['{"a":1}', '[1]', 'true', 'false', 'NaN', '-Infinity']) {
        lines.push(record(lines.length, field, value, false));
        expected.push(field);
      }
      for (const value of ['"{\\"a\\":1}"', '"[1]"', '"true"', '"NaN"', '"-Infinity"', '42']) {
        lines.push(record(lines.length, field, value, false));
        expected.push(null);
      }
    }
    const staged = await stage(lines);
    expect(staged.map((r) => r.error_field)).toEqual(expected);
    for (const row of staged.filter((r) => r.error_field !== null)) {
      expect(row.error_reason).toMatch(
        /^wrong type: expected a string, got (an object|an array|a boolean|a non-finite number): /,
      );
    }
  });
});

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DuckDb } from '../../src/engine/duckdb.js';
import { ingest } from '../../src/ingest/ingest.js';
import { Lake } from '../../src/lake/table/lake.js';
import { LocalStore } from '../../src/storage/local-store.js';
import { tempDir } from '../helpers/cli.js';
import { testIngestOptions } from '../helpers/ingest-workspace.js';

// The per-record validation rules of sql/ingest/stage_events.sql (README "Validation rules"), through
// ingest() of real files into a real lake.

const NOW = new Date('2026-11-24T12:00:00Z');
const base = testIngestOptions(NOW);

/** One record's JSON text: a valid event with `id`, then `extra` spliced in before the closing brace. */
function event(id: string, extra = ''): string {
  return `{"event_id":"${id}","event_type":"add_to_cart","user_id":"u1","timestamp":"2026-11-20T10:00:00Z"${extra}}`;
}

interface Quarantined {
  source_line: number;
  error_field: string;
  error_reason: string;
  raw: string;
}

describe('ingest validation rules', () => {
  let dir: string;
  let db: DuckDb;
  let lake: Lake;

  beforeEach(async () => {
    dir = tempDir('ingest-rules');
    db = await DuckDb.open();
    lake = new Lake(new LocalStore(path.join(dir, 'lake')), db);
  });
  afterEach(() => db.close());

  /** Ingests `lines` as one NDJSON file; returns the summary, the quarantine by line and raw_events by event_id. */
  async function run(lines: readonly string[], name = 'events.ndjson') {
    const file = path.join(dir, name);
    writeFileSync(file, `${lines.join('\n')}\n`);
    const summary = await ingest(lake, { ...base, sources: [file] });
    for (const table of await lake.tableNames()) await lake.table(table).register(table);
    const bad = await db.all<Quarantined>(
      'SELECT source_line::INT AS source_line, error_field, error_reason, raw FROM quarantine ORDER BY source_line',
    );
    const good = await db.all<Record<string, unknown>>(
      `SELECT event_id, user_id, session_id, user_agent, page_url, referrer, quantity,
              CAST(price AS VARCHAR) AS price, CAST(cart_value AS VARCHAR) AS cart_value,
              CAST(amount AS VARCHAR) AS amount, CAST(event_time AS VARCHAR) AS event_time,
              CAST(received_at AS VARCHAR) AS received_at, source_line::INT AS source_line
       FROM raw_events ORDER BY source_line`,
    );
    return {
      summary,
      bad: new Map(bad.map((b) => [b.source_line, b])),
      good: new Map(good.map((g) => [String(g.event_id), g])),
    };
  }

  it('quarantines out-of-range numeric and string timestamps instead of failing the batch', async () => {
    const lines = [
      event('ok-before'),
      '{"event_id":"t1","event_type":"page_view","user_id":"u1","timestamp":"NaN"}',
      '{"event_id":"t2","event_type":"page_view","user_id":"u1","timestamp":"1e400"}',
      '{"event_id":"t3","event_type":"page_view","user_id":"u1","timestamp":1e16}',
      '{"event_id":"t4","event_type":"page_view","user_id":"u1","timestamp":9.3e15}',
      '{"event_id":"t5","event_type":"page_view","user_id":"u1","timestamp":-1e17}',
      '{"event_id":"t6","event_type":"page_view","user_id":"u1","timestamp":1e300}',
      '{"event_id":"t7","event_type":"page_view","user_id":"u1","timestamp":1e400}',
      event('r1', ',"received_at":1e300'),
      event('r2', ',"received_at":"NaN"'),
      '{"event_id":"t8","event_type":"page_view","user_id":"u1","event_time":"-Infinity"}',
      '{"event_id":"ms","event_type":"page_view","user_id":"u1","timestamp":1795219300000}',
      '{"event_id":"s","event_type":"page_view","user_id":"u1","timestamp":"1795219300.5"}',
      event('ok-after'),
    ];
    const { summary, bad, good } = await run(lines);
    expect(summary).toMatchObject({ read: 14, quarantined: 10, written: 4 });
    expect([...good.keys()]).toEqual(['ok-before', 'ms', 's', 'ok-after']);
    expect(good.get('ms')!.event_time).toBe('2026-11-21 00:01:40+00');
    expect(good.get('s')!.event_time).toBe('2026-11-21 00:01:40.5+00');
    const reasons = [2, 3, 4, 5, 6, 7, 8].map((line) => bad.get(line)!);
    for (const b of reasons) {
      expect(b.error_field).toBe('timestamp');
      expect(b.error_reason).toMatch(
        /^not a timestamp \(ISO-8601, or epoch seconds\/milliseconds below 1e14\): /,
      );
      expect(b.raw).toBe(lines[b.source_line - 1]);
    }
    // the reason names the value (as the JSON parser writes it back)
    expect(reasons.map((b) => b.error_reason.split(': ')[1])).toEqual([
      'NaN',
      '1e400',
      '1e+16',
      '9300000000000000.0',
      '-1e+17',
      '1e+300',
      '1e400',
    ]);
    expect(bad.get(9)).toMatchObject({
      error_field: 'received_at',
      error_reason: expect.stringContaining('1e+300'),
    });
    expect(bad.get(10)).toMatchObject({
      error_field: 'received_at',
      error_reason: expect.stringContaining('NaN'),
    });
    expect(bad.get(11)).toMatchObject({
      error_field: 'event_time',
      error_reason: expect.stringContaining('-Infinity'),
    });
  });

  it('refuses objects, arrays, booleans and NaN where a string belongs, and blank ids', async () => {
    const lines = [
      '{"event_id":{"id":1},"event_type":"page_view","user_id":"u1","timestamp":"2026-11-20T10:00:00Z"}',
      '{"event_id":["e"],"event_type":"page_view","user_id":"u1","timestamp":"2026-11-20T10:00:00Z"}',
      '{"event_id":true,"event_type":"page_view","user_id":"u1","timestamp":"2026-11-20T10:00:00Z"}',
      '{"event_id":"s4","event_type":"page_view","user_id":{"id":"u1"},"timestamp":"2026-11-20T10:00:00Z"}',
      '{"event_id":"s5","event_type":"page_view","user_id":NaN,"timestamp":"2026-11-20T10:00:00Z"}',
      '{"event_id":"s6","event_type":false,"user_id":"u1","timestamp":"2026-11-20T10:00:00Z"}',
      event('s7', ',"session_id":[1,2]'),
      event('s8', ',"properties":{"currency":{"code":"USD"}}'),
      '{"event_id":"   ","event_type":"page_view","user_id":"u1","timestamp":"2026-11-20T10:00:00Z"}',
      '{"event_id":"s10","event_type":"page_view","user_id":"\\t\\u00a0\\u3000","timestamp":"2026-11-20T10:00:00Z"}',
      event('s11', ',"session_id":" "'),
      event('s12', ',"properties":5'),
      // strings that look like those values are strings: they land
      '{"event_id":"true","event_type":"page_view","user_id":"NaN","timestamp":"2026-11-20T10:00:00Z"}',
      '{"event_id":12345,"event_type":"page_view","user_id":123456789012345678901234567890,"timestamp":"2026-11-20T10:00:00Z"}',
      event('s15', ',"session_id":"{not json}"'),
      event('s16', ',"properties":{}'),
    ];
    const { bad, good } = await run(lines);
    const at = (line: number) => [bad.get(line)?.error_field, bad.get(line)?.error_reason];
    expect(at(1)).toEqual(['event_id', 'wrong type: expected a string, got an object: {"id":1}']);
    expect(at(2)).toEqual(['event_id', 'wrong type: expected a string, got an array: ["e"]']);
    expect(at(3)).toEqual(['event_id', 'wrong type: expected a string, got a boolean: true']);
    expect(at(4)).toEqual(['user_id', 'wrong type: expected a string, got an object: {"id":"u1"}']);
    expect(at(5)).toEqual(['user_id', 'wrong type: expected a string, got a non-finite number: NaN']);
    expect(at(6)).toEqual(['event_type', 'wrong type: expected a string, got a boolean: false']);
    expect(at(7)).toEqual(['session_id', 'wrong type: expected a string, got an array: [1,2]']);
    expect(at(8)).toEqual([
      'properties.currency',
      'wrong type: expected a string, got an object: {"code":"USD"}',
    ]);
    expect(at(9)).toEqual(['event_id', 'blank (whitespace only)']);
    expect(at(10)).toEqual(['user_id', 'blank (whitespace only)']);
    expect(at(11)).toEqual(['session_id', 'blank (whitespace only)']);
    expect(at(12)).toEqual(['properties', 'wrong type: expected an object, got a number']);
    expect(good.get('true')).toMatchObject({ user_id: 'NaN' });
    expect(good.get('12345')).toMatchObject({ user_id: '123456789012345678901234567890' });
    expect(good.get('s15')).toMatchObject({ session_id: '{not json}' });
    expect(good.has('s16')).toBe(true);
    expect(bad.size).toBe(12);
  });

  it('accepts strict JSON only: trailing commas are refused, commas inside strings are data', async () => {
    const lines = [
      '{"event_id":"c1","event_type":"page_view","user_id":"u1","timestamp":"2026-11-20T10:00:00Z",}',
      event('c2', ',"properties":{"price":1 , }'),
      event('c3', ',"tags":["a","b",]'),
      event('c4', ',"page_url":"/search?q=a,}&x=, ]"'),
    ];
    const { bad, good } = await run(lines);
    for (const line of [1, 2, 3]) {
      expect(bad.get(line)).toMatchObject({
        error_field: 'record',
        error_reason: 'not strict JSON (RFC 8259): trailing comma',
        raw: lines[line - 1],
      });
    }
    expect(good.get('c4')).toMatchObject({ page_url: '/search?q=a,}&x=, ]' });
  });

  it('never rounds: whole quantities, amounts with at most 2 decimals, strings and numbers alike', async () => {
    const props = (id: string, json: string) => event(id, `,"properties":${json}`);
    const lines = [
      props('q1', '{"quantity":2.5}'),
      props('q2', '{"quantity":"2.5"}'),
      props('q3', '{"quantity":2.0}'),
      props('q4', '{"quantity":"1e2"}'),
      props('q5', '{"quantity":-0}'),
      props('q6', '{"quantity":3e9}'),
      props('q7', '{"quantity":" 2"}'),
      props('p1', '{"price":9.999}'),
      props('p2', '{"price":"9.999"}'),
      props('p3', '{"price":12.50}'),
      props('p4', '{"price":"12.5"}'),
      props('p5', '{"price":"12.500"}'),
      props('p6', '{"price":1e2}'),
      props('p7', '{"price":-0.0}'),
      props('p8', '{"price":1.5e-3}'),
      props('p9', '{"price":"1234e-2"}'),
      props('p10', '{"price":"9999999999999999.99"}'),
      props('p11', '{"cart_value":12345678901234567}'),
      props('p12', '{"amount":1e400}'),
      props('p13', '{"price":"0x10"}'),
      props('p14', '{"price":Infinity}'),
      props('p15', '{"amount":-5.25}'),
      props('p16', '{"price":"1e-400"}'),
    ];
    const { bad, good } = await run(lines);
    const at = (line: number) => [bad.get(line)?.error_field, bad.get(line)?.error_reason];
    expect(at(1)).toEqual(['properties.quantity', 'not a whole number: 2.5']);
    expect(at(2)).toEqual(['properties.quantity', 'not a whole number: 2.5']);
    expect(good.get('q3')!.quantity).toBe(2);
    expect(good.get('q4')!.quantity).toBe(100);
    expect(good.get('q5')!.quantity).toBe(0);
    expect(at(6)).toEqual(['properties.quantity', 'out of range for an integer: 3000000000.0']);
    expect(at(7)).toEqual(['properties.quantity', 'wrong type: expected a number, got  2']);
    expect(at(8)).toEqual(['properties.price', 'more than 2 decimals (amounts are never rounded): 9.999']);
    expect(at(9)).toEqual(['properties.price', 'more than 2 decimals (amounts are never rounded): 9.999']);
    expect(good.get('p3')!.price).toBe('12.50');
    expect(good.get('p4')!.price).toBe('12.50');
    expect(good.get('p5')!.price).toBe('12.50');
    expect(good.get('p6')!.price).toBe('100.00');
    expect(good.get('p7')!.price).toBe('0.00');
    expect(at(15)).toEqual(['properties.price', 'more than 2 decimals (amounts are never rounded): 0.0015']);
    expect(good.get('p9')!.price).toBe('12.34');
    expect(good.get('p10')!.price).toBe('9999999999999999.99');
    expect(at(18)).toEqual(['properties.cart_value', 'out of range: 12345678901234567']);
    expect(at(19)).toEqual(['properties.amount', 'out of range: 1e400']);
    expect(at(20)).toEqual(['properties.price', 'wrong type: expected a number, got 0x10']);
    expect(at(21)).toEqual(['properties.price', 'wrong type: expected a number, got Infinity']);
    expect(good.get('p15')!.amount).toBe('-5.25');
    expect(at(23)).toEqual(['properties.price', 'more than 2 decimals (amounts are never rounded): 1e-400']);
  });

  it('lands hostile text unchanged, ignores unknown fields, and survives deep and wide records', async () => {
    const injection = `'; DROP TABLE raw_events; --`;
    const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    const deepObject = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
    const wide = Array.from({ length: 100_000 }, (_, i) => `"k${i}":${i}`).join(',');
    const lines = [
      event(
        'h1',
        `,"page_url":${JSON.stringify(injection)},"referrer":"x' OR '1'='1","user_agent":"Robert'); DROP TABLE students;--"`,
      ),
      event('h2', ',"user_agent":"a\\u0000b"'),
      event('h3', ',"user_agent":"a\\\\u0000b"'),
      event('h4', ',"unknown":"a\\u0000b","other":{"nested":[1,2,3]}'),
      event('h5', `,"extra":${deep}`),
      event('h6', `,"properties":${deepObject}`),
      event('h7', `,${wide}`),
      event('h8', `,"user_agent":${deep}`),
    ];
    const { bad, good } = await run(lines);
    expect(good.get('h1')).toMatchObject({
      page_url: injection,
      referrer: "x' OR '1'='1",
      user_agent: "Robert'); DROP TABLE students;--",
    });
    expect(bad.get(2)).toMatchObject({
      error_field: 'user_agent',
      error_reason: 'contains a NUL character (\\u0000)',
    });
    expect(good.get('h3')!.user_agent).toBe('a\\u0000b');
    expect(good.has('h4')).toBe(true);
    expect(good.has('h5')).toBe(true);
    expect(good.has('h6')).toBe(true);
    expect(good.has('h7')).toBe(true);
    expect(bad.get(8)).toMatchObject({
      error_field: 'user_agent',
      error_reason: expect.stringMatching(/^wrong type: expected a string, got an array: \[\[\[/),
    });
    expect(await db.all('SELECT * FROM raw_events WHERE false')).toEqual([]);
  });
});

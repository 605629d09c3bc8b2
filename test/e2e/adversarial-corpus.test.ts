import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { cliAsync, tempDir } from '../helpers/cli.js';

/**
 * The adversarial corpus of issue 12, ingested in ONE batch beside good files, through the CLI as a
 * user runs it: every good record lands, every bad one is quarantined with its file, line, field and
 * reason, corrupt compressed files are refused by name with nothing of them landed, and
 * read = written + duplicates + quarantined.
 */

const T = '2026-11-20T10:00:00Z';
const event = (id: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    event_id: id,
    event_type: 'page_view',
    user_id: `usr_${id}`,
    session_id: `s_${id}`,
    timestamp: T,
    ...extra,
  });

/** A line with an expected outcome: good (lands), bad (field quarantined), or skipped (blank). */
type Line =
  | { readonly text: string; readonly good: string }
  | { readonly text: string; readonly bad: string }
  | { readonly text: string; readonly skip: true };

/** The bad records: each quarantined with this field. */
const badLines = (): Line[] => [
  { text: event('ts_nan', { timestamp: 'NaN' }), bad: 'timestamp' },
  { text: event('ts_1e400', { timestamp: '1e400' }), bad: 'timestamp' },
  { text: event('ts_1e16').replace(`"${T}"`, '1e16'), bad: 'timestamp' },
  { text: event('ts_9e15').replace(`"${T}"`, '9.3e15'), bad: 'timestamp' },
  { text: event('ts_neg').replace(`"${T}"`, '-1e17'), bad: 'timestamp' },
  { text: event('ts_1e300').replace(`"${T}"`, '1e300'), bad: 'timestamp' },
  { text: event('recv_bad', { received_at: 1e300 }), bad: 'received_at' },
  { text: event('x', { event_id: { nested: 'id' } }), bad: 'event_id' },
  { text: event('x', { event_id: ['a', 'b'] }), bad: 'event_id' },
  { text: event('x', { event_id: true }), bad: 'event_id' },
  { text: event('x', { event_id: '   ' }), bad: 'event_id' },
  { text: event('uid_arr', { user_id: ['u1'] }), bad: 'user_id' },
  { text: event('uid_obj', { user_id: { id: 'u1' } }), bad: 'user_id' },
  { text: event('uid_blank', { user_id: '\t ' }), bad: 'user_id' },
  { text: `${event('trailing').slice(0, -1)},}`, bad: 'record' },
  {
    text: event('qty_frac', { event_type: 'add_to_cart', quantity: 2.5, price: 10 }),
    bad: 'properties.quantity',
  },
  {
    text: event('price_3dp', { event_type: 'add_to_cart', quantity: 1, price: 9.999 }),
    bad: 'properties.price',
  },
  {
    text: event('price_text', { event_type: 'add_to_cart', quantity: 1, price: 'abc' }),
    bad: 'properties.price',
  },
  {
    text: event('neg_price', { event_type: 'add_to_cart', quantity: 1, price: -5 }),
    bad: 'properties.price',
  },
  { text: '{"event_id": "unterminated", "event_type": "page_view"', bad: 'record' },
  { text: 'not json at all', bad: 'record' },
  { text: '[1, 2, 3]', bad: 'record' },
  { text: `${'['.repeat(5000)}${']'.repeat(5000)}`, bad: 'record' },
  { text: event('nul_byte').replace('page_view', 'page\u0000view'), bad: 'record' },
  { text: event('no_user', { user_id: null }), bad: 'user_id' },
  { text: event('no_type', { event_type: '' }), bad: 'event_type' },
  { text: event('escaped_nul', { referrer: 'a\u0000b' }), bad: 'referrer' },
  {
    text: event('bad_currency', { event_type: 'purchase', amount: 5, currency: 'dollars' }),
    bad: 'properties.currency',
  },
];

/** Good records that look dangerous: they land unchanged. */
const trickyGoodLines = (): Line[] => [
  { text: event('sqli', { user_id: "x'); DROP TABLE raw_events; --" }), good: 'sqli' },
  { text: event('quote"s', { page_url: "https://shop.example/?q=' OR 1=1 --" }), good: 'quote"s' },
  { text: event('unicode', { page_url: 'https://shop.example/é/日本/😀' }), good: 'unicode' },
  {
    text: event('qty_int_float', { event_type: 'add_to_cart', quantity: 2.0, price: 9.99 }),
    good: 'qty_int_float',
  },
  {
    text: event('big_object', Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, i]))),
    good: 'big_object',
  },
  { text: event('epoch_ms').replace(`"${T}"`, String(Date.parse(T))), good: 'epoch_ms' },
  { text: event('epoch_s').replace(`"${T}"`, String(Date.parse(T) / 1000)), good: 'epoch_s' },
  {
    text: `{"event_id":"cr_inside",\r"event_type":"page_view","user_id":"u_cr","timestamp":"${T}"}`,
    good: 'cr_inside',
  },
];

function writeLines(file: string, lines: readonly Line[], eol = '\n'): void {
  writeFileSync(file, lines.map((l) => l.text).join(eol) + eol);
}

describe('an adversarial corpus in one batch with good files', () => {
  it('lands every good record, quarantines every bad one by file, line, field and reason, and refuses corrupt archives by name', async () => {
    const dir = tempDir('corpus');
    const src = path.join(dir, 'landing');
    mkdirSync(src);
    const lake = path.join(dir, 'lake');
    const expectedGood = new Set<string>();
    const expectedBad: { file: string; line: number; field: string }[] = [];
    let expectedSkipped = 0;
    const account = (file: string, lines: readonly Line[]) =>
      lines.forEach((l, i) => {
        if ('good' in l) expectedGood.add(l.good);
        else if ('bad' in l) expectedBad.push({ file, line: i + 1, field: l.bad });
        else expectedSkipped++;
      });

    // 1. good plain NDJSON, 2. a mixed file (bad, tricky-good, blank and whitespace-only lines)
    const good: Line[] = Array.from({ length: 500 }, (_, i) => ({ text: event(`g${i}`), good: `g${i}` }));
    writeLines(path.join(src, 'good.ndjson'), good);
    account('good.ndjson', good);
    const mixed: Line[] = [];
    const bad = badLines();
    const tricky = trickyGoodLines();
    for (let i = 0; i < Math.max(bad.length, tricky.length); i++) {
      if (bad[i]) mixed.push(bad[i]!);
      if (tricky[i]) mixed.push(tricky[i]!);
      if (i % 5 === 0)
        mixed.push({ text: '\t', skip: true }, { text: ' \t \r', skip: true }, { text: '', skip: true });
    }
    writeLines(path.join(src, 'mixed.ndjson'), mixed);
    account('mixed.ndjson', mixed);

    // 3. CRLF + BOM; 4. a Latin-1 byte and a line over 2 MB; 5. a lone CR line
    const crlf: Line[] = Array.from({ length: 20 }, (_, i) => ({
      text: event(`crlf${i}`),
      good: `crlf${i}`,
    }));
    writeFileSync(path.join(src, 'crlf-bom.ndjson'), `\uFEFF${crlf.map((l) => l.text).join('\r\n')}\r\n`);
    account('crlf-bom.ndjson', crlf);
    const bytes: Line[] = [
      { text: event('before_latin1'), good: 'before_latin1' },
      { text: 'LATIN1', bad: 'record' },
      { text: event('long', { page_url: 'x'.repeat(2_100_000) }), bad: 'record' },
      { text: event('after_long'), good: 'after_long' },
    ];
    const latin1 = Buffer.from(event('latin1', { page_url: 'caf\u00e9' }), 'latin1');
    const parts = bytes.map((l) => (l.text === 'LATIN1' ? latin1 : Buffer.from(l.text)));
    writeFileSync(
      path.join(src, 'bytes.ndjson'),
      Buffer.concat(parts.flatMap((p) => [p, Buffer.from('\n')])),
    );
    account('bytes.ndjson', bytes);
    const loneCr: Line[] = [
      { text: `${event('cr_a')}\r${event('cr_b')}`, bad: 'record' },
      { text: event('cr_c'), good: 'cr_c' },
    ];
    writeLines(path.join(src, 'lone-cr.ndjson'), loneCr);
    account('lone-cr.ndjson', loneCr);

    // 6. gzip, good; 7. CSV with a malformed row, then good rows (exact lines)
    const gz: Line[] = Array.from({ length: 50 }, (_, i) => ({ text: event(`gz${i}`), good: `gz${i}` }));
    writeFileSync(path.join(src, 'good.ndjson.gz'), gzipSync(gz.map((l) => l.text).join('\n')));
    account('good.ndjson.gz', gz);
    writeFileSync(
      path.join(src, 'orders.csv'),
      [
        'event_id,event_type,user_id,timestamp,price,quantity',
        `c1,add_to_cart,u1,${T},10.00,1`,
        `c2,add_to_cart,u2,${T},10.00,1,extra,columns`,
        `c3,add_to_cart,u3,${T},10.00,1`,
        `c4,add_to_cart,u4,${T},oops,1`,
        `c5,add_to_cart,u5,${T},10.00,1`,
      ].join('\n'),
    );
    for (const id of ['c1', 'c3', 'c5']) expectedGood.add(id);
    expectedBad.push(
      { file: 'orders.csv', line: 3, field: 'record' },
      { file: 'orders.csv', line: 5, field: 'properties.price' },
    );

    // 8. a duplicate of good records under another name (duplicates, not quarantined)
    writeLines(path.join(src, 'good-copy.ndjson'), good.slice(0, 10));

    // 9. corrupt archives: a truncated gzip and a text file named .gz
    const big = Array.from({ length: 2000 }, (_, i) => event(`trunc${i}`)).join('\n');
    const whole = gzipSync(big);
    writeFileSync(path.join(src, 'truncated.ndjson.gz'), whole.subarray(0, Math.floor(whole.length / 2)));
    writeFileSync(path.join(src, 'not-gzip.ndjson.gz'), good.map((l) => l.text).join('\n'));

    const result = await cliAsync(['ingest', src, '--lake', lake, '--json', '--max-bad-ratio', '1']);
    // The corrupt archives fail the run (65) by name; everything else landed.
    expect(result.status, result.stderr).toBe(65);
    expect(result.stderr + result.stdout).toContain('truncated.ndjson.gz');
    expect(result.stderr + result.stdout).toContain('not-gzip.ndjson.gz');

    const q = async (sql: string) => {
      const r = await cliAsync(['query', sql, '--lake', lake, '--json']);
      expect(r.status, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { rows: Record<string, unknown>[] }).rows;
    };
    const landed = await q('SELECT event_id, user_id, source_file, source_line FROM raw_events');
    const landedIds = landed.map((r) => String(r.event_id));
    expect(new Set(landedIds).size).toBe(landedIds.length);
    expect(new Set(landedIds)).toEqual(expectedGood);
    expect(landed.find((r) => r.event_id === 'sqli')?.user_id).toBe("x'); DROP TABLE raw_events; --");
    // line numbers survive CRLF, a BOM and a lone CR
    const lineOf = (id: string) => Number(landed.find((r) => r.event_id === id)?.source_line);
    expect(lineOf('crlf19')).toBe(20);
    expect(lineOf('cr_c')).toBe(2);
    expect(lineOf('after_long')).toBe(4);
    expect(lineOf('c5')).toBe(6);

    const quarantined = await q(
      'SELECT source_file, source_line, error_field, error_reason, length(raw) AS raw_length FROM quarantine',
    );
    const got = quarantined
      .map((r) => ({
        file: path.basename(String(r.source_file)),
        line: Number(r.source_line),
        field: String(r.error_field),
      }))
      .sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
    const want = [...expectedBad].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
    expect(got).toEqual(want);
    for (const r of quarantined) {
      expect(String(r.error_reason).length).toBeGreaterThan(0);
      // the raw text of a bad record is kept, bounded
      expect(Number(r.raw_length)).toBeLessThan(70_000);
    }
    // nothing of the corrupt archives landed, and they are not marked as ingested
    expect(
      landed.some(
        (r) => String(r.source_file).includes('truncated') || String(r.source_file).includes('not-gzip'),
      ),
    ).toBe(false);

    const summary = JSON.parse(result.stdout) as {
      read: number;
      written: number;
      duplicates: number;
      quarantined: number;
    };
    expect(summary.written).toBe(expectedGood.size);
    expect(summary.quarantined).toBe(expectedBad.length);
    expect(summary.duplicates).toBe(10);
    expect(summary.read).toBe(summary.written + summary.duplicates + summary.quarantined);
    expect(expectedSkipped).toBeGreaterThan(0);

    // a rerun lands nothing twice; once the archives are fixed they land, exactly once
    writeFileSync(path.join(src, 'truncated.ndjson.gz'), whole);
    writeFileSync(path.join(src, 'not-gzip.ndjson.gz'), gzipSync('\n'));
    const rerun = await cliAsync(['ingest', src, '--lake', lake, '--json', '--max-bad-ratio', '1']);
    expect(rerun.status, rerun.stderr).toBe(0);
    const after = await q('SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM raw_events');
    expect(Number(after[0]!.n)).toBe(expectedGood.size + 2000);
    expect(Number(after[0]!.d)).toBe(expectedGood.size + 2000);
    // the audit log never quotes a record at length
    const audit = await q('SELECT max(length(CAST(columns(*) AS VARCHAR))) FROM audit_log');
    expect(Object.values(audit[0]!).every((v) => v === null || Number(v) < 8192)).toBe(true);
    expect(readFileSync(path.join(src, 'good.ndjson'), 'utf8').length).toBeGreaterThan(0);
  }, 600_000);
});

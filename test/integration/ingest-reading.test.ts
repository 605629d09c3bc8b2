import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DuckDb } from '../../src/engine/duckdb.js';
import { ingest } from '../../src/ingest/ingest.js';
import { MAX_LINE_BYTES, REJECT_RAW_BYTES } from '../../src/ingest/line-reader.js';
import { Lake } from '../../src/lake/table/lake.js';
import { LocalStore } from '../../src/storage/local-store.js';
import { S3Store } from '../../src/storage/s3-store.js';
import { cli, tempDir } from '../helpers/cli.js';
import { testIngestOptions } from '../helpers/ingest-workspace.js';
import { startTestS3 } from '../helpers/s3-server.mjs';

// How ingest reads source files: bad lines are quarantined one by one, damaged files fail alone and
// leave no trace, and every record keeps its true line number. Real files, one batch.

const NOW = new Date('2026-11-24T12:00:00Z');
const base = testIngestOptions(NOW);

const event = (id: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    event_id: id,
    event_type: 'page_view',
    user_id: `u_${id}`,
    timestamp: '2026-11-20T10:00:00Z',
    ...extra,
  });
const CSV_HEADER = 'event_id,event_type,user_id,timestamp';
const csvRow = (id: string) => `${id},page_view,u_${id},2026-11-20T10:00:00Z`;
/** A gzip cut short, as a copy interrupted mid-transfer leaves it. */
const truncatedGzip = (text: string) => {
  const whole = gzipSync(Buffer.from(text));
  return whole.subarray(0, Math.floor(whole.length / 2));
};

describe('ingest reading source files', () => {
  let dir: string;
  let db: DuckDb;
  let lake: Lake;

  beforeEach(async () => {
    dir = tempDir('ingest-reading');
    db = await DuckDb.open();
    lake = new Lake(new LocalStore(path.join(dir, 'lake')), db);
  });
  afterEach(() => db.close());

  const rows = async (sql: string) => {
    for (const name of await lake.tableNames()) await lake.table(name).register(name);
    return db.all<Record<string, unknown>>(sql);
  };
  const write = (name: string, content: string | Buffer) => {
    const file = path.join(dir, 'in', name);
    writeFileSync(file, content);
    return file;
  };
  const linesOf = async (file: string) =>
    (
      await rows(
        `SELECT event_id, CAST(source_line AS INTEGER) AS line FROM raw_events WHERE source_file = '${file}' ORDER BY source_line`,
      )
    ).map((r) => [r.event_id, r.line]);
  const quarantineOf = async (file: string) =>
    rows(
      `SELECT CAST(source_line AS INTEGER) AS line, error_field AS field, error_reason AS reason, raw
       FROM quarantine WHERE source_file = '${file}' ORDER BY source_line`,
    );

  it('lands the good files and lines of a batch with bad lines and damaged files, each record at its true line', async () => {
    const { mkdirSync } = await import('node:fs');
    mkdirSync(path.join(dir, 'in'));
    const many = Array.from({ length: 2000 }, (_, i) => event(`t${i}`)).join('\n');
    const good = write('a-good.ndjson', `${event('g1')}\n${event('g2')}\n`);
    const goodGz = write('a-good.ndjson.gz', gzipSync(`${event('z1')}\n${event('z2')}\n`));
    // Zero padding after the last gzip member is accepted, as gzip(1) does.
    const padded = write(
      'a-padded.ndjson.gz',
      Buffer.concat([gzipSync(`${event('p1')}\n`), Buffer.alloc(512)]),
    );
    const truncated = write('b-truncated.ndjson.gz', truncatedGzip(many));
    const notGzip = write('b-not-gzip.ndjson.gz', `${event('n1')}\n`);
    const truncatedCsv = write(
      'b-truncated.csv.gz',
      truncatedGzip([CSV_HEADER, ...Array.from({ length: 2000 }, (_, i) => csvRow(`tc${i}`))].join('\n')),
    );
    const long = write(
      'c-long.ndjson',
      `${event('l1')}\n${event('l2', { pad: 'x'.repeat(MAX_LINE_BYTES + 10) })}\n${event('l3')}\n`,
    );
    const latin1 = write(
      'c-latin1.ndjson',
      Buffer.concat([
        Buffer.from(`${event('x1')}\n${event('x2', { page_url: '/caf' }).slice(0, -2)}`),
        Buffer.from([0xe9]), // Latin-1 é: not UTF-8
        Buffer.from(`"}\n${event('x3')}\n`),
      ]),
    );
    // A lone CR is JSON whitespace inside the line; only \n ends a line; a CR before \n is dropped.
    const cr = write(
      'c-cr.ndjson',
      `${event('r1').replace(',', ',\r')}\n${event('r2')}\r\n{"broken\r\n${event('r3')}\n`,
    );
    const blank = write(
      'c-blank.ndjson',
      `${event('w1')}\n\t\n  \n\r\n\n${event('w2')}\n \t \n${event('w3')}`,
    );
    const bom = write('c-bom.ndjson', `\uFEFF${event('b1')}\n${event('b2')}\n`);
    const nul = write(
      'c-nul.ndjson',
      `${event('u1')}\n${event('u2', { ip: 'a\u0000b' }).replace('\\u0000', '\0')}\n${event('u3')}\n`,
    );
    const csv = write(
      'd-rows.csv',
      [
        CSV_HEADER,
        csvRow('k2'), // line 2
        `${csvRow('k3')},extra`, // line 3: malformed (too many columns)
        csvRow('k4'),
        '', // line 5: empty, skipped by read_csv
        csvRow('k6'),
        'k7,page_view,"u_k7', // lines 7-8: one record, a quoted field spanning two lines
        'second line",2026-11-20T10:00:00Z',
        csvRow('k9'),
        'k10,page_view', // line 10: malformed (missing columns)
        csvRow('k11'),
        `k12,page_view,u_${'x'.repeat(MAX_LINE_BYTES)},2026-11-20T10:00:00Z`, // line 12: too long
        csvRow('k13'),
        '',
      ].join('\n'),
    );

    const summary = await ingest(lake, { ...base, sources: [path.join(dir, 'in')], unreadable: 'report' });

    // The damaged files are reported by name, and nothing of them is landed or recorded.
    expect(summary.unreadable.map((u) => u.file).sort()).toEqual([notGzip, truncatedCsv, truncated].sort());
    for (const u of summary.unreadable) expect(u.reason).toContain(u.file);
    expect(summary.files).toEqual({ total: 13, alreadyIngested: 0, ingested: 10 });
    const landedFiles = await rows(
      'SELECT DISTINCT source_file FROM raw_events UNION SELECT DISTINCT source_file FROM quarantine ORDER BY 1',
    );
    for (const bad of [notGzip, truncatedCsv, truncated])
      expect(landedFiles.map((r) => r.source_file)).not.toContain(bad);

    expect(summary.read).toBe(summary.written + summary.duplicates + summary.quarantined);
    expect(await linesOf(good)).toEqual([
      ['g1', 1],
      ['g2', 2],
    ]);
    expect(await linesOf(goodGz)).toEqual([
      ['z1', 1],
      ['z2', 2],
    ]);
    expect(await linesOf(padded)).toEqual([['p1', 1]]);

    // Too long: quarantined alone, raw bounded; the lines around it land.
    expect(await linesOf(long)).toEqual([
      ['l1', 1],
      ['l3', 3],
    ]);
    const [tooLong] = await quarantineOf(long);
    expect(tooLong).toMatchObject({
      line: 2,
      field: 'record',
      reason: `line longer than ${MAX_LINE_BYTES} bytes`,
    });
    expect(String(tooLong!.raw).startsWith('{"event_id":"l2"')).toBe(true);
    expect(Buffer.byteLength(String(tooLong!.raw))).toBeLessThanOrEqual(REJECT_RAW_BYTES + 3);

    expect(await linesOf(latin1)).toEqual([
      ['x1', 1],
      ['x3', 3],
    ]);
    expect(await quarantineOf(latin1)).toEqual([
      {
        line: 2,
        field: 'record',
        reason: 'not valid UTF-8',
        raw: `${event('x2', { page_url: '/caf' }).slice(0, -2)}\uFFFD"}`,
      },
    ]);

    expect(await linesOf(cr)).toEqual([
      ['r1', 1],
      ['r2', 2],
      ['r3', 4],
    ]);
    expect(await quarantineOf(cr)).toMatchObject([{ line: 3, field: 'record', raw: '{"broken' }]);

    // Blank and whitespace-only lines are skipped, not quarantined, and still counted.
    expect(await linesOf(blank)).toEqual([
      ['w1', 1],
      ['w2', 6],
      ['w3', 8],
    ]);
    expect(await quarantineOf(blank)).toEqual([]);

    expect(await linesOf(bom)).toEqual([
      ['b1', 1],
      ['b2', 2],
    ]);
    expect(await quarantineOf(bom)).toEqual([]);

    expect(await linesOf(nul)).toEqual([
      ['u1', 1],
      ['u3', 3],
    ]);
    expect(await quarantineOf(nul)).toMatchObject([
      { line: 2, field: 'record', reason: 'contains a NUL byte' },
    ]);

    // CSV: after a malformed row, an empty line and a two-line record, rows keep their file lines.
    expect(await linesOf(csv)).toEqual([
      ['k2', 2],
      ['k4', 4],
      ['k6', 6],
      ['k7', 7],
      ['k9', 9],
      ['k11', 11],
      ['k13', 13],
    ]);
    const csvBad = await quarantineOf(csv);
    expect(csvBad.map((q) => [q.line, q.field])).toEqual([
      [3, 'record'],
      [10, 'user_id'],
      [12, 'record'],
    ]);
    expect(csvBad[2]!.reason).toBe(`line longer than ${MAX_LINE_BYTES} bytes`);
    expect(String(csvBad[2]!.raw).length).toBeLessThanOrEqual(REJECT_RAW_BYTES);

    // Fixed, the damaged file lands on the next run; the landed ones are not read again.
    writeFileSync(truncated, gzipSync(many));
    const rerun = await ingest(lake, { ...base, sources: [truncated, good], unreadable: 'report' });
    expect(rerun).toMatchObject({
      unreadable: [],
      read: 2000,
      written: 2000,
      files: { ingested: 1, alreadyIngested: 1 },
    });
  });

  it('the CLI lands the good files, names the damaged one on stderr and exits 65', async () => {
    const { mkdirSync } = await import('node:fs');
    mkdirSync(path.join(dir, 'in'));
    write('good.ndjson', `${event('g1')}\n`);
    const truncated = write(
      'truncated.ndjson.gz',
      truncatedGzip(Array.from({ length: 500 }, (_, i) => event(`t${i}`)).join('\n')),
    );
    const lakeDir = path.join(dir, 'cli-lake');
    const result = cli(['ingest', path.join(dir, 'in'), '--lake', lakeDir]);
    expect(result.status).toBe(65);
    expect(result.stderr).toContain(truncated);
    expect(result.stdout).toContain('read 1, written 1');
    const query = cli(['query', 'SELECT count(*) AS n FROM raw_events', '--lake', lakeDir, '--csv']);
    expect(query.stdout.trim().split('\n')).toEqual(['n', '1']);
  }, 300_000); // two CLI processes: a generous bound for a busy shared machine, not a timing check

  it('numbers lines across read chunks: a multi-megabyte file of short lines', async () => {
    const { mkdirSync } = await import('node:fs');
    mkdirSync(path.join(dir, 'in'));
    const count = 30_000; // about 3.5 MB: several 1 MiB read chunks, lines cut at their edges
    const file = write(
      'big.ndjson.gz',
      gzipSync(Array.from({ length: count }, (_, i) => event(`e${i + 1}`)).join('\n')),
    );
    const summary = await ingest(lake, { ...base, sources: [file] });
    expect(summary).toMatchObject({ read: count, written: count, quarantined: 0 });
    const [check] = await rows(
      `SELECT count(*) FILTER (WHERE event_id <> concat('e', source_line)) AS wrong, max(source_line) AS last FROM raw_events`,
    );
    expect(check).toEqual({ wrong: '0', last: String(count) });
  });

  it('an s3:// source is checked the same way: a truncated object fails alone, named by its URI', async () => {
    const s3 = await startTestS3();
    try {
      const prefix = `landing-${Math.random().toString(36).slice(2)}`;
      const landing = new S3Store(`s3://${s3.bucket}/${prefix}`, { endpoint: s3.endpoint });
      await landing.put('good.ndjson', `${event('s1')}\n`);
      await landing.put(
        'cut.csv.gz',
        truncatedGzip([CSV_HEADER, ...Array.from({ length: 2000 }, (_, i) => csvRow(`c${i}`))].join('\n')),
      );
      // By default (what `run` and the micro-batch lander get) the run fails after landing the rest.
      const cut = `s3://${s3.bucket}/${prefix}/cut.csv.gz`;
      await expect(
        ingest(lake, { ...base, sources: [`s3://${s3.bucket}/${prefix}/`], s3: { endpoint: s3.endpoint } }),
      ).rejects.toMatchObject({
        code: 'SOURCE_CORRUPT',
        exitCode: 65,
        message: expect.stringContaining(cut),
      });
      expect(await rows('SELECT event_id, source_file FROM raw_events')).toEqual([
        { event_id: 's1', source_file: `s3://${s3.bucket}/${prefix}/good.ndjson` },
      ]);
      expect(await rows('SELECT count(*) AS n FROM quarantine')).toEqual([{ n: '0' }]);
    } finally {
      await s3.stop();
    }
  });
});

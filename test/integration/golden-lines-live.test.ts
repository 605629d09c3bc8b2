import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/config-schema.js';
import { DuckDb } from '../../src/engine/duckdb.js';
import { ingest } from '../../src/ingest/ingest.js';
import { MAX_LINE_BYTES } from '../../src/ingest/line-reader.js';
import { Lake } from '../../src/lake/table/lake.js';
import { LocalStore } from '../../src/storage/local-store.js';
import { type BatchMetrics, runMicrobatch } from '../../src/stream/microbatch.js';
import { tempDir } from '../helpers/cli.js';

/**
 * One reading of lines: a file with a BOM, blank lines, CRLF, invalid UTF-8, a NUL byte and a line
 * too long is quarantined with the same lines and reasons by ingest and by the micro-batch, from a
 * landing directory and from stdin (read as bytes, in chunks that cut lines and characters).
 */
const event = (id: string, extra = '') =>
  `{"event_id":"${id}","event_type":"page_view","user_id":"u1","timestamp":"2026-11-20T10:00:0${id.slice(-1)}Z"${extra}}`;
const BYTES = Buffer.concat([
  Buffer.from([0xef, 0xbb, 0xbf]), // BOM
  Buffer.from(`${event('l1')}\n`), // 1: good after the BOM
  Buffer.from('\n'), // 2: blank
  Buffer.from(' \t \r\n'), // 3: blank (whitespace, CRLF)
  Buffer.from(`${event('l4')}\r\n`), // 4: good, CRLF
  Buffer.from(event('l5', ',"page_url":"/caf')),
  Buffer.from([0xc3, 0x28]), // 5: invalid UTF-8 inside a string
  Buffer.from('"}\n'),
  Buffer.from(event('l6', ',"page_url":"/a')), // 6: a NUL byte
  Buffer.from([0x00]),
  Buffer.from('"}\n'),
  Buffer.from(event('l7', `,"page_url":"/${'x'.repeat(MAX_LINE_BYTES)}"`)), // 7: too long
  Buffer.from('\n'),
  Buffer.from(`${event('l8', ',"page_url":"/caf\u00e9"')}\n`), // 8: good, UTF-8 é
  Buffer.from('{"event_id":"l9"'), // 9: malformed JSON, no final newline: refused by the staging rules
]);
const GOOD = ['l1', 'l4', 'l8'];

interface Bad {
  line: number;
  field: string;
  reason: string;
}

async function quarantined(lake: Lake): Promise<(Bad & { source: string })[]> {
  await lake.table('quarantine').register('q');
  return (
    await lake.db.all<{
      source_file: string;
      source_line: bigint;
      error_field: string;
      error_reason: string;
    }>('SELECT source_file, source_line, error_field, error_reason FROM q ORDER BY source_line')
  ).map((r) => ({
    source: r.source_file,
    line: Number(r.source_line),
    field: r.error_field,
    reason: r.error_reason,
  }));
}

async function landedIds(lake: Lake): Promise<string[]> {
  await lake.table('raw_events').register('r');
  return (await lake.db.all<{ event_id: string }>('SELECT event_id FROM r ORDER BY event_id')).map(
    (r) => r.event_id,
  );
}

describe('golden lines: ingest and the micro-batch refuse the same lines for the same reasons', () => {
  it('landing directory and stdin', async () => {
    const dir = tempDir('golden-lines');
    const landing = path.join(dir, 'landing');
    mkdirSync(landing);
    const file = path.join(landing, 'lines.ndjson');
    writeFileSync(file, BYTES);
    const config = ConfigSchema.parse({});
    const db = await DuckDb.open();
    try {
      // batch ingest
      const batchLake = new Lake(new LocalStore(path.join(dir, 'batch-lake')), db);
      await ingest(batchLake, {
        sources: [file],
        maxBadRatio: 1,
        maxFutureHours: 24,
        minEventDate: '2000-01-01',
      });
      const expected = await quarantined(batchLake);
      expect(expected.map((b) => [b.line, b.reason.replace(/:.*/, '')])).toEqual([
        [5, 'not valid UTF-8'],
        [6, 'contains a NUL byte'],
        [7, `line longer than ${MAX_LINE_BYTES} bytes`],
        [9, expect.any(String)],
      ]);
      expect(await landedIds(batchLake)).toEqual(GOOD);

      const live = async (name: string, from: string, stdin?: Readable) => {
        const lake = new Lake(new LocalStore(path.join(dir, name)), db);
        const batches: BatchMetrics[] = [];
        const summary = await runMicrobatch(lake, {
          from,
          ...(stdin ? { stdin } : {}),
          once: true,
          intervalMs: 0,
          land: true,
          landEveryMs: 0,
          config,
          emit: () => undefined,
          onBatch: (m) => batches.push(m),
        });
        return { lake, summary };
      };

      // the micro-batch from the landing directory: same source, lines and reasons
      const fromDir = await live('dir-lake', landing);
      expect(fromDir.summary.rejected).toBe(expected.length);
      expect(fromDir.summary.events).toBe(GOOD.length);
      const dirBad = await quarantined(fromDir.lake);
      // the line checks' refusals name the file and its line; the staging rules' are landed from the spool
      expect(dirBad.filter((b) => b.source === file)).toEqual(expected.filter((b) => b.line !== 9));
      expect(dirBad.filter((b) => b.source !== file).map((b) => [b.field, b.reason])).toEqual([
        [expected[3]!.field, expected[3]!.reason],
      ]);
      expect(await landedIds(fromDir.lake)).toEqual(GOOD);

      // from stdin, in chunks of 7 bytes (cutting lines, the BOM and multi-byte characters)
      const chunks: Buffer[] = [];
      for (let i = 0; i < BYTES.length; i += i < 100_000 ? 7 : 65_536)
        chunks.push(BYTES.subarray(i, i + (i < 100_000 ? 7 : 65_536)));
      const fromStdin = await live('stdin-lake', '-', Readable.from(chunks));
      expect(fromStdin.summary.rejected).toBe(expected.length);
      expect(fromStdin.summary.events).toBe(GOOD.length);
      const stdinBad = await quarantined(fromStdin.lake);
      expect(stdinBad.filter((b) => b.source === 'stdin')).toEqual(
        expected.filter((b) => b.line !== 9).map((b) => ({ ...b, source: 'stdin' })),
      );
      expect(stdinBad.filter((b) => b.source !== 'stdin').map((b) => [b.field, b.reason])).toEqual([
        [expected[3]!.field, expected[3]!.reason],
      ]);
      expect(await landedIds(fromStdin.lake)).toEqual(GOOD);
    } finally {
      db.close();
    }
  }, 600_000);
});

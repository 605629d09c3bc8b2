import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { type IngestOptions, ingest } from '../../src/ingest/ingest.js';
import { Lake } from '../../src/lake/table/lake.js';
import { LocalStore } from '../../src/storage/local-store.js';
import { ingestWorkspace } from '../helpers/ingest-workspace.js';

// NDJSON is staged in bounded chunks (the raw text is never held whole). Files of several MiB
// staged 1,000 lines at a time must land exactly as with one chunk per file: true line numbers,
// duplicates found across chunks and files, bad lines quarantined wherever they fall, and a file
// that turns out damaged after some of its chunks were staged leaves no trace.

const NOW = new Date('2026-11-24T12:00:00Z');
const base: Omit<IngestOptions, 'sources'> = {
  maxBadRatio: 1,
  maxFutureHours: 24,
  minEventDate: '2000-01-01',
  now: NOW,
  unreadable: 'report',
};
// ~330 bytes a line: 12,000 lines are ~4 MiB, several of the reader's 1 MiB blocks.
const PAD = 'Mozilla/5.0 '.repeat(20);
const event = (id: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    event_id: id,
    event_type: 'page_view',
    user_id: `u_${id}`,
    timestamp: '2026-11-20T10:00:00Z',
    user_agent: PAD,
    ...extra,
  });

/** 12,000 lines of `prefix` events with a few bad ones, a blank line and a repeated id. */
function content(prefix: string, repeatOf: string): Buffer {
  const lines: (string | Buffer)[] = [];
  for (let i = 1; i <= 12_000; i++) {
    if (i === 4_000) lines.push('{"event_id": "broken"');
    else if (i === 6_000) lines.push('   ');
    else if (i === 8_000)
      lines.push(Buffer.from([0x7b, 0xe9, 0x7d])); // not UTF-8
    else if (i === 9_000) lines.push(event(`${prefix}${i}`, { timestamp: 'not-a-date' }));
    else if (i === 11_000) lines.push(event(repeatOf));
    else lines.push(event(`${prefix}${i}`));
  }
  return Buffer.concat(lines.flatMap((l) => [Buffer.from(l), Buffer.from('\n')]));
}

describe('ingest stages NDJSON in bounded chunks', () => {
  const ws = ingestWorkspace('ingest-chunks');

  const write = (name: string, bytes: Buffer) => {
    const file = path.join(ws.dir, 'in', name);
    writeFileSync(file, bytes);
    return file;
  };
  const landed = async (lake: Lake) => {
    for (const name of await lake.tableNames()) await lake.table(name).register(name);
    return {
      events: await ws.db.all<Record<string, unknown>>(
        `SELECT event_id, source_file, CAST(source_line AS INTEGER) AS line FROM raw_events ORDER BY ALL`,
      ),
      quarantine: await ws.db.all<Record<string, unknown>>(
        `SELECT source_file, CAST(source_line AS INTEGER) AS line, error_field, error_reason FROM quarantine ORDER BY ALL`,
      ),
    };
  };

  it('lands the same rows and quarantine as one chunk, and a file damaged after staged chunks leaves no trace', async () => {
    const plain = write('a.ndjson', content('a', 'a5'));
    const gz = write('b.ndjson.gz', gzipSync(content('b', 'a7')));
    // A gzip cut after several MiB of output: chunks of it are staged before the damage shows.
    const whole = gzipSync(Buffer.concat([content('c', 'c1'), content('d', 'd1'), content('e', 'e1')]));
    const damaged = write('c.ndjson.gz', whole.subarray(0, Math.floor(whole.length * 0.8)));
    const sources = [plain, gz, damaged];

    const chunked = new Lake(new LocalStore(path.join(ws.dir, 'chunked')), ws.db);
    const summary = await ingest(chunked, { ...base, sources, stageChunkLines: 1_000 });
    const got = await landed(chunked);

    expect(summary.unreadable.map((u) => u.file)).toEqual([damaged]);
    // 2 x 12,000 lines: 1 blank each (not a record), 2 unreadable/invalid lines and 1 bad timestamp
    // quarantined each; a5 (line 5 of a) repeats at a:11000, a7 at b:11000.
    expect(summary).toMatchObject({ read: 23_998, quarantined: 6, duplicates: 2, written: 23_990 });
    expect(got.events.filter((e) => e.source_file === damaged)).toEqual([]);
    expect(got.quarantine.filter((q) => q.source_file === damaged)).toEqual([]);
    expect(got.events.filter((e) => e.event_id === 'a5' || e.event_id === 'a7')).toEqual([
      { event_id: 'a5', source_file: plain, line: 5 },
      { event_id: 'a7', source_file: plain, line: 7 },
    ]);
    expect(got.events.find((e) => e.event_id === 'b11999')).toEqual({
      event_id: 'b11999',
      source_file: gz,
      line: 11_999,
    });
    expect(got.quarantine.map((q) => [q.source_file, q.line, q.error_field])).toEqual([
      [plain, 4_000, 'record'],
      [plain, 8_000, 'record'],
      [plain, 9_000, 'timestamp'],
      [gz, 4_000, 'record'],
      [gz, 8_000, 'record'],
      [gz, 9_000, 'timestamp'],
    ]);

    // The same batch staged whole per file lands exactly the same.
    const single = new Lake(new LocalStore(path.join(ws.dir, 'single')), ws.db);
    await ingest(single, { ...base, sources, stageChunkLines: Number.MAX_SAFE_INTEGER });
    expect(await landed(single)).toEqual(got);

    // The damaged file, replaced by its complete copy, lands on the rerun: all of it.
    writeFileSync(damaged, whole);
    const rerun = await ingest(chunked, { ...base, sources, stageChunkLines: 1_000 });
    // its three parts each repeat their first event (c1, d1, e1) at their line 11,000
    expect(rerun).toMatchObject({
      unreadable: [],
      files: { ingested: 1 },
      read: 35_997,
      quarantined: 9,
      duplicates: 3,
    });
  });
});

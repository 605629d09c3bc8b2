import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RAW_EVENTS_TABLE } from '../../src/catalog/tables/raw-events.js';
import { CHUNK } from '../../src/ingest/dedupe.js';
import { BAD_ROWS, EventWriter } from '../../src/ingest/event-writer.js';
import { ingest } from '../../src/ingest/ingest.js';
import { stageEventsSql, stagingParams } from '../../src/ingest/staging-sql.js';
import { vacuumTable } from '../../src/lake/operations/vacuum.js';
import { Lake } from '../../src/lake/table/lake.js';
import { LocalStore } from '../../src/storage/local-store.js';
import { cli, ROOT } from '../helpers/cli.js';
import { ingestWorkspace, testIngestOptions } from '../helpers/ingest-workspace.js';

// Ingest writes each staged chunk's new events straight to data files (event-writer.ts) and
// deduplicates as it goes (dedupe.ts: a seen set of event_id hashes, held rows checked exactly at
// the end). The rows it lands must be exactly the specification's: the first occurrence of an
// event_id by (file, line) wins, none already in a day the batch touches, whatever the chunking;
// the files stay invisible until the commit, a crash leaves only unreferenced files, and a
// concurrent commit's events are taken out of the files before committing again.

const NOW = new Date('2026-11-24T12:00:00Z');
const base = testIngestOptions(NOW);

interface Line {
  readonly id: string;
  readonly ts: string;
  readonly bad?: boolean;
}

const at = (day: number, hour: number, minute = 0) =>
  `2026-11-${String(day).padStart(2, '0')}T${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}:00Z`;

function write(file: string, lines: readonly Line[]): string {
  const text = lines.map((l) =>
    l.bad
      ? JSON.stringify({ event_id: l.id, event_type: 'page_view', user_id: 'u', timestamp: 'not-a-date' })
      : JSON.stringify({ event_id: l.id, event_type: 'page_view', user_id: `u_${l.id}`, timestamp: l.ts }),
  );
  writeFileSync(file, `${text.join('\n')}\n`);
  return file;
}

/**
 * The specification, computed plainly: good lines in (file by UTF-8 bytes, line) order, the first
 * of each event_id, none whose id the table already holds in a day the batch touches.
 */
function expected(
  files: readonly { path: string; lines: readonly Line[] }[],
  existing: readonly Line[],
): string[] {
  const ordered = [...files].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
  const good = ordered.flatMap((f) =>
    f.lines.flatMap((l, i) =>
      l.bad ? [] : [{ file: f.path, line: i + 1, id: l.id, day: l.ts.slice(0, 10) }],
    ),
  );
  const days = new Set(good.map((g) => g.day));
  const taken = new Set(existing.filter((l) => days.has(l.ts.slice(0, 10))).map((l) => l.id));
  const landed: string[] = [];
  for (const g of good) {
    if (taken.has(g.id)) continue;
    taken.add(g.id);
    landed.push(`${g.file}:${g.line}:${g.id}`);
  }
  return landed.sort();
}

async function landedRows(lake: Lake, sinceVersion: number): Promise<string[]> {
  await lake.table('raw_events').register('raw_now');
  const rows = await lake.db.all<{ k: string }>(
    `SELECT source_file || ':' || source_line || ':' || event_id AS k FROM raw_now
     WHERE ingested_at = CAST($1 AS TIMESTAMPTZ)`,
    [NOW.toISOString()],
  );
  expect(sinceVersion).toBeGreaterThanOrEqual(0);
  return rows.map((r) => r.k).sort();
}

/** Data files on disk under raw_events (committed or not). */
function parquetFiles(lakeDir: string): string[] {
  const root = path.join(lakeDir, 'raw_events');
  return (readdirSync(root, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.parquet'))
    .map((f) => f.split(path.sep).join('/'))
    .sort();
}

/** A batch of three files: repeats within chunks, across chunks and files, against existing days. */
function batchLines(): { a: Line[]; b: Line[]; upper: Line[]; existing: Line[] } {
  const existing: Line[] = [
    ...Array.from({ length: 30 }, (_, i) => ({ id: `old${i}`, ts: at(10, 1, i) })),
    // the same event_id with another event time than in the batch (found when day 12 is loaded)
    { id: 'moved', ts: at(12, 3) },
    // a day the batch never touches: its ids land again
    { id: 'untouched', ts: at(5, 0) },
  ];
  const a: Line[] = [];
  for (let i = 0; i < 300; i++) {
    const hour = Math.floor(i / 60);
    a.push({ id: `a${i}`, ts: at(20, hour, i % 60) });
    if (i % 17 === 5) a.push({ id: `a${i}`, ts: at(20, hour, i % 60) }); // repeat in the chunk
    if (i % 50 === 7) a.push({ id: `a${i - 6}`, ts: at(20, hour) }); // repeat of an earlier chunk's
    if (i % 40 === 0) a.push({ id: `late${i}`, ts: at(15, 2, i % 60) }); // a straggler (late event)
    if (i === 10) a.push({ id: 'moved', ts: at(20, 0) }); // written before day 12 is loaded
    if (i === 20) a.push({ id: 'untouched', ts: at(20, 0) });
    if (i === 120) a.push({ id: 'old3', ts: at(10, 1) }); // already in day 10
    if (i === 130) a.push({ id: 'bad', ts: '', bad: true });
    if (i === 250) a.push({ id: 'day12', ts: at(12, 4) }); // touches day 12
  }
  // "B" sorts before "a" by bytes (DuckDB's order) though after it for localeCompare
  const upper: Line[] = [
    { id: 'a200', ts: at(20, 3) },
    { id: 'upper0', ts: at(21, 0) },
  ];
  const b: Line[] = [
    { id: 'a3', ts: at(20, 0) },
    { id: 'b0', ts: at(21, 1) },
    { id: 'b1', ts: at(21, 1) },
    { id: 'b0', ts: at(21, 2) },
    { id: 'old7', ts: at(10, 1) },
    { id: 'upper0', ts: at(21, 0) },
  ];
  return { a, b, upper, existing };
}

describe('ingest writes chunks as they are staged', () => {
  const ws = ingestWorkspace('ingest-streaming');

  it('lands exactly the first occurrence of each event_id across many chunks, files and existing days', async () => {
    const { a, b, upper, existing } = batchLines();
    const old = write(path.join(ws.dir, 'in', 'old.ndjson'), existing);
    const files = [
      { path: path.join(ws.dir, 'in', 'new', 'a.ndjson'), lines: a },
      { path: path.join(ws.dir, 'in', 'new', 'b.ndjson'), lines: b },
      { path: path.join(ws.dir, 'in', 'new', 'B.ndjson'), lines: upper },
    ];
    mkdirSync(path.join(ws.dir, 'in', 'new'));
    for (const f of files) write(f.path, f.lines);
    const want = expected(files, existing);
    expect(want.some((k) => k.endsWith(':moved'))).toBe(false);
    expect(want.some((k) => k.endsWith('B.ndjson:1:a200'))).toBe(true);

    for (const chunkLines of [23, 1_000_000]) {
      const lakeDir = path.join(ws.dir, `lake-${chunkLines}`);
      const lake = new Lake(new LocalStore(lakeDir), ws.db);
      const first = await ingest(lake, { ...base, sources: [old], now: new Date('2026-11-23T00:00:00Z') });
      expect(first.written).toBe(existing.length);
      const summary = await ingest(lake, {
        ...base,
        sources: [path.join(ws.dir, 'in', 'new')],
        stageChunkLines: chunkLines,
      });
      const got = await landedRows(lake, summary.rawEventsVersion!);
      expect(got).toEqual(want);
      const read = a.length + b.length + upper.length;
      expect(summary).toMatchObject({ read, written: want.length, quarantined: 1 });
      expect(summary.duplicates).toBe(read - 1 - want.length);
      // every file on disk is committed
      const snapshot = await lake.table('raw_events').snapshot();
      expect(snapshot.files.map((f) => decodeURIComponent(f.path)).sort()).toEqual(parquetFiles(lakeDir));
      // nothing twice
      const [dupes] = await ws.db.all<{ n: string }>(
        "SELECT count(*) - count(DISTINCT event_id) AS n FROM raw_now WHERE dt <> DATE '2026-11-05'",
      );
      expect(Number(dupes!.n)).toBe(0);
    }
  });

  it("writes a chunk's dense partitions at once and its stragglers once, with the batch's last files", async () => {
    // time-ordered: 250 events an hour of day 20, and one late event of day 15 every 300 lines
    const lines = Array.from({ length: 2_000 }, (_, i) =>
      i % 300 === 299
        ? { id: `s${i}`, ts: at(15, 2, i % 60) }
        : { id: `e${i}`, ts: at(20, Math.floor(i / 250), i % 60) },
    );
    const source = write(path.join(ws.dir, 'in', 'timed.ndjson'), lines);
    const lake = new Lake(new LocalStore(path.join(ws.dir, 'lake')), ws.db);
    // chunks of 256 lines: a partition with fewer than 2 of a chunk's rows waits for the end
    const summary = await ingest(lake, { ...base, sources: [source], stageChunkLines: 256 });
    expect(summary.written).toBe(2_000);
    const files = (await lake.table('raw_events').snapshot()).files;
    const per = (dt: string, hour: string) =>
      files.filter((f) => f.partitionValues.dt === dt && f.partitionValues.hour === hour).length;
    expect(per('2026-11-15', '2')).toBe(1);
    for (let hour = 0; hour < 8; hour++) expect(per('2026-11-20', String(hour))).toBeLessThanOrEqual(2);
    expect(files.length).toBeLessThanOrEqual(17);
  });

  it('equal hashes alone drop nothing: with every event_id hashed to one of two values, the same rows land', async () => {
    // Drives the writer directly with chunks whose hash column is forced to collide: every row
    // after the first two is "seen before" by hash, and only the exact checks decide.
    const lake = new Lake(new LocalStore(path.join(ws.dir, 'lake')), ws.db);
    const table = lake.table('raw_events');
    const snapshot = await table.ensure(RAW_EVENTS_TABLE.definition);
    await ws.db.run(
      `CREATE OR REPLACE TEMP TABLE ${BAD_ROWS} (source_file VARCHAR, source_line BIGINT, error_field VARCHAR, error_reason VARCHAR, raw VARCHAR)`,
    );
    const writer = new EventWriter(ws.db, {
      table,
      snapshot,
      schema: snapshot.schema,
      extSelect: [],
      chunkLines: 4,
    });
    await writer.start();
    const ids = ['p', 'q', 'p', 'r', 's', 'q', 't', 'u', 'r', 'v', 'p', 'w', 'x', 'x', 'y', 'z'];
    const sources = ['one.ndjson', 'two.ndjson'];
    let line = 0;
    for (const [c, chunk] of [ids.slice(0, 4), ids.slice(4, 8), ids.slice(8, 12), ids.slice(12)].entries()) {
      const source = sources[c < 2 ? 0 : 1]!;
      if (c === 2) line = 0;
      await ws.db.run(
        'CREATE OR REPLACE TEMP TABLE lines (source_file VARCHAR, line_number BIGINT, raw VARCHAR)',
      );
      for (const id of chunk) {
        await ws.db.run('INSERT INTO lines VALUES ($1, $2, $3)', [
          source,
          ++line,
          JSON.stringify({
            event_id: id,
            event_type: 'page_view',
            user_id: 'u',
            timestamp: at(20, line % 3),
          }),
        ]);
      }
      await ws.db.run('CREATE OR REPLACE TEMP VIEW __ingest_lines AS SELECT * FROM lines');
      await ws.db.run(
        `CREATE OR REPLACE TEMP TABLE ${CHUNK} AS SELECT *, hash(event_id) % 2 AS __h FROM (${await stageEventsSql(ws.db)}) AS s`,
        stagingParams(NOW, base),
      );
      await writer.chunk(c < 2 ? 0 : 1);
    }
    const files = await writer.finish(new Set(['2026-11-20']), snapshot.schema);
    await table.commitFiles({ mode: 'append', operation: 'WRITE' }, files);
    await writer.close();
    await table.register('raw_now');
    const rows = await ws.db.all<{ k: string }>(
      "SELECT source_file || ':' || source_line || ':' || event_id AS k FROM raw_now ORDER BY event_id",
    );
    expect(rows.map((r) => r.k)).toEqual([
      'one.ndjson:1:p',
      'one.ndjson:2:q',
      'one.ndjson:4:r',
      'one.ndjson:5:s',
      'one.ndjson:7:t',
      'one.ndjson:8:u',
      'two.ndjson:2:v',
      'two.ndjson:4:w',
      'two.ndjson:5:x',
      'two.ndjson:7:y',
      'two.ndjson:8:z',
    ]);
  });

  it('a crash after files were written but before the commit changes nothing; the rerun lands once', async () => {
    const lakeDir = path.join(ws.dir, 'lake');
    const first = write(
      path.join(ws.dir, 'in', 'a.ndjson'),
      Array.from({ length: 200 }, (_, i) => ({ id: `c${i}`, ts: at(20, i % 24) })),
    );
    const second = write(
      path.join(ws.dir, 'in', 'b.ndjson'),
      Array.from({ length: 50 }, (_, i) => ({ id: `d${i}`, ts: at(21, i % 24) })),
    );
    // The process kills itself once the first source is staged (its chunks' files are written),
    // before anything is committed: a crash at the worst moment, without timing.
    const script = path.join(ws.dir, 'crash.mjs');
    const dist = (p: string) => JSON.stringify(path.join(ROOT, 'dist', p));
    writeFileSync(
      script,
      `import { DuckDb } from ${dist('engine/duckdb.js')};
import { ingest } from ${dist('ingest/ingest.js')};
import { Lake } from ${dist('lake/table/lake.js')};
import { LocalStore } from ${dist('storage/local-store.js')};
const db = await DuckDb.open();
await ingest(new Lake(new LocalStore(${JSON.stringify(lakeDir)}), db), {
  sources: [${JSON.stringify(first)}, ${JSON.stringify(second)}],
  maxBadRatio: 1, maxFutureHours: 24, minEventDate: '2000-01-01', now: new Date(${JSON.stringify(NOW.toISOString())}),
  stageChunkLines: 30,
  onProgress: (p) => { if (p.phase === 'read' && p.filesDone === 1) process.kill(process.pid, 'SIGKILL'); },
});
`,
    );
    const crashed = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 600_000 });
    expect(crashed.signal).toBe('SIGKILL');

    const lake = new Lake(new LocalStore(lakeDir), ws.db);
    const table = lake.table('raw_events');
    const before = await table.snapshot();
    const orphans = parquetFiles(lakeDir);
    expect(orphans.length).toBeGreaterThan(0);
    expect(before.files).toHaveLength(0);
    expect((await lake.table('quarantine').snapshot()).files).toHaveLength(0);

    const rerun = await ingest(lake, { ...base, sources: [first, second], stageChunkLines: 30 });
    expect(rerun).toMatchObject({ read: 250, written: 250, duplicates: 0 });
    const again = await ingest(lake, { ...base, sources: [first, second] });
    expect(again).toMatchObject({ read: 0, written: 0, rawEventsVersion: null });
    const [counted] = await (async () => {
      await table.register('raw_now');
      return ws.db.all<{ n: string; ids: string }>(
        'SELECT count(*) AS n, count(DISTINCT event_id) AS ids FROM raw_now',
      );
    })();
    expect(counted).toEqual({ n: '250', ids: '250' });

    // the crash's files are unreferenced: vacuum removes them, the table reads the same
    await vacuumTable(lake, 'raw_events', { retentionHours: 0, force: true });
    const after = await table.snapshot();
    expect(parquetFiles(lakeDir)).toEqual(after.files.map((f) => decodeURIComponent(f.path)).sort());
    for (const orphan of orphans) expect(parquetFiles(lakeDir)).not.toContain(orphan);
  });

  it('a concurrent commit of some of the same events: only the files holding them are rewritten', async () => {
    const lakeDir = path.join(ws.dir, 'lake');
    // A: 300 events over two days; B (committed while A is about to commit) shares 20 of them
    const aLines = Array.from({ length: 300 }, (_, i) => ({ id: `e${i}`, ts: at(20 + (i % 2), i % 24) }));
    const bLines = [
      ...Array.from({ length: 20 }, (_, i) => aLines[i * 15]!),
      ...Array.from({ length: 10 }, (_, i) => ({ id: `f${i}`, ts: at(20, 5) })),
    ];
    const a = write(path.join(ws.dir, 'in', 'a.ndjson'), aLines);
    const b = write(path.join(ws.dir, 'in', 'b.ndjson'), bLines);
    const lake = new Lake(new LocalStore(lakeDir), ws.db);
    let other: ReturnType<typeof cli> | undefined;
    const summary = await ingest(lake, {
      ...base,
      sources: [a],
      stageChunkLines: 40,
      onProgress: (p) => {
        // A's files are written; B commits before A does (spawnSync: A waits for it)
        if (p.phase === 'write') other = cli(['ingest', b, '--lake', lakeDir, '--json']);
      },
    });
    expect(other?.status, other?.stderr).toBe(0);
    expect(JSON.parse(other!.stdout)).toMatchObject({ written: 30 });
    expect(summary).toMatchObject({ read: 300, written: 280, duplicates: 20 });

    const table = lake.table('raw_events');
    await table.register('raw_now');
    const [counted] = await ws.db.all<{ n: string; ids: string; fromB: string }>(
      `SELECT count(*) AS n, count(DISTINCT event_id) AS ids,
              count(*) FILTER (WHERE source_file = $1) AS fromB FROM raw_now`,
      [b],
    );
    expect(counted).toEqual({ n: '310', ids: '310', fromB: '30' });
    // the rewritten files replaced A's originals: nothing uncommitted is left behind
    const snapshot = await table.snapshot();
    expect(parquetFiles(lakeDir)).toEqual(snapshot.files.map((f) => decodeURIComponent(f.path)).sort());
  });
});

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DuckDb } from '../../src/engine/duckdb.js';
import { stageNdjsonLines } from '../../src/ingest/stage-lines.js';
import { stageEventsSql } from '../../src/ingest/staging-sql.js';
import { tempDir } from '../helpers/cli.js';

// NDJSON chunks are pipelined: Node appends chunk k+1 on a second connection while DuckDB stages
// chunk k. Whatever happens, chunks are staged one at a time and in order, a staging failure is
// the error the caller gets (never swallowed while reading goes on), and no chunk table outlives
// the file. The staging SQL computes dt/hour by epoch arithmetic rather than ICU: same values.

// ~330 bytes a line: 9,000 lines are ~3 MiB, several of the reader's 1 MiB blocks (a chunk is
// handed on only between blocks).
const PAD = 'Mozilla/5.0 '.repeat(20);
const line = (i: number) =>
  JSON.stringify({
    event_id: `e${i}`,
    event_type: 'page_view',
    user_id: 'u1',
    timestamp: '2026-11-20T10:00:00Z',
    user_agent: PAD,
  });

describe('pipelined NDJSON staging', () => {
  let dir: string;
  let db: DuckDb;
  let file: string;

  beforeEach(async () => {
    dir = tempDir('ingest-pipeline');
    db = await DuckDb.open();
    file = path.join(dir, 'events.ndjson');
    writeFileSync(file, `${Array.from({ length: 9_000 }, (_, i) => line(i + 1)).join('\n')}\n`);
    await db.run(
      'CREATE TEMP TABLE __ingest_rejects (f VARCHAR, l BIGINT, fi VARCHAR, r VARCHAR, raw VARCHAR)',
    );
    await db.run('CREATE TEMP TABLE staged (first BIGINT, last BIGINT, n BIGINT)');
  });
  afterEach(() => db.close());

  const ingestTables = async () =>
    (
      await db.all<{ name: string }>(
        "SELECT table_name AS name FROM duckdb_tables() WHERE starts_with(table_name, '__ingest_chunk') OR table_name = '__ingest_file_rejects'",
      )
    ).map((t) => t.name);

  it('stages every chunk once, in order, and leaves no chunk table behind', async () => {
    await stageNdjsonLines(
      db,
      file,
      file,
      'none',
      () =>
        db.run('INSERT INTO staged SELECT min(line_number), max(line_number), count(*) FROM __ingest_lines'),
      1_000,
    );
    const chunks = await db.all<{ first: string; last: string; n: string }>(
      'SELECT first, last, n FROM staged ORDER BY first',
    );
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.reduce((sum, c) => sum + Number(c.n), 0)).toBe(9_000);
    // contiguous, non-overlapping ranges: each line staged exactly once
    let next = 1;
    for (const c of chunks) {
      expect(Number(c.first)).toBe(next);
      next = Number(c.last) + 1;
    }
    expect(next).toBe(9_001);
    expect(await ingestTables()).toEqual([]);
  });

  it('fails with the staging error while later chunks were being read, and cleans up', async () => {
    let calls = 0;
    const failure = new Error('staging failed on chunk 2');
    await expect(
      stageNdjsonLines(
        db,
        file,
        file,
        'none',
        async () => {
          calls++;
          if (calls === 2) throw failure;
        },
        1_000,
      ),
    ).rejects.toBe(failure);
    expect(calls).toBe(2);
    expect(await ingestTables()).toEqual([]);
    // the session is still usable
    expect(await db.all('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });

  it('computes dt and hour by epoch arithmetic exactly as CAST(.. AS DATE) and hour() do', async () => {
    const times = [
      '2026-11-20T00:00:00Z',
      '2026-11-20T23:59:59.999999Z',
      '2026-11-21T00:00:00.000001+00:00',
      '2024-02-29T12:30:00Z',
      '2026-11-20T10:00:00+05:30',
      '2026-11-20T01:00:00-03:00',
      '1969-12-31T23:59:59.5Z',
      '1950-06-15T07:45:00Z',
      '1795219300',
      '1795219300000',
      '"-86400"',
      '-1.5',
    ];
    await db.run('CREATE TEMP TABLE lines_in (line_number BIGINT, raw VARCHAR)');
    for (const [i, t] of times.entries()) {
      // JSON numbers for the epoch forms, strings otherwise
      const timestamp = /^-?[0-9.]+$/.test(t) ? Number(t) : t.replaceAll('"', '');
      await db.run('INSERT INTO lines_in VALUES ($1, $2)', [
        i + 1,
        JSON.stringify({ event_id: `t${i}`, event_type: 'x', user_id: 'u', timestamp }),
      ]);
    }
    await db.run(
      "CREATE TEMP VIEW __ingest_lines AS SELECT 'f' AS source_file, line_number, raw FROM lines_in",
    );
    const rows = await db.all<{ event_id: string; error_reason: string | null; same: boolean }>(
      `SELECT event_id, error_reason,
              dt = CAST(event_time AS DATE) AND hour = hour(event_time) AS same
       FROM (${await stageEventsSql(db)}) ORDER BY event_id`,
      {
        ingested_at: '2026-11-24T12:00:00Z',
        min_event_time: '1900-01-01 00:00:00+00',
        max_event_time: '2030-01-01T00:00:00Z',
      },
    );
    expect(rows).toHaveLength(times.length);
    for (const row of rows) expect(row).toMatchObject({ error_reason: null, same: true });
  });
});

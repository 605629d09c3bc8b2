import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DuckDb } from '../../src/engine/duckdb.js';
import { ingest } from '../../src/ingest/ingest.js';
import { boundIngestMemory, sizeBytes } from '../../src/ingest/staging-memory.js';
import { Lake } from '../../src/lake/table/lake.js';
import { LocalStore } from '../../src/storage/local-store.js';
import { tempDir } from '../helpers/cli.js';

// Ingest bounds DuckDB's memory while it runs (at most 512 MiB, spilling into a private folder of
// the lake, not a .tmp beside the working directory), then gives the session its settings back;
// the folder is gone once the session closes.

const settings = (db: DuckDb) =>
  db.all<{ memory_limit: string; temp_directory: string; ordered: boolean }>(
    `SELECT current_setting('memory_limit') AS memory_limit, current_setting('temp_directory') AS temp_directory,
            current_setting('preserve_insertion_order') AS ordered`,
  );

describe('ingest memory bound', () => {
  it('spills under <lake>/_shopstream/tmp during the run, restores the session settings, leaves nothing after close', async () => {
    const dir = tempDir('ingest-memory');
    mkdirSync(path.join(dir, 'in'));
    const file = path.join(dir, 'in', 'events.ndjson');
    const lines = Array.from({ length: 3000 }, (_, i) =>
      JSON.stringify({
        event_id: `m${i}`,
        event_type: 'page_view',
        user_id: `u${i % 50}`,
        timestamp: '2026-11-20T10:00:00Z',
      }),
    );
    writeFileSync(file, `${lines.join('\n')}\n`);
    const db = await DuckDb.open({ memoryLimit: '8GB' });
    const lakeDir = path.join(dir, 'lake');
    const lake = new Lake(new LocalStore(lakeDir), db);
    const [before] = await settings(db);

    const summary = await ingest(lake, {
      sources: [file],
      maxBadRatio: 0,
      maxFutureHours: 24,
      minEventDate: '2000-01-01',
      now: new Date('2026-11-24T12:00:00Z'),
    });
    expect(summary.written).toBe(3000);

    const [after] = await settings(db);
    // restored from DuckDB's displayed value (one decimal): within 1%
    expect(sizeBytes(after!.memory_limit)! / sizeBytes(before!.memory_limit)!).toBeCloseTo(1, 1);
    expect(after!.ordered).toBe(before!.ordered);
    // the spill folder: a private one of this process under the lake's _shopstream/tmp
    expect(path.dirname(after!.temp_directory)).toBe(path.join(lakeDir, '_shopstream', 'tmp'));
    expect(path.basename(after!.temp_directory)).toMatch(/^ingest-spill-/);

    db.close();
    expect(existsSync(after!.temp_directory)).toBe(false);
    expect(readdirSync(path.join(lakeDir, '_shopstream', 'tmp'))).toEqual([]);
  });

  it('lowers the limit to 512 MiB and unordered writes while bound, keeps a lower configured limit', async () => {
    const dir = tempDir('ingest-memory-bound');
    for (const [configured, bound] of [
      ['8GB', '512.0 MiB'],
      ['256MB', '244.1 MiB'],
    ] as const) {
      const db = await DuckDb.open({ memoryLimit: configured });
      const [before] = await settings(db);
      const restore = await boundIngestMemory(db, new LocalStore(path.join(dir, configured)));
      const [during] = await settings(db);
      expect(during).toMatchObject({ memory_limit: bound, ordered: false });
      await restore();
      const [after] = await settings(db);
      expect(after!.ordered).toBe(true);
      expect(sizeBytes(after!.memory_limit)! / sizeBytes(before!.memory_limit)!).toBeCloseTo(1, 1);
      db.close();
    }
  });

  it('reads DuckDB size settings', () => {
    expect(sizeBytes('18.8 GiB')).toBeCloseTo(18.8 * 2 ** 30);
    expect(sizeBytes('512MiB')).toBe(512 * 2 ** 20);
    expect(sizeBytes('4GB')).toBe(4e9);
    expect(sizeBytes('1000 bytes')).toBe(1000);
    expect(sizeBytes('unlimited')).toBeUndefined();
  });
});

import { mkdtempSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/config-schema.js';
import { DuckDb } from '../../src/engine/duckdb.js';
import { ingest } from '../../src/ingest/ingest.js';
import { checkpointTable } from '../../src/lake/operations/checkpoint.js';
import { optimizeTable } from '../../src/lake/operations/optimize.js';
import { restoreTable } from '../../src/lake/operations/restore.js';
import { vacuumTable } from '../../src/lake/operations/vacuum.js';
import { Lake } from '../../src/lake/table/lake.js';
import { LocalStore } from '../../src/storage/local-store.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { S3Store } from '../../src/storage/s3-store.js';
import { buildMarts } from '../../src/transforms/build-marts.js';
import { startTestS3, type TestS3 } from '../helpers/s3-server.mjs';

let s3: TestS3;
beforeAll(async () => {
  s3 = await startTestS3();
});
afterAll(async () => {
  await s3?.stop();
});

const stores: [string, () => ObjectStore][] = [
  ['local', () => new LocalStore(mkdtempSync(path.join(os.tmpdir(), 'maint-')))],
  [
    's3',
    () =>
      new S3Store(`s3://${s3.bucket}/maint-${Math.random().toString(36).slice(2)}`, {
        endpoint: s3.endpoint,
      }),
  ],
];
const config = ConfigSchema.parse({});

/** Four small files of events in the same two hours, landed by four ingest runs. */
async function landSmallFiles(lake: Lake): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'maint-src-'));
  for (let run = 0; run < 4; run++) {
    const lines = Array.from({ length: 25 }, (_, i) => {
      const minute = String((run * 25 + i) % 60).padStart(2, '0');
      return JSON.stringify({
        event_id: `r${run}e${i}`,
        event_type: i % 3 ? 'page_view' : 'product_view',
        user_id: `u${i % 7}`,
        timestamp: `2026-11-20T1${i % 2}:${minute}:00Z`,
        ip: '10.0.0.1',
      });
    });
    const file = path.join(dir, `run-${run}.ndjson`);
    writeFileSync(file, `${lines.join('\n')}\n`);
    await ingest(lake, {
      sources: [file],
      maxBadRatio: 0,
      maxFutureHours: 24,
      minEventDate: '2000-01-01',
      now: new Date('2026-11-24T00:00:00Z'),
    });
  }
}

describe.each(stores)('table maintenance on %s', (_name, make) => {
  it('optimize compacts without changing data; marts stay up to date; vacuum, restore', async () => {
    const db = await DuckDb.open();
    const lake = new Lake(make(), db);
    try {
      await landSmallFiles(lake);
      const raw = lake.table('raw_events');
      const rows = async (version?: number) => {
        await raw.register('r', version === undefined ? {} : { version });
        return (await db.all<{ event_id: string }>('SELECT event_id FROM r ORDER BY 1')).map(
          (r) => r.event_id,
        );
      };
      const before = await raw.snapshot();
      expect(before.files).toHaveLength(8);
      const allRows = await rows();
      expect(allRows).toHaveLength(100);
      await buildMarts(lake, { config: config.marts });

      const optimized = await optimizeTable(lake, 'raw_events');
      expect(optimized).toMatchObject({ partitionsCompacted: 2, filesRemoved: 8, filesAdded: 2 });
      const after = await raw.snapshot();
      expect(after.files).toHaveLength(2);
      expect(after.files.map((f) => JSON.parse(f.stats!).numRecords).sort()).toEqual([48, 52]);
      expect(await rows()).toEqual(allRows);
      const commit = (await raw.log.readCommit(after.version)).filter((a) => 'add' in a || 'remove' in a);
      expect(commit.every((a) => ('add' in a ? a.add.dataChange : a.remove.dataChange) === false)).toBe(true);
      expect((await buildMarts(lake, { config: config.marts })).mode).toBe('up-to-date');
      expect((await optimizeTable(lake, 'raw_events')).version).toBeNull();

      await expect(vacuumTable(lake, 'raw_events', { retentionHours: 0 })).rejects.toMatchObject({
        code: 'VACUUM_RETENTION',
        exitCode: 64,
      });
      expect((await vacuumTable(lake, 'raw_events')).files).toEqual([]);
      const dry = await vacuumTable(lake, 'raw_events', { retentionHours: 0, force: true, dryRun: true });
      expect(dry.files).toHaveLength(8);
      expect((await raw.snapshot()).files).toHaveLength(2);

      const restored = await restoreTable(lake, 'raw_events', before.version - 1);
      expect(restored.restoredTo).toBe(before.version - 1);
      expect(await rows()).toEqual(await rows(before.version - 1));
      expect(await rows()).toHaveLength(75);
      const rebuilt = await buildMarts(lake, { config: config.marts });
      expect(rebuilt.mode).toBe('incremental');

      await restoreTable(lake, 'raw_events', optimized.version!);
      const vacuumed = await vacuumTable(lake, 'raw_events', { retentionHours: 0, force: true });
      expect(vacuumed.files.length).toBeGreaterThan(0);
      expect(await rows()).toEqual(allRows);
      await expect(restoreTable(lake, 'raw_events', before.version)).rejects.toMatchObject({
        code: 'RESTORE_FILES_GONE',
      });
    } finally {
      db.close();
    }
  });
});

describe('checkpoint and log cleanup', () => {
  it('writes a checkpoint on demand and deletes log files past the log retention', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'maint-log-'));
    const db = await DuckDb.open();
    const lake = new Lake(new LocalStore(dir), db);
    try {
      await landSmallFiles(lake);
      const logDir = path.join(dir, 'raw_events', '_delta_log');
      const old = Date.now() / 1000 - 40 * 86400;
      for (const name of readdirSync(logDir).filter((n) => /^\d{20}\.json$/.test(n)))
        utimesSync(path.join(logDir, name), old, old);
      const result = await checkpointTable(lake, 'raw_events');
      expect(result.version).toBe(4);
      expect(result.logFilesDeleted).toEqual([
        '00000000000000000000.json',
        '00000000000000000001.json',
        '00000000000000000002.json',
        '00000000000000000003.json',
      ]);
      expect(readdirSync(logDir)).toContain('00000000000000000004.checkpoint.parquet');
      const snapshot = await lake.table('raw_events').snapshot();
      expect(snapshot.files).toHaveLength(8);
      await lake.table('raw_events').register('r');
      expect(await db.all('SELECT count(*)::INT AS n FROM r')).toEqual([{ n: 100 }]);
    } finally {
      db.close();
    }
  });
});

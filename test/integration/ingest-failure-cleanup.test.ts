import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ingest } from '../../src/ingest/ingest.js';
import { Lake } from '../../src/lake/table/lake.js';
import { LocalStore } from '../../src/storage/local-store.js';
import { cli } from '../helpers/cli.js';
import { ingestWorkspace, testIngestOptions } from '../helpers/ingest-workspace.js';

// A batch that fails after staging began (here: the progress callback throws, as a CLI whose
// output pipe broke would) leaves nothing behind in the connection or the table: no temp tables
// or views of the batch (a micro-batch consumer reuses the connection), no uncommitted data files.

const NOW = new Date('2026-11-24T12:00:00Z');
const base = testIngestOptions(NOW);

function write(file: string): string {
  const lines = Array.from({ length: 100 }, (_, i) =>
    JSON.stringify({
      event_id: `e${i % 90}`,
      event_type: 'page_view',
      user_id: `u${i}`,
      timestamp: i % 10 === 9 ? 'not-a-date' : `2026-11-20T0${i % 5}:00:00Z`,
    }),
  );
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

describe('an ingest that fails midway', () => {
  const ws = ingestWorkspace('ingest-failure-cleanup');

  for (const phase of ['read', 'write'] as const) {
    it(`drops every temp object of the batch and its files (failure in the ${phase} phase)`, async () => {
      const source = write(path.join(ws.dir, 'in', 'a.ndjson'));
      const lakeDir = path.join(ws.dir, 'lake');
      const lake = new Lake(new LocalStore(lakeDir), ws.db);
      await expect(
        ingest(lake, {
          ...base,
          sources: [source],
          stageChunkLines: 30,
          onProgress: (p) => {
            if (p.phase === phase) throw new Error('progress output failed');
          },
        }),
      ).rejects.toThrow('progress output failed');

      const left = await ws.db.all<{ name: string }>(
        `SELECT table_name AS name FROM duckdb_tables() WHERE temporary
         UNION ALL SELECT view_name FROM duckdb_views() WHERE temporary AND NOT internal`,
      );
      expect(left.map((r) => r.name).filter((n) => n.startsWith('__ingest'))).toEqual([]);
      const committed = (await lake.table('raw_events').snapshot()).files.map((f) =>
        decodeURIComponent(f.path),
      );
      const onDisk = (readdirSync(path.join(lakeDir, 'raw_events'), { recursive: true }) as string[])
        .filter((f) => f.endsWith('.parquet'))
        .map((f) => f.split(path.sep).join('/'));
      expect(onDisk.sort()).toEqual(committed.sort());

      // the rerun lands the batch once
      const rerun = await ingest(lake, { ...base, sources: [source], stageChunkLines: 30 });
      expect(rerun).toMatchObject({ read: 100, written: 81, duplicates: 9, quarantined: 10 });
    });
  }

  it("drops the quarantine commit's temp tables when that commit conflicts (a concurrent run landed the file)", async () => {
    const source = write(path.join(ws.dir, 'in', 'a.ndjson'));
    const lakeDir = path.join(ws.dir, 'lake');
    const lake = new Lake(new LocalStore(lakeDir), ws.db);
    let other: ReturnType<typeof cli> | undefined;
    await expect(
      ingest(lake, {
        ...base,
        sources: [source],
        onProgress: (p) => {
          // the file is staged; another run lands it before this one commits its quarantine
          if (p.phase === 'read')
            other = cli(['ingest', source, '--lake', lakeDir, '--max-bad-ratio', '1', '--json']);
        },
      }),
    ).rejects.toThrow(/concurrent/);
    expect(other?.status, other?.stderr).toBe(0);
    const left = await ws.db.all<{ name: string }>(
      `SELECT table_name AS name FROM duckdb_tables() WHERE temporary
       UNION ALL SELECT view_name FROM duckdb_views() WHERE temporary AND NOT internal`,
    );
    expect(left.map((r) => r.name).filter((n) => n.startsWith('__ingest'))).toEqual([]);
  });
});

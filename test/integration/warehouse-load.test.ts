import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/config-schema.js';
import { DuckDb } from '../../src/engine/duckdb.js';
import { ingest } from '../../src/ingest/ingest.js';
import { optimizeTable } from '../../src/lake/operations/optimize.js';
import { restoreTable } from '../../src/lake/operations/restore.js';
import { Lake } from '../../src/lake/table/lake.js';
import { LocalStore } from '../../src/storage/local-store.js';
import { buildMarts } from '../../src/transforms/build-marts.js';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb-warehouse.js';
import { loadWarehouse, martNames } from '../../src/warehouse/load.js';
import { cliAsync, tempDir } from '../helpers/cli.js';
import { buildFixture, type FixtureEvent, toLine } from '../helpers/marts-fixture.js';

const config = ConfigSchema.parse({});
const TABLES = [...martNames(), 'raw_events'];

describe('load into the DuckDB warehouse', () => {
  let dir: string;
  let db: DuckDb;
  let lake: Lake;
  let batch = 0;
  beforeEach(async () => {
    dir = tempDir('load');
    db = await DuckDb.open();
    lake = new Lake(new LocalStore(path.join(dir, 'lake')), db);
    batch = 0;
  });
  afterEach(() => db.close());

  const land = async (events: readonly FixtureEvent[]) => {
    const file = path.join(dir, `batch-${++batch}.ndjson`);
    writeFileSync(file, `${events.map(toLine).join('\n')}\n`);
    await ingest(lake, {
      sources: [file],
      maxBadRatio: 1,
      maxFutureHours: 24,
      minEventDate: '2000-01-01',
      now: new Date('2026-11-24T00:00:00Z'),
    });
    await buildMarts(lake, { config: config.marts });
  };
  /** Every table, in the lake and in the warehouse, as sorted JSON rows. */
  const compare = async (warehouse: DuckDbWarehouse) => {
    for (const table of TABLES) {
      await lake.table(table).register(`lake_${table}`);
      const inLake = (await db.all(`SELECT * FROM lake_${table}`)).map((r) => JSON.stringify(r)).sort();
      const inWarehouse = (await warehouse.query(`SELECT * EXCLUDE (_lake_file) FROM ${table}`))
        .map((r) => JSON.stringify(r))
        .sort();
      expect(inWarehouse, table).toEqual(inLake);
    }
  };

  it('loads every table, then only the differences, and nothing on a rerun', async () => {
    const events = buildFixture();
    await land(events.slice(0, 120));
    const warehouse = await DuckDbWarehouse.open(lake, path.join(dir, 'warehouse.duckdb'));
    try {
      const first = await loadWarehouse(lake, warehouse, { includeRaw: true });
      expect(first.tables.every((t) => t.mode === 'full')).toBe(true);
      await compare(warehouse);

      await land(events.slice(120));
      const second = await loadWarehouse(lake, warehouse, { includeRaw: true });
      expect(second.tables.find((t) => t.table === 'sessions')).toMatchObject({ mode: 'incremental' });
      expect(second.tables.find((t) => t.table === 'raw_events')).toMatchObject({
        mode: 'incremental',
        rowsDeleted: 0,
      });
      expect(second.tables.some((t) => t.rowsDeleted > 0)).toBe(true); // replaced mart partitions
      await compare(warehouse);

      const again = await loadWarehouse(lake, warehouse, { includeRaw: true });
      expect(again.tables.every((t) => t.mode === 'up-to-date' && t.rowsInserted === 0)).toBe(true);

      // rewrites in the lake propagate: compaction (same rows), restore (rows go away)
      await optimizeTable(lake, 'raw_events');
      const afterOptimize = await loadWarehouse(lake, warehouse, { tables: ['raw_events'] });
      expect(afterOptimize.tables[0]!.rowsDeleted).toBe(afterOptimize.tables[0]!.rowsInserted);
      await compare(warehouse);
      await restoreTable(lake, 'raw_events', 1);
      await loadWarehouse(lake, warehouse, { tables: ['raw_events'] });
      await compare(warehouse);
      const [control] = await warehouse.query<{ v: string }>(
        "SELECT lake_version AS v FROM _shopstream_loads WHERE table_name = 'raw_events'",
      );
      expect(Number(control!.v)).toBe((await lake.table('raw_events').log.latestVersion())!);
    } finally {
      await warehouse.close();
    }
  });

  it('a load killed before its commit changes nothing; the rerun loads every row exactly once', async () => {
    const events = buildFixture();
    await land(events.slice(0, 120));
    const lakeDir = path.join(dir, 'lake');
    const warehousePath = path.join(dir, 'warehouse.duckdb');
    expect(
      (await cliAsync(['load', '--lake', lakeDir, '--warehouse', warehousePath, '--include-raw'])).status,
    ).toBe(0);
    const controlRows = async () => {
      const open = await DuckDbWarehouse.open(lake, warehousePath);
      try {
        const rows = await open.query<{ table_name: string; v: string }>(
          'SELECT table_name, lake_version AS v FROM _shopstream_loads ORDER BY 1',
        );
        const [count] = await open.query<{ n: string }>('SELECT count(*) AS n FROM raw_events');
        return { versions: rows.map((r) => `${r.table_name}@${r.v}`), rawRows: Number(count!.n) };
      } finally {
        await open.close();
      }
    };
    const before = await controlRows();
    await land(events.slice(120));
    const killed = await cliAsync(
      ['load', '--lake', lakeDir, '--warehouse', warehousePath, '--include-raw'],
      {
        env: { SHOPSTREAM_FAULT_INJECTION: 'load-before-commit' },
      },
    );
    expect(killed.status).toBe(-1); // SIGKILL: no exit code
    expect(await controlRows()).toEqual(before);
    const rerun = await cliAsync([
      'load',
      '--lake',
      lakeDir,
      '--warehouse',
      warehousePath,
      '--include-raw',
      '--json',
    ]);
    expect(rerun.status, rerun.stderr).toBe(0);
    const warehouse = await DuckDbWarehouse.open(lake, warehousePath);
    try {
      await compare(warehouse);
      const [dupes] = await warehouse.query<{ n: string }>(
        'SELECT count(*) - count(DISTINCT event_id) AS n FROM raw_events',
      );
      expect(Number(dupes!.n)).toBe(0);
    } finally {
      await warehouse.close();
    }
  });
});

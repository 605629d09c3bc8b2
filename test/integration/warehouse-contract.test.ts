import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/config-schema.js';
import { DuckDb } from '../../src/engine/duckdb.js';
import { resolvePseudonymKey } from '../../src/governance/pseudonym.js';
import { ingest } from '../../src/ingest/ingest.js';
import { Lake } from '../../src/lake/table/lake.js';
import { LocalStore } from '../../src/storage/local-store.js';
import { buildMarts } from '../../src/transforms/build-marts.js';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb-warehouse.js';
import { initWarehouse } from '../../src/warehouse/init-warehouse.js';
import { loadWarehouse, martNames } from '../../src/warehouse/load.js';
import { runReport } from '../../src/warehouse/reports.js';
import { SnowflakeWarehouse } from '../../src/warehouse/snowflake-warehouse.js';
import type { Warehouse } from '../../src/warehouse/warehouse.js';
import { cliAsync, tempDir } from '../helpers/cli.js';
import { buildFixture, toLine } from '../helpers/marts-fixture.js';
import { type SnowflakeEmulator, startSnowflakeEmulator } from '../helpers/snowflake-emulator.mjs';

let emulator: SnowflakeEmulator;
beforeAll(async () => {
  process.env.SNOWFLAKE_DISABLE_PLATFORM_DETECTION = 'true';
  emulator = await startSnowflakeEmulator();
});
afterAll(async () => {
  await emulator?.stop();
});

const config = ConfigSchema.parse({});
const KEYS: Record<string, string> = {
  raw_events: 'event_id',
  sessions: 'session_id',
  customer_ltv: 'user_key',
  fraud_flags: 'flag_id',
};

const warehouses: [string, (lake: Lake, dir: string) => Promise<Warehouse>][] = [
  ['duckdb', (lake, dir) => DuckDbWarehouse.open(lake, path.join(dir, 'warehouse.duckdb'))],
  [
    'snowflake (real driver, local endpoint)',
    (lake) =>
      SnowflakeWarehouse.open(
        lake,
        {
          account: emulator.account,
          username: emulator.user,
          password: emulator.password,
          accessUrl: emulator.accessUrl,
        },
        'load',
        `run-${Date.now()}`,
      ),
  ],
];

describe.each(warehouses)('warehouse contract: %s', (_name, open) => {
  it('loads every table, then the differences, then nothing; reports run on it', async () => {
    const dir = tempDir('contract');
    const db = await DuckDb.open();
    const lake = new Lake(new LocalStore(path.join(dir, 'lake')), db);
    const events = buildFixture();
    const land = async (part: typeof events, n: number) => {
      const file = path.join(dir, `b${n}.ndjson`);
      writeFileSync(file, `${part.map(toLine).join('\n')}\n`);
      await ingest(lake, {
        sources: [file],
        maxBadRatio: 1,
        maxFutureHours: 24,
        minEventDate: '2000-01-01',
        now: new Date('2026-11-24T00:00:00Z'),
      });
      await buildMarts(lake, { config: config.marts });
    };
    const warehouse = await open(lake, dir);
    const expectSameAsLake = async () => {
      for (const table of [...martNames(), 'raw_events']) {
        await lake.table(table).register(`lake_${table}`);
        const [lakeCount] = await db.all<{ n: string }>(`SELECT count(*) AS n FROM lake_${table}`);
        const [whCount] = await warehouse.query<{ n: number }>(`SELECT count(*) AS n FROM ${table}`);
        expect(Number(whCount!.n), table).toBe(Number(lakeCount!.n));
        const key = KEYS[table];
        if (key) {
          const inLake = (
            await db.all<Record<string, string>>(`SELECT ${key} AS k FROM lake_${table} ORDER BY 1`)
          ).map((r) => r.k);
          const inWarehouse = (
            await warehouse.query<{ k: string }>(`SELECT ${key} AS k FROM ${table} ORDER BY 1`)
          ).map((r) => r.k);
          expect(inWarehouse, table).toEqual(inLake);
        }
      }
    };
    try {
      await land(events.slice(0, 120), 1);
      const first = await loadWarehouse(lake, warehouse, { includeRaw: true });
      expect(first.tables.every((t) => t.mode === 'full')).toBe(true);
      await expectSameAsLake();
      await land(events.slice(120), 2);
      const second = await loadWarehouse(lake, warehouse, { includeRaw: true });
      expect(second.tables.some((t) => t.mode === 'incremental' && t.rowsDeleted > 0)).toBe(true);
      await expectSameAsLake();
      expect(
        (await loadWarehouse(lake, warehouse, { includeRaw: true })).tables.every(
          (t) => t.mode === 'up-to-date',
        ),
      ).toBe(true);
      const clv = await runReport(warehouse, 'clv', 2);
      const pseudonym = await resolvePseudonymKey(lake, undefined);
      expect(clv.map((r) => r.user_key)).toEqual(['u_value', 'u_multi'].map((u) => pseudonym.userKey(u)));
      const init = await initWarehouse(lake, warehouse, 'init');
      expect(init.statements.some((st) => st.includes('user_sessions'))).toBe(true);
      expect(init.statements.some((st) => /CLUSTER BY/i.test(st))).toBe(warehouse.kind === 'snowflake');
      const [sessions] = await warehouse.query<{ n: number }>('SELECT count(*) AS n FROM sessions');
      const [viewRows] = await warehouse.query<{ n: number }>('SELECT count(*) AS n FROM user_sessions');
      expect(Number(viewRows!.n)).toBe(Number(sessions!.n));
      const [kpis] = await warehouse.query<{ n: number }>('SELECT count(*) AS n FROM daily_kpis');
      expect(Number(kpis!.n)).toBeGreaterThan(0);
      // GDPR deletes: by id and by pseudonymized key, counting what went
      const placeholder = warehouse.kind === 'duckdb' ? '$1' : '?';
      const countOf = async (table: string, column: string, value: string) =>
        Number(
          (
            await warehouse.query<{ n: number }>(
              `SELECT count(*) AS n FROM ${table} WHERE ${column} = ${placeholder}`,
              [value],
            )
          )[0]!.n,
        );
      const rawRows = await countOf('raw_events', 'user_id', 'u_multi');
      expect(rawRows).toBeGreaterThan(0);
      expect(await warehouse.deleteWhere('raw_events', 'user_id', ['u_multi', 'nobody'])).toBe(rawRows);
      expect(await countOf('raw_events', 'user_id', 'u_multi')).toBe(0);
      const key = pseudonym.userKey('u_multi');
      expect(await warehouse.deleteWhere('customer_ltv', 'user_key', [key])).toBe(1);
      expect(await countOf('customer_ltv', 'user_key', key)).toBe(0);
    } finally {
      await warehouse.close();
      db.close();
    }
  });
});

describe('load to Snowflake from the CLI', () => {
  it('a load killed before COMMIT changes nothing; the rerun loads every row exactly once', async () => {
    const dir = tempDir('sf-crash');
    const lakeDir = path.join(dir, 'lake');
    const env = {
      SHOPSTREAM_WAREHOUSE_KIND: 'snowflake',
      SNOWFLAKE_ACCOUNT: emulator.account,
      SNOWFLAKE_USER: emulator.user,
      SNOWFLAKE_PASSWORD: emulator.password,
      SNOWFLAKE_ACCESS_URL: emulator.accessUrl,
      SNOWFLAKE_DISABLE_PLATFORM_DETECTION: 'true',
    };
    const file = path.join(dir, 'events.ndjson');
    writeFileSync(file, `${buildFixture().map(toLine).join('\n')}\n`);
    expect((await cliAsync(['ingest', file, '--lake', lakeDir, '--max-bad-ratio', '1'])).status).toBe(0);
    const killed = await cliAsync(['load', '--lake', lakeDir, '--include-raw', '--tables', 'raw_events'], {
      env: { ...env, SHOPSTREAM_FAULT_INJECTION: 'load-before-commit' },
    });
    expect(killed.status).toBe(-1);
    const rerun = await cliAsync(['load', '--lake', lakeDir, '--tables', 'raw_events', '--json'], { env });
    expect(rerun.status, rerun.stderr).toBe(0);
    expect(JSON.parse(rerun.stdout).tables[0]).toMatchObject({ table: 'raw_events', mode: 'full' });
    const again = await cliAsync(['load', '--lake', lakeDir, '--tables', 'raw_events', '--json'], { env });
    expect(JSON.parse(again.stdout).tables[0]).toMatchObject({ mode: 'up-to-date' });
    const db = await DuckDb.open();
    const lake = new Lake(new LocalStore(lakeDir), db);
    const warehouse = await SnowflakeWarehouse.open(
      lake,
      {
        account: emulator.account,
        username: emulator.user,
        password: emulator.password,
        accessUrl: emulator.accessUrl,
      },
      'test',
      'check',
    );
    try {
      const [row] = await warehouse.query<{ n: number; d: number }>(
        'SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM raw_events',
      );
      await lake.table('raw_events').register('lake_raw');
      const [lakeRow] = await db.all<{ n: string }>('SELECT count(*) AS n FROM lake_raw');
      expect([Number(row!.n), Number(row!.d)]).toEqual([Number(lakeRow!.n), Number(lakeRow!.n)]);
    } finally {
      await warehouse.close();
      db.close();
    }
  });
});

describe('the Snowflake load conversation', () => {
  it('PUTs Parquet uncompressed, COPYs with an explicit file list and MERGEs the control row', () => {
    const text = emulator.statements.join('\n');
    expect(text).toMatch(
      /PUT 'file:\/\/[^']+\.parquet' @~\/shopstream\/[^ ]+ SOURCE_COMPRESSION=PARQUET AUTO_COMPRESS=FALSE/,
    );
    expect(text).toMatch(
      /COPY INTO \w+ FROM @~\/shopstream\/\S+ FILES = \('[^']+\.parquet'\) FILE_FORMAT = \(TYPE = PARQUET\) MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE/,
    );
    expect(text).toMatch(/MERGE INTO _shopstream_loads/);
    expect(emulator.queryTags.some((t) => /^shopstream:load:run-\d+$/.test(t))).toBe(true);
  });
});

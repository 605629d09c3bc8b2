import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/config-schema.js';
import { DuckDb } from '../../src/engine/duckdb.js';
import { deletionRequests } from '../../src/governance/erasure-requests.js';
import { forgetUsers } from '../../src/governance/gdpr.js';
import { resolvePseudonymKey } from '../../src/governance/pseudonym.js';
import { ingest } from '../../src/ingest/ingest.js';
import { optimizeTable } from '../../src/lake/operations/optimize.js';
import { Lake } from '../../src/lake/table/lake.js';
import { LocalStore } from '../../src/storage/local-store.js';
import { redisUserFlags, userFlagKey } from '../../src/stream/redis-sink.js';
import { buildMarts } from '../../src/transforms/build-marts.js';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb-warehouse.js';
import { loadWarehouse } from '../../src/warehouse/load.js';
import { tempDir } from '../helpers/cli.js';
import { buildFixture, type FixtureEvent, toLine } from '../helpers/marts-fixture.js';
import { startTestRedis, type TestRedis } from '../helpers/redis-server.js';

const TARGET = 'u_value';
/** The id as a whole word: `u_value2` (another user, in quarantine) must not match. */
const TARGET_WORD = /(^|[^A-Za-z0-9_-])u_value($|[^A-Za-z0-9_-])/;
const config = ConfigSchema.parse({});
const NOW = new Date('2026-11-24T00:00:00Z');

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? walk(full) : [full];
  });
}

describe('gdpr forget', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startTestRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('leaves no byte of the user in any live or superseded lake file, in the warehouse or Redis; others untouched', async () => {
    const dir = tempDir('gdpr');
    const lakeDir = path.join(dir, 'lake');
    const db = await DuckDb.open();
    const lake = new Lake(new LocalStore(lakeDir), db);
    const land = async (name: string, lines: readonly string[]) => {
      const file = path.join(dir, name);
      writeFileSync(file, `${lines.join('\n')}\n`);
      return ingest(lake, {
        sources: [file],
        maxBadRatio: 1,
        maxFutureHours: 24,
        minEventDate: '2000-01-01',
        now: NOW,
      });
    };
    const events = buildFixture();
    const later: FixtureEvent = {
      ...events.find((e) => e.user_id === TARGET)!,
      event_id: 'e_late',
      event_type: 'page_view',
      properties: {},
    };
    await land('batch-1.ndjson', [
      ...events.map(toLine),
      // bad records: the user's (quarantined with its raw text) and a user whose id extends it
      JSON.stringify({
        event_id: 'q1',
        event_type: 'add_to_cart',
        user_id: TARGET,
        timestamp: '2026-11-21T16:01:00Z',
        properties: { price: -1 },
      }),
      JSON.stringify({
        event_id: 'q2',
        event_type: 'add_to_cart',
        user_id: 'u_value2',
        timestamp: '2026-11-21T16:01:00Z',
        properties: { price: -1 },
      }),
    ]);
    await land('batch-2.ndjson', [toLine(later)]);
    // compaction: the user's rows are now also in superseded (tombstoned) files
    expect((await optimizeTable(lake, 'raw_events')).filesRemoved).toBeGreaterThan(1);
    await buildMarts(lake, { config: config.marts });
    const warehousePath = path.join(dir, 'warehouse.duckdb');
    const warehouse = await DuckDbWarehouse.open(lake, warehousePath);
    await loadWarehouse(lake, warehouse, { includeRaw: true });
    const client = new Redis(redis.url);
    await client.set(userFlagKey(TARGET), '{"rule":"value_per_minute"}');
    await client.set(userFlagKey('u_one'), '{"rule":"x"}');

    const userKey = (await resolvePseudonymKey(lake, undefined)).userKey(TARGET);
    const holders = async () => {
      const found: string[] = [];
      for (const file of walk(lakeDir)) {
        const relative = path.relative(lakeDir, file);
        // the request record keeps the key (not the id) as proof of deletion
        const keyAllowed = relative.startsWith('deletion_requests/');
        const bytes = readFileSync(file).toString('latin1');
        if (TARGET_WORD.test(bytes) || (!keyAllowed && bytes.includes(userKey))) found.push(relative);
        else if (file.endsWith('.parquet') && !relative.includes('_delta_log')) {
          // compressed pages: decode every row and look in its text
          const [row] = await db.all<{ n: string }>(
            'SELECT count(*) AS n FROM read_parquet($f) AS t WHERE regexp_matches(CAST(t AS VARCHAR), $re) OR contains(CAST(t AS VARCHAR), $key)',
            { f: file, re: TARGET_WORD.source, key: keyAllowed ? '\u0000' : userKey },
          );
          if (Number(row!.n) > 0) found.push(relative);
        }
      }
      return found.sort();
    };
    const others = async () => {
      const out: Record<string, string[]> = {};
      for (const name of [
        'raw_events',
        'quarantine',
        'sessions',
        'customer_ltv',
        'fraud_user_minute',
        'fraud_flags',
      ]) {
        await lake.table(name).register(`v_${name}`);
        const rows = await db.all<{ r: string }>(`SELECT CAST(t AS VARCHAR) AS r FROM v_${name} AS t`);
        out[name] = rows
          .map((r) => r.r)
          .filter((r) => !TARGET_WORD.test(r) && !r.includes(userKey))
          .sort();
      }
      return out;
    };

    const before = await holders();
    // the scan can fail: the user is in raw, quarantine, marts, and superseded files
    expect(before.some((f) => f.startsWith('raw_events/dt='))).toBe(true);
    expect(before.some((f) => f.startsWith('quarantine/'))).toBe(true);
    expect(before.some((f) => f.startsWith('customer_ltv/'))).toBe(true);
    expect(before.some((f) => f.startsWith('fraud_flags/'))).toBe(true);
    const othersBefore = await others();
    const rawVersionBefore = (await lake.table('raw_events').snapshot()).version;
    const [lakeCount] = await db.all<{ n: string }>('SELECT count(*) AS n FROM v_raw_events');

    const receipt = await forgetUsers(lake, {
      userIds: [TARGET],
      warehouse,
      userFlags: redisUserFlags(redis.url),
      actor: 'test',
    });

    expect(await holders()).toEqual([]);
    expect(await others()).toEqual(othersBefore);
    const byTable = new Map(receipt.tables.map((t) => [t.table, t]));
    expect(byTable.get('raw_events')).toMatchObject({ version: rawVersionBefore + 1, rowsDeleted: 3 });
    expect(byTable.get('raw_events')!.filesPurged.length).toBeGreaterThan(
      byTable.get('raw_events')!.filesRemoved,
    );
    expect(byTable.get('quarantine')).toMatchObject({ rowsDeleted: 1 });
    expect(byTable.get('customer_ltv')!.rowsDeleted).toBe(1);
    expect(byTable.get('fraud_flags')!.rowsDeleted).toBeGreaterThan(0);
    expect(byTable.get('metrics_minute')).toBeUndefined();
    const [commit] = await lake.table('raw_events').log.history(1);
    expect(commit!.commitInfo).toMatchObject({ operation: 'DELETE' });
    expect(JSON.stringify(commit!.commitInfo)).not.toContain(TARGET);

    // warehouse: the user's rows are gone, and the next load agrees with the lake
    const ltvKeys = await warehouse.query<{ user_key: string }>('SELECT user_key FROM customer_ltv');
    expect(ltvKeys.map((r) => r.user_key)).not.toContain(userKey);
    expect(await warehouse.query('SELECT * FROM raw_events WHERE user_id = $1', [TARGET])).toEqual([]);
    expect(receipt.warehouse!.tables.find((t) => t.table === 'raw_events')!.rowsDeleted).toBe(3);
    await loadWarehouse(lake, warehouse, { includeRaw: true });
    await lake.table('raw_events').register('v_raw_now');
    const [lakeNow] = await db.all<{ n: string }>('SELECT count(*) AS n FROM v_raw_now');
    const [whCount] = await warehouse.query<{ n: string }>('SELECT count(*) AS n FROM raw_events');
    expect(Number(whCount!.n)).toBe(Number(lakeNow!.n));
    expect(Number(lakeCount!.n)).toBe(Number(lakeNow!.n) + 3);

    // redis: the user's flag key only
    expect(await client.get(userFlagKey(TARGET))).toBeNull();
    expect(await client.get(userFlagKey('u_one'))).not.toBeNull();
    expect(receipt.redisKeysDeleted).toBe(1);

    // the request is recorded with its receipt; a rerun is harmless
    const requests = await deletionRequests(lake, { userId: TARGET });
    expect(requests).toEqual([
      expect.objectContaining({ status: 'completed', userKey, rowsDeleted: receipt.rowsDeleted }),
    ]);
    const again = await forgetUsers(lake, { userIds: [TARGET], warehouse, actor: 'test' });
    expect(again.rowsDeleted).toBe(0);
    expect(again.tables.every((t) => t.version === null && t.filesPurged.length === 0)).toBe(true);
    expect((await lake.table('raw_events').snapshot()).version).toBe(rawVersionBefore + 1);
    expect(await deletionRequests(lake)).toHaveLength(2);

    client.disconnect();
    await warehouse.close();
    db.close();
  });
});

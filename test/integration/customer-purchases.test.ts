import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CUSTOMER_PURCHASES } from '../../src/catalog/tables/customer-purchases.js';
import { ConfigSchema } from '../../src/config/config-schema.js';
import { forgetUsers } from '../../src/governance/gdpr.js';
import { optimizeTable } from '../../src/lake/operations/optimize.js';
import { BUILD_APP_ID, buildMarts } from '../../src/transforms/build-marts.js';
import { EventLake, type TestEvent } from '../helpers/event-lake.js';

// customer_purchases carries every purchase of raw_events from build to build: an incremental build
// reads the touched customers' earlier purchases there (and appends the new ones) instead of
// scanning raw_events. Each case checks the table against raw_events and the marts against a full
// rebuild, and which way the build wrote the table (appended, or rewritten when it cannot be
// carried forward).
const config = ConfigSchema.parse({}).marts;
const NOW = new Date('2026-11-24T00:00:00Z');

const purchase = (user: string, at: string, orderId: string, amount: number): TestEvent => ({
  user,
  at,
  type: 'purchase',
  properties: { order_id: orderId, amount },
});
// enough customers to fit the CLV model, half of them buying again the next day
const customers = Array.from({ length: 60 }, (_, i) => [
  purchase(`u_rep${i}`, `2026-11-20T${String(10 + (i % 10)).padStart(2, '0')}:30:00Z`, `r${i}a`, 10 + i),
  ...(i % 2 === 0
    ? [purchase(`u_rep${i}`, `2026-11-21T${String(10 + (i % 10)).padStart(2, '0')}:30:00Z`, `r${i}b`, 20 + i)]
    : []),
]).flat();

describe('customer_purchases', () => {
  let t: EventLake;

  beforeEach(async () => {
    t = await EventLake.open('customer-purchases');
  });
  afterEach(() => t.close());

  const land = (events: readonly TestEvent[]) => t.land(events, NOW);
  const build = async (fullRefresh = false) => (await buildMarts(t.lake, { config, fullRefresh })).mode;
  /** The table's rows, and raw_events' purchases as the build computes them, as sorted lines. */
  const carriedAndExpected = async () => {
    await t.lake.table(CUSTOMER_PURCHASES).register('cp');
    await t.lake.table('raw_events').register('re');
    const lines = async (sql: string) =>
      (await t.db.all<{ line: string }>(`SELECT CAST(x AS VARCHAR) AS line FROM (${sql}) AS x`))
        .map((r) => r.line)
        .sort();
    return {
      carried: await lines('SELECT user_key, order_id, event_id, event_time, currency, event_value FROM cp'),
      expected: await lines(
        `SELECT pseudonym(user_id) AS user_key, order_id, event_id, event_time, coalesce(currency, 'USD') AS currency,
                CAST(event_value(event_type, amount, cart_value, price, quantity) AS DECIMAL(18, 2)) AS event_value
         FROM re WHERE event_type = 'purchase'`,
      ),
    };
  };
  /** How the last build wrote customer_purchases: 'Append' or 'Overwrite'. */
  const lastWrite = async () => {
    const snapshot = await t.lake.table(CUSTOMER_PURCHASES).snapshot();
    const actions = await t.lake.table(CUSTOMER_PURCHASES).log.readCommit(snapshot.version);
    const info = actions.find((a) => 'commitInfo' in a) as {
      commitInfo: { operationParameters: { mode: string } };
    };
    return info.commitInfo.operationParameters.mode;
  };
  const incrementalEqualsFull = async () => {
    const incremental = await t.dumpMarts();
    const carried = await carriedAndExpected();
    expect(await build(true)).toBe('full');
    expect(await t.dumpMarts()).toEqual(incremental);
    return carried;
  };

  it('is appended to hour after hour and holds every purchase of raw_events; the marts equal a full rebuild', async () => {
    await land([...customers, purchase('u_buy', '2026-11-20T10:00:00Z', 'o1', 30)]);
    expect(await build()).toBe('full');
    expect(await lastWrite()).toBe('Overwrite');
    // the same customer again, twice: the second build must find the purchases the first appended
    await land([
      purchase('u_buy', '2026-11-21T11:00:00Z', 'o1', 30),
      purchase('u_new', '2026-11-21T11:05:00Z', 'o9', 5),
    ]);
    expect(await build()).toBe('incremental');
    expect(await lastWrite()).toBe('Append');
    await land([purchase('u_buy', '2026-11-22T12:00:00Z', 'o3', 70)]);
    expect(await build()).toBe('incremental');
    expect(await lastWrite()).toBe('Append');
    const { carried, expected } = await incrementalEqualsFull();
    expect(carried).toEqual(expected);
    expect(carried.length).toBe(customers.length + 4);
    await t.lake.table('customer_ltv').register('ltv');
    const [buyer] = await t.db.all<{ orders: string; frequency: string }>(
      `SELECT CAST(orders AS VARCHAR) AS orders, CAST(frequency AS VARCHAR) AS frequency
       FROM ltv WHERE user_key = pseudonym('u_buy')`,
    );
    expect(buyer).toEqual({ orders: '2', frequency: '1' });
  });

  it('gdpr forget erases the user from it; the next build rewrites it (rows left raw_events) and equals a full rebuild', async () => {
    await land([...customers, purchase('u_gone', '2026-11-20T10:00:00Z', 'g1', 40)]);
    expect(await build()).toBe('full');
    const receipt = await forgetUsers(t.lake, { userIds: ['u_gone'], actor: 'test' });
    expect(receipt.tables.map((x) => x.table)).toContain(CUSTOMER_PURCHASES);
    expect(receipt.verification.findings).toEqual([]);
    await t.lake.table(CUSTOMER_PURCHASES).register('cp_after');
    const [left] = await t.db.all<{ n: string }>(
      "SELECT CAST(count(*) AS VARCHAR) AS n FROM cp_after WHERE user_key = pseudonym('u_gone')",
    );
    expect(left).toEqual({ n: '0' });
    // the forget rewrote the raw_events files it was in, with the other customers' purchases: an
    // append would count those again
    await land([purchase('u_rep0', '2026-11-22T10:00:00Z', 'r0c', 12)]);
    expect(await build()).toBe('incremental');
    expect(await lastWrite()).toBe('Overwrite');
    const { carried, expected } = await incrementalEqualsFull();
    expect(carried).toEqual(expected);
  });

  it('is written whole by an incremental build that finds no table (a lake built before it existed, or a dropped table)', async () => {
    await land(customers);
    expect(await build()).toBe('full');
    rmSync(path.join(t.dir, 'lake', CUSTOMER_PURCHASES), { recursive: true, force: true });
    await land([purchase('u_rep2', '2026-11-22T10:00:00Z', 'r2c', 12)]);
    expect(await build()).toBe('incremental');
    expect(await lastWrite()).toBe('Overwrite');
    const { carried, expected } = await incrementalEqualsFull();
    expect(carried).toEqual(expected);
  });

  it('is rewritten when it is not at the marts version (a build that stopped before writing it), and after a compaction it is appended to', async () => {
    await land(customers);
    expect(await build()).toBe('full');
    await land([purchase('u_rep1', '2026-11-22T10:00:00Z', 'r1c', 11)]);
    expect(await build()).toBe('incremental');
    // the table one build behind the marts, as a build that failed after the marts leaves it
    const table = t.lake.table(CUSTOMER_PURCHASES);
    const marts = (await t.lake.table('raw_events').snapshot()).version;
    expect((await table.snapshot()).txnVersion(BUILD_APP_ID)).toBe(marts);
    await table.register('cp_now');
    await t.db.run('CREATE OR REPLACE TEMP VIEW no_rows AS SELECT * FROM cp_now WHERE false');
    await table.write({
      relation: 'no_rows',
      mode: 'append',
      txns: [{ appId: BUILD_APP_ID, version: marts - 1 }],
      operation: 'WRITE',
    });
    await land([purchase('u_rep3', '2026-11-22T11:00:00Z', 'r3c', 13)]);
    expect(await build()).toBe('incremental');
    expect(await lastWrite()).toBe('Overwrite');
    // a compaction of raw_events changes no rows (dataChange false): the table is carried on
    await optimizeTable(t.lake, 'raw_events');
    await land([purchase('u_rep5', '2026-11-22T12:00:00Z', 'r5c', 15)]);
    expect(await build()).toBe('incremental');
    expect(await lastWrite()).toBe('Append');
    const { carried, expected } = await incrementalEqualsFull();
    expect(carried).toEqual(expected);
  });
});

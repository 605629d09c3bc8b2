import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MART_NAMES } from '../../src/catalog/tables/marts.js';
import { ConfigSchema } from '../../src/config/config-schema.js';
import type { DuckDb } from '../../src/engine/duckdb.js';
import type { Lake } from '../../src/lake/table/lake.js';
import { buildMarts } from '../../src/transforms/build-marts.js';
import { EventLake, type TestEvent } from '../helpers/event-lake.js';

// The shortcuts an incremental build takes beyond the scope models: conversion_daily adds the
// touched users' differences to the day's figures as they stood (and counts the day anew when the
// sessions mart changed since), and the CLV step fits from grouped histories. Each case lands a
// history, builds, lands a batch, builds incrementally, and must equal a full rebuild of the lake.
const config = ConfigSchema.parse({}).marts;
const NOW = new Date('2026-11-24T00:00:00Z');
const IPAD =
  'Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';
const BOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';

type Event = TestEvent;

const cart = (user: string, at: string, cartValue: number, quantity = 1): Event => ({
  user,
  at,
  type: 'add_to_cart',
  properties: { product_id: 'p1', quantity, price: cartValue, cart_value: cartValue },
});
const purchase = (user: string, at: string, orderId: string, amount: number): Event => ({
  user,
  at,
  type: 'purchase',
  properties: { order_id: orderId, amount },
});

describe('incremental shortcuts equal a full rebuild', () => {
  let t: EventLake;
  let dir: string;
  let db: DuckDb;
  let lake: Lake;

  beforeEach(async () => {
    t = await EventLake.open('marts-shortcuts');
    ({ dir, db, lake } = t);
  });
  afterEach(() => t.close());

  const land = (events: readonly Event[]) => t.land(events, NOW);
  const dump = () => t.dumpMarts();
  const query = async (sql: string) => {
    for (const mart of MART_NAMES) await lake.table(mart).register(mart);
    return db.all<Record<string, string>>(sql);
  };
  // other users keep the days busy: conversion_daily's kept figures are not only the touched users'
  const crowd = Array.from({ length: 40 }, (_, i) => ({
    user: `crowd_${i % 5}`,
    at: new Date(Date.parse('2026-11-20T00:05:00Z') + i * 45 * 60_000).toISOString(),
  }));
  const buildBoth = async (history: readonly Event[], batchEvents: readonly Event[]) => {
    await land([...history, ...crowd]);
    expect((await buildMarts(lake, { config })).mode).toBe('full');
    await land(batchEvents);
    expect((await buildMarts(lake, { config })).mode).toBe('incremental');
    const incremental = await dump();
    expect((await buildMarts(lake, { config, fullRefresh: true })).mode).toBe('full');
    return { incremental, full: await dump() };
  };

  it('conversion_daily: a late event moves a user to the cart step; a device loses its only user to a bot', async () => {
    const { incremental, full } = await buildBoth(
      [
        { user: 'u_cart', at: '2026-11-20T08:00:00Z' },
        { user: 'u_cart', at: '2026-11-20T08:10:00Z', type: 'product_view' },
        { user: 'u_tablet', at: '2026-11-20T09:00:00Z', ua: IPAD },
        { user: 'u_tablet', at: '2026-11-20T09:05:00Z', ua: IPAD, type: 'product_view' },
        { user: 'u_new', at: '2026-11-21T07:00:00Z' },
      ],
      [
        cart('u_cart', '2026-11-20T08:20:00Z', 25),
        // the tablet session now has a bot's event: a bot session, left out of conversion_daily
        { user: 'u_tablet', at: '2026-11-20T09:10:00Z', ua: BOT },
        { user: 'u_new', at: '2026-11-21T07:05:00Z', type: 'product_view' },
      ],
    );
    expect(incremental).toEqual(full);
    const rows = await query(
      `SELECT CAST(session_date AS VARCHAR) AS day, device, CAST(carted_users AS VARCHAR) AS carted
       FROM conversion_daily WHERE session_date = DATE '2026-11-20' ORDER BY device`,
    );
    expect(rows.map((r) => r.device)).toEqual(['all', 'desktop']);
    expect(rows.find((r) => r.device === 'all')?.carted).toBe('1');
  });

  it('conversion_daily: a user whose sessions merge across midnight counts on the day the session starts', async () => {
    const { incremental, full } = await buildBoth(
      [
        { user: 'u_mid', at: '2026-11-20T23:40:00Z' },
        { user: 'u_mid', at: '2026-11-21T00:30:00Z', type: 'product_view' },
      ],
      [cart('u_mid', '2026-11-21T00:05:00Z', 40)],
    );
    expect(incremental).toEqual(full);
  });

  it('conversion_daily is counted anew when the sessions mart changed after it was counted (a build interrupted between them)', async () => {
    await land([
      { user: 'u_a', at: '2026-11-20T08:00:00Z' },
      { user: 'u_b', at: '2026-11-20T09:00:00Z', type: 'product_view' },
      ...crowd,
    ]);
    await buildMarts(lake, { config });
    await land([cart('u_a', '2026-11-20T08:10:00Z', 30), { user: 'u_c', at: '2026-11-20T10:00:00Z' }]);
    await buildMarts(lake, { config });
    // the crash: every mart after sessions lost this build's commit; sessions kept its own
    for (const mart of ['fraud_flags', 'conversion_daily', 'customer_ltv', 'metrics_minute']) {
      const latest = (await lake.table(mart).log.latestVersion())!;
      rmSync(path.join(dir, 'lake', mart, '_delta_log', `${String(latest).padStart(20, '0')}.json`));
    }
    expect((await buildMarts(lake, { config })).mode).toBe('incremental');
    const rerun = await dump();
    await buildMarts(lake, { config, fullRefresh: true });
    expect(await dump()).toEqual(rerun);
  });

  it('customer_ltv: a customer whose orders change (a repeated order id, a second order on a day) fits as a full build does', async () => {
    const { incremental, full } = await buildBoth(
      [
        purchase('u_buy', '2026-11-20T10:00:00Z', 'o1', 30),
        purchase('u_buy', '2026-11-21T09:00:00Z', 'o2', 50),
        // enough customers to fit (marts.clv.minCustomers), half of them buying again the next day
        ...Array.from({ length: 60 }, (_, i) => [
          purchase(
            `u_rep${i}`,
            `2026-11-20T${String(10 + (i % 10)).padStart(2, '0')}:30:00Z`,
            `r${i}a`,
            10 + i,
          ),
          purchase(
            `u_rep${i}`,
            `2026-11-21T${String(10 + (i % 10)).padStart(2, '0')}:30:00Z`,
            `r${i}b`,
            20 + i,
          ),
        ]).flat(),
      ],
      [
        purchase('u_buy', '2026-11-21T11:00:00Z', 'o1', 30),
        purchase('u_buy', '2026-11-21T12:00:00Z', 'o3', 70),
        purchase('u_late', '2026-11-20T05:00:00Z', 'o4', 15),
      ],
    );
    expect(incremental).toEqual(full);
    const [buyer] = await query(
      `SELECT CAST(orders AS VARCHAR) AS orders, CAST(frequency AS VARCHAR) AS frequency, clv_status
       FROM customer_ltv WHERE user_key = pseudonym('u_buy')`,
    );
    expect(buyer).toEqual({ orders: '3', frequency: '1', clv_status: 'fitted' });
  });

  it('fraud_flags: a flag appears, another disappears, and flags of hours reached only through a session are kept', async () => {
    const { incremental, full } = await buildBoth(
      [
        // a cart rising by 60,000 in one minute: value_per_minute at 10:05
        cart('u_value', '2026-11-20T10:05:00Z', 60_000),
        // a session starting before midnight that the new events extend
        { user: 'u_span', at: '2026-11-20T23:40:00Z' },
        // another user's flag in that session-only hour
        cart('u_other', '2026-11-20T23:45:00Z', 20, 60),
        { user: 'u_ips', at: '2026-11-21T08:00:00Z', ip: '10.0.0.1' },
        { user: 'u_ips', at: '2026-11-21T08:10:00Z', ip: '10.0.0.2' },
        { user: 'u_ips', at: '2026-11-21T08:45:00Z', ip: '10.0.0.3' },
      ],
      [
        // late: the cart was at 55,000 at 10:00, so 10:05 rises by 5,000 only (its flag goes)
        cart('u_value', '2026-11-20T10:00:00Z', 55_000),
        // a bot event in the spanning session: a session flag on a session of the day before
        { user: 'u_span', at: '2026-11-21T00:05:00Z', ua: BOT },
        // joins u_ips's two sessions into one with three IPs: a multiple-IP session flag appears
        { user: 'u_ips', at: '2026-11-21T08:25:00Z', ip: '10.0.0.1' },
      ],
    );
    expect(incremental).toEqual(full);
    const flags = await query(
      `SELECT user_id, rule, strftime(flagged_at, '%H:%M') AS at FROM fraud_flags
       WHERE user_id IN ('u_value', 'u_span', 'u_other', 'u_ips') ORDER BY ALL`,
    );
    expect(flags).toContainEqual({ user_id: 'u_span', rule: 'bot_user_agent', at: '23:40' });
    expect(flags).toContainEqual({ user_id: 'u_other', rule: 'high_quantity', at: '23:45' });
    expect(flags).toContainEqual({ user_id: 'u_ips', rule: 'multiple_ips_session', at: '08:00' });
    expect(flags.filter((f) => f.user_id === 'u_value' && f.rule === 'value_per_minute')).toEqual([
      { user_id: 'u_value', rule: 'value_per_minute', at: '10:00' },
    ]);
  });
});

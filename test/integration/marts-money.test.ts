import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Config, ConfigSchema } from '../../src/config/config-schema.js';
import { DuckDb } from '../../src/engine/duckdb.js';
import { isShopstreamError } from '../../src/errors.js';
import { ingest } from '../../src/ingest/ingest.js';
import { Lake } from '../../src/lake/table/lake.js';
import { LocalStore } from '../../src/storage/local-store.js';
import { buildMarts } from '../../src/transforms/build-marts.js';
import { tempDir } from '../helpers/cli.js';

// Money in the marts: value at risk is the increase of cart state plus purchases (carts of 10 then
// 30 are worth 30, not 40), amounts in different currencies are never added, a rates file converts
// them, and a mart built with other settings is rebuilt.

const MARTS = [
  'sessions',
  'conversion_daily',
  'customer_ltv',
  'fraud_user_minute',
  'fraud_flags',
  'metrics_minute',
];
const NOW = new Date('2026-11-24T00:00:00Z');

interface Ev {
  id: string;
  type: string;
  user: string;
  at: string;
  props?: Record<string, unknown>;
}

// one key for every lake, so two lakes' marts compare row for row
const SECRET = 'marts-money-test-secret';
const build = (lake: Lake, config: Config['marts']) => buildMarts(lake, { config, pseudonymSecret: SECRET });
const marts = (overrides: Record<string, unknown> = {}): Config['marts'] =>
  ConfigSchema.parse({ marts: overrides }).marts;

describe('build-marts money', () => {
  let dir: string;
  let db: DuckDb;
  let lake: Lake;
  let batch = 0;

  beforeEach(async () => {
    dir = tempDir('marts-money');
    db = await DuckDb.open();
    lake = new Lake(new LocalStore(path.join(dir, 'lake')), db);
    batch = 0;
  });
  afterEach(() => db.close());

  const land = async (events: readonly Ev[], into: Lake = lake) => {
    const file = path.join(dir, `batch-${++batch}.ndjson`);
    const lines = events.map((e) =>
      JSON.stringify({
        event_id: e.id,
        event_type: e.type,
        user_id: e.user,
        timestamp: e.at,
        received_at: e.at,
        ip: '203.0.113.7',
        user_agent: 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0',
        page_url: `/${e.type}`,
        properties: e.props ?? {},
      }),
    );
    writeFileSync(file, `${lines.join('\n')}\n`);
    await ingest(into, {
      sources: [file],
      maxBadRatio: 1,
      maxFutureHours: 24,
      minEventDate: '2000-01-01',
      now: NOW,
    });
  };
  const rows = async <T = Record<string, unknown>>(sql: string, from: Lake = lake) => {
    for (const name of await from.tableNames()) await from.table(name).register(name);
    return from.db.all<T>(sql);
  };
  const dump = async (from: Lake) => {
    const out: Record<string, string[]> = {};
    for (const mart of MARTS)
      out[mart] = (await rows(`SELECT * FROM ${mart}`, from)).map((r) => JSON.stringify(r)).sort();
    return out;
  };
  const cart = (id: string, user: string, at: string, cartValue: number, currency = 'USD'): Ev => ({
    id,
    type: 'add_to_cart',
    user,
    at,
    props: { product_id: 'p1', quantity: 1, price: cartValue, cart_value: cartValue, currency },
  });
  const purchase = (id: string, user: string, at: string, amount: number, currency = 'USD'): Ev => ({
    id,
    type: 'purchase',
    user,
    at,
    props: { order_id: `o_${id}`, amount, cart_value: amount, currency },
  });

  it('values a session by its last cart state and a minute by the increase of cart state plus purchases', async () => {
    await land([
      { id: 'a1', type: 'product_view', user: 'u_a', at: '2026-11-20T10:00:00Z', props: { price: 10 } },
      cart('a2', 'u_a', '2026-11-20T10:01:10Z', 10),
      cart('a3', 'u_a', '2026-11-20T10:01:40Z', 30),
      { id: 'a4', type: 'checkout', user: 'u_a', at: '2026-11-20T10:01:50Z', props: { cart_value: 30 } },
      // the cart shrinks, then grows again: only the growth is at risk
      {
        id: 'a5',
        type: 'remove_from_cart',
        user: 'u_a',
        at: '2026-11-20T10:03:00Z',
        props: { cart_value: 5 },
      },
      cart('a6', 'u_a', '2026-11-20T10:03:30Z', 25),
      purchase('a7', 'u_a', '2026-11-20T10:05:00Z', 25),
      // after the order the cart is empty: a new cart counts in full
      cart('a8', 'u_a', '2026-11-20T10:06:00Z', 12),
      // a new session, 2 hours later: its cart counts in full again
      cart('b1', 'u_a', '2026-11-20T12:06:00Z', 12),
    ]);
    // a limit of 35 per minute: 10 + 30 + 30 = 70 used to trip it, 30 does not
    const summary = await build(lake, marts({ fraud: { maxValuePerMinute: 35 } }));
    expect(summary.currency).toEqual({ mode: 'per-currency', reporting: 'USD' });

    const sessions = await rows<Record<string, unknown>>(
      "SELECT strftime(start_time, '%H:%M') AS start, currency, CAST(cart_value AS DOUBLE) AS cart_value, CAST(max_cart_value AS DOUBLE) AS max_cart_value, CAST(revenue AS DOUBLE) AS revenue, CAST(value_at_risk AS DOUBLE) AS value_at_risk, unconverted_events FROM sessions ORDER BY start_time",
    );
    expect(sessions).toEqual([
      // last cart state 12 (after the order), the largest 30; at risk 10 + 20 + 20 + 25 + 12
      {
        start: '10:00',
        currency: 'USD',
        cart_value: 12,
        max_cart_value: 30,
        revenue: 25,
        value_at_risk: 87,
        unconverted_events: '0',
      },
      {
        start: '12:06',
        currency: 'USD',
        cart_value: 12,
        max_cart_value: 12,
        revenue: 0,
        value_at_risk: 12,
        unconverted_events: '0',
      },
    ]);
    const minutes = await rows<{ minute: string; value: number; reasons: string[] }>(
      "SELECT strftime(minute, '%H:%M') AS minute, CAST(total_value AS DOUBLE) AS value, reasons FROM fraud_user_minute WHERE total_value > 0 ORDER BY minute",
    );
    expect(minutes).toEqual([
      { minute: '10:01', value: 30, reasons: [] },
      { minute: '10:03', value: 20, reasons: [] },
      { minute: '10:05', value: 25, reasons: [] },
      { minute: '10:06', value: 12, reasons: [] },
      { minute: '12:06', value: 12, reasons: [] },
    ]);
    expect(await rows("SELECT * FROM fraud_flags WHERE rule = 'value_per_minute'")).toEqual([]);
  });

  it('keeps the value at risk of a changed cart right when its later hour is built incrementally', async () => {
    const other = new Lake(new LocalStore(path.join(dir, 'other')), await DuckDb.open());
    try {
      const batches = [
        [cart('c1', 'u_c', '2026-11-20T10:50:00Z', 10)],
        [cart('c2', 'u_c', '2026-11-20T11:10:00Z', 30)],
        // late: the cart was already 25 at 10:55, so 11:10 raised it by only 5
        [cart('c3', 'u_c', '2026-11-20T10:55:00Z', 25)],
      ];
      for (const events of batches) {
        await land(events);
        await build(lake, marts());
      }
      const minutes = await rows<{ minute: string; value: number }>(
        "SELECT strftime(minute, '%H:%M') AS minute, CAST(total_value AS DOUBLE) AS value FROM fraud_user_minute ORDER BY minute",
      );
      expect(minutes).toEqual([
        { minute: '10:50', value: 10 },
        { minute: '10:55', value: 15 },
        { minute: '11:10', value: 5 },
      ]);
      await land(batches.flat(), other);
      await build(other, marts());
      expect(await dump(lake)).toEqual(await dump(other));
    } finally {
      other.db.close();
    }
  });

  it('never adds amounts in different currencies without a rates file', async () => {
    await land([
      purchase('u1', 'u_usd', '2026-11-20T10:00:00Z', 30),
      purchase('j1', 'u_jpy', '2026-11-20T10:00:00Z', 30, 'JPY'),
      // one session, two currencies: the JPY cart is not added to the USD one
      cart('m1', 'u_mix', '2026-11-20T10:00:00Z', 30),
      cart('m2', 'u_mix', '2026-11-20T10:00:30Z', 30, 'JPY'),
      // no currency: the default (USD)
      { id: 'n1', type: 'purchase', user: 'u_none', at: '2026-11-20T10:00:00Z', props: { amount: 7 } },
    ]);
    const summary = await build(lake, marts({ fraud: { maxValuePerMinute: 50 } }));
    const sessions = await rows(
      'SELECT currency, CAST(revenue AS DOUBLE) AS revenue, CAST(cart_value AS DOUBLE) AS cart_value, CAST(value_at_risk AS DOUBLE) AS value_at_risk, unconverted_events FROM sessions ORDER BY currency, revenue',
    );
    expect(sessions).toEqual([
      { currency: 'JPY', revenue: 30, cart_value: 0, value_at_risk: 30, unconverted_events: '0' },
      { currency: 'USD', revenue: 0, cart_value: 30, value_at_risk: 30, unconverted_events: '1' },
      { currency: 'USD', revenue: 7, cart_value: 0, value_at_risk: 7, unconverted_events: '0' },
      { currency: 'USD', revenue: 30, cart_value: 0, value_at_risk: 30, unconverted_events: '0' },
    ]);
    // the reporting currency only: 30 + 7 USD, never 30 + 30 + 7
    const [daily] = await rows(
      "SELECT currency, CAST(revenue AS DOUBLE) AS revenue, unconverted_sessions FROM conversion_daily WHERE device = 'all'",
    );
    expect(daily).toEqual({ currency: 'USD', revenue: 37, unconverted_sessions: '2' });
    const minutes = await rows(
      'SELECT user_id, currency, CAST(total_value AS DOUBLE) AS value, unconverted_events FROM fraud_user_minute ORDER BY user_id',
    );
    expect(minutes).toEqual([
      { user_id: 'u_jpy', currency: 'USD', value: 0, unconverted_events: '1' },
      // 30 USD + 30 JPY would be 60 > 50: not flagged, the JPY amount is not comparable
      { user_id: 'u_mix', currency: 'USD', value: 30, unconverted_events: '1' },
      { user_id: 'u_none', currency: 'USD', value: 7, unconverted_events: '0' },
      { user_id: 'u_usd', currency: 'USD', value: 30, unconverted_events: '0' },
    ]);
    expect(await rows('SELECT * FROM fraud_flags')).toEqual([]);
    const check = summary.quality.checks.find((c) => c.name === 'unconverted_money');
    expect(check).toMatchObject({ severity: 'warn', failing: 1 });
  });

  it('converts with a rates file: the rate of the date, else the latest earlier one; no rate, no conversion', async () => {
    const rates = path.join(dir, 'rates.csv');
    writeFileSync(
      rates,
      'date,currency,rate\n2026-11-19,JPY,0.0065\n2026-11-21,JPY,0.0070\n2026-11-19,EUR,1.10\n',
    );
    await land([
      purchase('j0', 'u_j0', '2026-11-18T10:00:00Z', 1000, 'JPY'), // before any JPY rate
      purchase('j1', 'u_j1', '2026-11-20T10:00:00Z', 1000, 'JPY'), // 2026-11-19's rate
      purchase('j2', 'u_j2', '2026-11-21T10:00:00Z', 1000, 'JPY'), // its own day's rate
      purchase('e1', 'u_e1', '2026-11-21T10:00:00Z', 10, 'EUR'),
      purchase('g1', 'u_g1', '2026-11-21T10:00:00Z', 10, 'GBP'), // no rate at all
      purchase('u1', 'u_u1', '2026-11-21T10:00:00Z', 10),
      // a 10,000,000 JPY cart is 70,000 USD: over the $10,000 cart limit once converted
      cart('big', 'u_big', '2026-11-21T11:00:00Z', 10_000_000, 'JPY'),
    ]);
    const config = marts({ currency: { reporting: 'USD', ratesFile: rates } });
    const summary = await build(lake, config);
    expect(summary.currency).toEqual({ mode: 'converted', reporting: 'USD' });
    const sessions = await rows(
      "SELECT currency, CAST(revenue AS DOUBLE) AS revenue, unconverted_events, strftime(start_time, '%m-%d %H') AS started FROM sessions ORDER BY started, revenue",
    );
    expect(sessions).toEqual([
      { currency: 'USD', revenue: 0, unconverted_events: '1', started: '11-18 10' },
      { currency: 'USD', revenue: 6.5, unconverted_events: '0', started: '11-20 10' },
      { currency: 'USD', revenue: 0, unconverted_events: '1', started: '11-21 10' },
      { currency: 'USD', revenue: 7, unconverted_events: '0', started: '11-21 10' },
      { currency: 'USD', revenue: 10, unconverted_events: '0', started: '11-21 10' },
      { currency: 'USD', revenue: 11, unconverted_events: '0', started: '11-21 10' },
      { currency: 'USD', revenue: 0, unconverted_events: '0', started: '11-21 11' },
    ]);
    const flags = await rows(
      'SELECT rule, user_id, currency, CAST(value AS DOUBLE) AS value FROM fraud_flags ORDER BY rule',
    );
    expect(flags).toEqual([
      { rule: 'high_cart_value', user_id: 'u_big', currency: 'USD', value: 70_000 },
      { rule: 'value_per_minute', user_id: 'u_big', currency: 'USD', value: 70_000 },
    ]);

    // a corrected rates file changes what the money marts mean: they are rebuilt
    writeFileSync(
      rates,
      'date,currency,rate\n2026-11-19,JPY,0.0066\n2026-11-21,JPY,0.0070\n2026-11-19,EUR,1.10\n',
    );
    const again = await build(lake, config);
    // customer_ltv too: its model leaves out the users fraud_flags flags
    expect(again.rebuilt.map((r) => r.mart).sort()).toEqual(
      [
        'conversion_daily',
        'customer_ltv',
        'fraud_flags',
        'fraud_user_minute',
        'metrics_minute',
        'sessions',
      ].sort(),
    );
    expect(again.rebuilt[0]!.reason).toContain('the currency rates changed');
    const [j1] = await rows(
      "SELECT CAST(revenue AS DOUBLE) AS revenue FROM sessions WHERE strftime(start_time, '%m-%d') = '11-20'",
    );
    expect(j1).toEqual({ revenue: 6.6 });
  });

  it('reads a Parquet rates file', async () => {
    const rates = path.join(dir, 'rates.parquet');
    await db.run(
      `COPY (SELECT DATE '2026-11-01' AS date, 'EUR' AS currency, CAST(1.25 AS DOUBLE) AS rate) TO '${rates}' (FORMAT parquet)`,
    );
    await land([purchase('e1', 'u_e1', '2026-11-21T10:00:00Z', 10, 'EUR')]);
    await build(lake, marts({ currency: { ratesFile: rates } }));
    expect(await rows('SELECT currency, CAST(revenue AS DOUBLE) AS revenue FROM sessions')).toEqual([
      { currency: 'USD', revenue: 12.5 },
    ]);
  });

  it('names the file, line and field of a bad rate', async () => {
    const rates = path.join(dir, 'rates.csv');
    writeFileSync(rates, 'date,currency,rate\n2026-11-19,JPY,0.0065\n2026-11-20,JPY,-1\n');
    await land([purchase('u1', 'u_u1', '2026-11-21T10:00:00Z', 10)]);
    const error = await buildMarts(lake, { config: marts({ currency: { ratesFile: rates } }) }).catch(
      (e: unknown) => e,
    );
    expect(isShopstreamError(error)).toBe(true);
    expect(error).toMatchObject({ exitCode: 65, location: `${rates}:3 field rate` });
    const missing = await buildMarts(lake, {
      config: marts({ currency: { ratesFile: path.join(dir, 'nope.csv') } }),
    }).catch((e: unknown) => e);
    expect(missing).toMatchObject({ exitCode: 78, code: 'RATES_FILE_UNREADABLE' });
  });

  it('rebuilds the marts whose settings changed, and only those', async () => {
    const events = [
      { id: 's1', type: 'product_view', user: 'u_s', at: '2026-11-20T10:00:00Z' },
      cart('s2', 'u_s', '2026-11-20T10:40:00Z', 20), // 40 minutes later: a new session at 30, not at 45
      purchase('s3', 'u_s', '2026-11-20T10:45:00Z', 20),
    ];
    await land(events);
    await build(lake, marts());
    expect(await rows('SELECT count(*) AS n FROM sessions')).toEqual([{ n: '2' }]);
    const ltvVersion = (await lake.table('customer_ltv').snapshot()).version;

    const summary = await build(lake, marts({ sessionTimeoutMinutes: 45 }));
    expect(summary.mode).toBe('full');
    // every mart reads sessions or values carts within the timeout; customer_ltv through the
    // fraud_flags its model leaves out
    expect(summary.rebuilt.map((r) => r.mart).sort()).toEqual(
      [
        'conversion_daily',
        'customer_ltv',
        'fraud_flags',
        'fraud_user_minute',
        'metrics_minute',
        'sessions',
      ].sort(),
    );
    for (const r of summary.rebuilt) expect(r.reason).toContain('marts.sessionTimeoutMinutes 30 -> 45');
    expect((await lake.table('customer_ltv').snapshot()).version).toBeGreaterThan(ltvVersion);
    expect(await rows('SELECT count(*) AS n FROM sessions')).toEqual([{ n: '1' }]);

    // the same settings again: nothing to do
    const rerun = await build(lake, marts({ sessionTimeoutMinutes: 45 }));
    expect(rerun).toMatchObject({ mode: 'up-to-date', rebuilt: [] });

    // a setting only metrics_minute reads
    const late = await build(lake, marts({ sessionTimeoutMinutes: 45, lateAfterMinutes: 5 }));
    expect(late.rebuilt).toEqual([
      { mart: 'metrics_minute', reason: 'settings changed: marts.lateAfterMinutes 60 -> 5' },
    ]);
    expect(late.marts.filter((m) => m.version !== null).map((m) => m.name)).toEqual(['metrics_minute']);

    // and the result is what a full build with those settings gives
    const other = new Lake(new LocalStore(path.join(dir, 'other')), await DuckDb.open());
    try {
      await land(events, other);
      await build(other, marts({ sessionTimeoutMinutes: 45, lateAfterMinutes: 5 }));
      expect(await dump(lake)).toEqual(await dump(other));
    } finally {
      other.db.close();
    }
  });
});

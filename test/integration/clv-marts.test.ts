import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/config-schema.js';
import { DuckDb } from '../../src/engine/duckdb.js';
import { resolvePseudonymKey } from '../../src/governance/pseudonym.js';
import { ingest } from '../../src/ingest/ingest.js';
import { Lake } from '../../src/lake/table/lake.js';
import { LocalStore } from '../../src/storage/local-store.js';
import { buildMarts } from '../../src/transforms/build-marts.js';
import { compileReport } from '../../src/warehouse/reports.js';
import { tempDir } from '../helpers/cli.js';
import { buildClvFixture } from '../helpers/clv-fixture.js';
import { type FixtureEvent, toLine } from '../helpers/marts-fixture.js';

const config = ConfigSchema.parse({}).marts;
const NOW = new Date('2026-11-01T00:00:00Z');

// several builds each: generous, so a busy machine does not fail them
describe('customer_ltv: BG/NBD + Gamma-Gamma predictions', { timeout: 240_000 }, () => {
  let dir: string;
  let db: DuckDb;
  let lake: Lake;
  let batch = 0;

  beforeEach(async () => {
    dir = tempDir('clv-marts');
    db = await DuckDb.open({ threads: 1 });
    lake = new Lake(new LocalStore(path.join(dir, 'lake')), db);
    batch = 0;
  });
  afterEach(() => db.close());

  const land = async (events: readonly FixtureEvent[]) => {
    const file = path.join(dir, `batch-${++batch}.ndjson`);
    writeFileSync(file, `${events.map(toLine).join('\n')}\n`);
    return ingest(lake, {
      sources: [file],
      maxBadRatio: 0,
      maxFutureHours: 24,
      minEventDate: '2000-01-01',
      now: NOW,
    });
  };
  const ltv = async () => {
    await lake.table('customer_ltv').register('customer_ltv');
    return db.all<Record<string, unknown>>('SELECT * FROM customer_ltv ORDER BY user_key');
  };

  it('predicts for fitted customers, leaves fraud, bots and other currencies out, keeps the historic columns', async () => {
    await land(buildClvFixture());
    await buildMarts(lake, { config });
    const rows = await ltv();
    const pseudonym = await resolvePseudonymKey(lake, undefined);
    const key = (user: string) => pseudonym.userKey(user);
    const of = (user: string) => rows.find((r) => r.user_key === key(user))!;

    expect(Object.keys(rows[0]!)).toEqual([
      'user_key',
      'first_order_at',
      'last_order_at',
      'orders',
      'revenue',
      'currency',
      'average_order_value',
      'avg_days_between_orders',
      'tenure_days',
      'historic_clv',
      'frequency',
      'recency_days',
      'monetary_value',
      'clv_status',
      'prediction_horizon_months',
      'predicted_purchases',
      'probability_alive',
      'expected_avg_value',
      'predicted_clv',
    ]);
    expect(of('u_fraud')).toMatchObject({ clv_status: 'fraud_flagged', orders: '5', predicted_clv: null });
    expect(of('u_bot')).toMatchObject({ clv_status: 'bot', predicted_purchases: null });
    expect(of('u_euro')).toMatchObject({
      clv_status: 'other_currency',
      currency: 'EUR',
      predicted_clv: null,
    });
    // 50 USD + 5000 JPY is not 5050 of anything: no money figures, no prediction
    expect(of('u_mixed')).toMatchObject({
      clv_status: 'mixed_currencies',
      orders: '2',
      currency: null,
      revenue: null,
      historic_clv: null,
      monetary_value: null,
      predicted_clv: null,
    });
    const fitted = rows.filter((r) => r.clv_status === 'fitted');
    expect(fitted.length).toBe(rows.length - 4);
    for (const r of fitted) {
      expect(r.prediction_horizon_months).toBe(12);
      expect(Number(r.predicted_purchases)).toBeGreaterThanOrEqual(0);
      expect(Number(r.probability_alive)).toBeGreaterThan(0);
      expect(Number(r.probability_alive)).toBeLessThanOrEqual(1);
      expect(Number(r.expected_avg_value)).toBeGreaterThan(0);
      // discounted, so at most the undiscounted purchases x value (cents rounding aside)
      expect(Number(r.predicted_clv)).toBeLessThanOrEqual(
        Number(r.predicted_purchases) * Number(r.expected_avg_value) + 0.01,
      );
    }
    // 2 orders 1.1 days apart: the old extrapolation said 150 x 365 / 1.1 = $49,772 a year
    const fast = of('u_fast');
    expect(fast).toMatchObject({ orders: '2', frequency: '1', recency_days: 1, monetary_value: 150 });
    expect(Number(fast.predicted_purchases)).toBeLessThan(20);
    expect(Number(fast.predicted_clv)).toBeLessThan(3000);
    // someone who bought often and recently is worth more than an early one-off buyer
    const oneOff = fitted.filter((r) => r.frequency === '0').map((r) => Number(r.predicted_purchases));
    const frequent = fitted.filter((r) => Number(r.frequency) >= 5).map((r) => Number(r.predicted_purchases));
    expect(Math.max(...oneOff)).toBeLessThan(Math.max(...frequent));

    // report clv: fitted customers first by predicted CLV; the fraudster (top spender) after them
    const { sql, parameters } = compileReport('clv', 'duckdb', 1000);
    const report = await db.all<Record<string, unknown>>(sql, parameters as never);
    expect(report[0]!.clv_status).toBe('fitted');
    const firstUnfitted = report.findIndex((r) => r.clv_status !== 'fitted');
    expect(firstUnfitted).toBe(fitted.length);
    expect(report[firstUnfitted]!.user_key).toBe(key('u_fraud'));
    const predicted = report.slice(0, firstUnfitted).map((r) => Number(r.predicted_clv));
    expect(predicted).toEqual([...predicted].sort((a, b) => b - a));
  });

  it('incremental builds refit and equal a full rebuild', async () => {
    const events = buildClvFixture();
    const cut = (iso: string) => events.filter((e) => e.timestamp < iso);
    await land(cut('2026-09-15'));
    expect((await buildMarts(lake, { config })).mode).toBe('full');
    const early = await ltv();
    await land(events.filter((e) => e.timestamp >= '2026-09-15' && e.timestamp < '2026-10-10'));
    expect((await buildMarts(lake, { config })).mode).toBe('incremental');
    await land(events.filter((e) => e.timestamp >= '2026-10-10'));
    expect((await buildMarts(lake, { config })).mode).toBe('incremental');
    const incremental = await ltv();
    // every customer's prediction moved with the data (T grew), not only the touched ones'
    const before = new Map(early.map((r) => [r.user_key, r.predicted_purchases]));
    const untouched = incremental.filter((r) => before.has(r.user_key) && r.clv_status === 'fitted');
    expect(untouched.every((r) => r.predicted_purchases !== before.get(r.user_key))).toBe(true);

    await buildMarts(lake, { config, fullRefresh: true });
    expect(await ltv()).toEqual(incremental);
  });
});

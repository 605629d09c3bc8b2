import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDb } from '../../src/engine/duckdb.js';
import { loadSql } from '../../src/engine/sql-files.js';
import { conditionalExpectedPurchases, fitBgNbd, probabilityAlive } from '../../src/transforms/clv/bg-nbd.js';
import { conditionalExpectedAverageValue, fitGammaGamma } from '../../src/transforms/clv/gamma-gamma.js';
import type { Rfm } from '../../src/transforms/clv/rfm.js';

const SAMPLE = path.resolve(__dirname, '../../fixtures/cdnow/CDNOW_sample.txt');

/**
 * Agrees with a published figure to two significant digits: within half a unit of its second
 * significant digit (6.25 -> +-0.05, 0.243 -> +-0.005, 15.45 -> +-0.5).
 */
function expectTwoSignificantDigits(fitted: number, published: number): void {
  const halfUnit = 0.5 * 10 ** (Math.floor(Math.log10(Math.abs(published))) - 1);
  expect(Math.abs(fitted - published), `${fitted} vs ${published}`).toBeLessThanOrEqual(halfUnit);
}

describe('CLV models on the CDNOW sample (Fader, Hardie & Lee 2005)', () => {
  let db: DuckDb;
  let customers: (Rfm & { customer_id: number })[];

  beforeAll(async () => {
    db = await DuckDb.open({ threads: 1 });
    await db.run(
      `CREATE TEMP TABLE clv_orders AS
       SELECT CAST(f[2] AS INTEGER) AS customer_id, strptime(f[3], '%Y%m%d') AS ordered_at,
              CAST(f[5] AS DOUBLE) AS order_value
       FROM (SELECT string_split_regex(trim(line), '\\s+') AS f
             FROM read_csv($path, header = false, columns = {'line': 'VARCHAR'}, delim = '|'))`,
      { path: SAMPLE },
    );
    customers = await db.all(loadSql('clv/rfm_summary'), { observation_end: '1997-09-30', period_days: '7' });
  });
  afterAll(() => db.close());

  it('the SQL summary matches the calibration summary published with the data', () => {
    expect(customers).toHaveLength(2357);
    // customer 1 of the published summary: x = 2, t_x = 30.43, T = 38.86, mean repeat value 22.35
    const first = customers[0]!;
    expect(first.customer_id).toBe(1);
    expect(first.frequency).toBe(2);
    expect(first.recency).toBeCloseTo(30.43, 2);
    expect(first.T).toBeCloseTo(38.86, 2);
    expect(first.monetary).toBeCloseTo(22.345, 3); // (14.96 + 29.73) / 2, published rounded as 22.35
    expect(customers.filter((c) => c.frequency > 0)).toHaveLength(946);
  });

  it('BG/NBD reproduces r = 0.243, alpha = 4.414, a = 0.793, b = 2.426', () => {
    const fit = fitBgNbd(customers);
    expectTwoSignificantDigits(fit.r, 0.243);
    expectTwoSignificantDigits(fit.alpha, 4.414);
    expectTwoSignificantDigits(fit.a, 0.793);
    expectTwoSignificantDigits(fit.b, 2.426);
    // in fact to the published three decimals
    expect(fit.r).toBeCloseTo(0.243, 3);
    expect(fit.alpha).toBeCloseTo(4.414, 2);
    // the paper's customer with x = 2, t_x = 30.43, T = 38.86 expects 1.226 purchases in 39 weeks
    const published = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
    expect(
      conditionalExpectedPurchases(published, 39, { frequency: 2, recency: 30.43, T: 38.86 }),
    ).toBeCloseTo(1.226, 2);
    expect(probabilityAlive(published, { frequency: 0, recency: 0, T: 38.86 })).toBe(1);
  });

  it('Gamma-Gamma reproduces p = 6.25, q = 3.74, v = 15.45 on the customers with repeat purchases', () => {
    const fit = fitGammaGamma(customers);
    expectTwoSignificantDigits(fit.p, 6.25);
    expectTwoSignificantDigits(fit.q, 3.74);
    expectTwoSignificantDigits(fit.v, 15.45);
    expect(conditionalExpectedAverageValue(fit, { frequency: 2, monetary: 22.35 })).toBeGreaterThan(
      22.35 * 0.9,
    );
  });
});

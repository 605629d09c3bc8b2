import { describe, expect, it } from 'vitest';
import {
  bgNbdLogLikelihood,
  conditionalExpectedPurchases,
  fitBgNbd,
  probabilityAlive,
} from '../../src/transforms/clv/bg-nbd.js';
import { discountedClv } from '../../src/transforms/clv/discounted-clv.js';
import { gammaGammaLogLikelihood } from '../../src/transforms/clv/gamma-gamma.js';
import { nelderMead } from '../../src/transforms/clv/nelder-mead.js';
import { hyp2f1 } from '../../src/transforms/clv/special-functions.js';

const unit = { r: 1, alpha: 1, a: 1, b: 1 };

describe('CLV likelihoods against hand-checked values', () => {
  it('BG/NBD: a customer with no repeat purchase, r = alpha = a = b = 1, T = 1: ln(1/2)', () => {
    // A1 = lnG(1) - lnG(1) + ln 1 = 0, A2 = 0, A3 = -(1 + 0) ln(1 + 1), no A4 term
    expect(bgNbdLogLikelihood(unit, { frequency: 0, recency: 0, T: 1 })).toBeCloseTo(Math.log(1 / 2), 12);
  });

  it('BG/NBD: x = 1, t_x = 1, T = 2: ln(13/72)', () => {
    // A1 = lnG(2) - lnG(1) = 0; A2 = lnG(2) + lnG(2) - lnG(1) - lnG(3) = -ln 2;
    // exp(A3) = 3^-2; exp(A4) = (1/1) * 2^-2 -> ln(1/2 * (1/9 + 1/4)) = ln(13/72)
    expect(bgNbdLogLikelihood(unit, { frequency: 1, recency: 1, T: 2 })).toBeCloseTo(Math.log(13 / 72), 12);
  });

  it('P(alive) for x = 1, t_x = 1, T = 2: 1 / (1 + (1/1) (3/2)^2) = 4/13', () => {
    expect(probabilityAlive(unit, { frequency: 1, recency: 1, T: 2 })).toBeCloseTo(4 / 13, 12);
  });

  it('Gamma-Gamma: p = 1, q = 2, v = 1, one repeat of value 1: the marginal density 2 / (1 + 1)^3 = 1/4', () => {
    expect(gammaGammaLogLikelihood({ p: 1, q: 2, v: 1 }, { frequency: 1, monetary: 1 })).toBeCloseTo(
      Math.log(1 / 4),
      12,
    );
  });

  it('2F1(1, 1; 2; z) = -ln(1 - z) / z', () => {
    for (const z of [0, 0.1, 0.5, 0.9, 0.99]) {
      expect(hyp2f1(1, 1, 2, z)).toBeCloseTo(z === 0 ? 1 : -Math.log(1 - z) / z, 10);
    }
  });

  it('expected purchases grow with the horizon and start at 0', () => {
    const params = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
    const c = { frequency: 2, recency: 30.43, T: 38.86 };
    expect(conditionalExpectedPurchases(params, 0, c)).toBe(0);
    expect(conditionalExpectedPurchases(params, 10, c)).toBeLessThan(
      conditionalExpectedPurchases(params, 20, c),
    );
  });

  it('discounted CLV: no discount is expected purchases times value; a discount lowers it', () => {
    const params = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
    const c = { frequency: 2, recency: 30.43, T: 38.86 };
    const expected = conditionalExpectedPurchases(params, 52, c);
    expect(
      discountedClv(params, c, 50, { horizonPeriods: 52, periodsPerMonth: 52 / 12, annualDiscountRate: 0 }),
    ).toBeCloseTo(expected * 50, 9);
    expect(
      discountedClv(params, c, 50, { horizonPeriods: 52, periodsPerMonth: 52 / 12, annualDiscountRate: 0.1 }),
    ).toBeLessThan(expected * 50);
  });

  it('a fit where nobody drops out (a, b on a flat ridge) stays finite and usable', () => {
    // weekly buyers still buying at the end: the likelihood keeps rising as a and b grow together
    const customers = Array.from({ length: 200 }, (_, i) => {
      const T = 30 + (i % 60);
      return { frequency: Math.floor(T / 7), recency: Math.floor(T / 7) * 7, T, monetary: 10 };
    });
    const fit = fitBgNbd(customers);
    for (const value of Object.values(fit)) {
      expect(value).toBeGreaterThan(1e-9);
      expect(value).toBeLessThan(1e9);
    }
    const next = conditionalExpectedPurchases(fit, 28, customers[0]!);
    expect(next).toBeGreaterThan(2);
    expect(next).toBeLessThan(6); // about 4 weekly purchases in 4 weeks
  });

  it('Nelder-Mead finds the minimum of the Rosenbrock function', () => {
    const result = nelderMead(([x, y]) => (1 - x!) ** 2 + 100 * (y! - x! ** 2) ** 2, [-1.2, 1]);
    expect(result.converged).toBe(true);
    expect(result.x[0]).toBeCloseTo(1, 4);
    expect(result.x[1]).toBeCloseTo(1, 4);
  });
});

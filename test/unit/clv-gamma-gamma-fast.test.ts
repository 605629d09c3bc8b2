import { describe, expect, it } from 'vitest';
import { gammaGammaLogLikelihood, gammaGammaNegativeMeanLl } from '../../src/transforms/clv/gamma-gamma.js';

// A deterministic spread of customers: few frequencies, repeated and distinct mean values, and
// customers without repeats (left out of the fit).
const customers = Array.from({ length: 2_000 }, (_, i) => ({
  frequency: i % 7,
  monetary: i % 5 === 0 ? 0 : Math.round(((i * 7919) % 50_000) / 3) / 100 + 1,
}));

describe('Gamma-Gamma likelihood, precomputed for the fit', () => {
  it('is exactly the mean of the per-customer log-likelihoods (same path for the optimizer)', () => {
    const grouped = gammaGammaNegativeMeanLl(customers);
    const fitted = customers.filter((c) => c.frequency > 0 && c.monetary > 0);
    for (const [p0, q0, v0] of [
      [1, 2, 1],
      [6.25, 3.74, 15.44],
      [0.05, 1.2, 300],
      [40, 12, 0.01],
      // the flat ridge a generated clickstream fits: q and v in the millions
      [1.42, 1_006_430.53, 439_562_886.9],
    ] as const) {
      // the fit works on log-parameters: compare at exactly the parameters it sees
      const logParams = [Math.log(p0), Math.log(q0), Math.log(v0)];
      const [p, q, v] = logParams.map(Math.exp) as [number, number, number];
      const direct =
        -fitted.reduce((sum, c) => sum + gammaGammaLogLikelihood({ p, q, v }, c), 0) / fitted.length;
      const fast = grouped(logParams);
      expect(fast).toBe(direct);
    }
  });
});

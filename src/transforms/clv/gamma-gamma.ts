import { minimizeWithRestarts } from './bg-nbd.js';
import type { Rfm } from './rfm.js';
import { gammaln } from './special-functions.js';

/**
 * Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV"): a customer's transaction
 * values are Gamma(p, nu) with nu ~ Gamma(q, v). Fitted on customers with repeat purchases, on the
 * mean value of those repeat purchases.
 */
export interface GammaGammaParams {
  readonly p: number;
  readonly q: number;
  readonly v: number;
}

/** The log-likelihood of one customer's (x repeat purchases, mean value m). */
export function gammaGammaLogLikelihood(
  params: GammaGammaParams,
  c: Pick<Rfm, 'frequency' | 'monetary'>,
): number {
  const { p, q, v } = params;
  const x = c.frequency;
  const m = c.monetary;
  return (
    gammaln(p * x + q) -
    gammaln(p * x) -
    gammaln(q) +
    q * Math.log(v) +
    (p * x - 1) * Math.log(m) +
    p * x * Math.log(x) -
    (p * x + q) * Math.log(x * m + v)
  );
}

export function fitGammaGamma(customers: readonly Pick<Rfm, 'frequency' | 'monetary'>[]): GammaGammaParams {
  const negativeMeanLl = gammaGammaNegativeMeanLl(customers);
  const [p, q, v] = minimizeWithRestarts(negativeMeanLl, [0, 0, 0]).map(Math.exp) as [number, number, number];
  return { p, q, v };
}

/**
 * -mean log-likelihood over the customers with repeat purchases, as a function of the
 * log-parameters: exactly the mean of gammaGammaLogLikelihood (the same operations in the same
 * order, so the optimizer takes the same path to the same parameters), but what does not depend on
 * the customer is computed once per evaluation, the log-gammas once per distinct x (a handful), and
 * log m, log x and x m once per customer: one log per customer per evaluation instead of three
 * log-gammas and four logs. The sums are not regrouped: on a flat likelihood (q and v in the
 * millions) sums of large terms would cancel and leave more rounding noise than the optimizer's
 * tolerance, which then never converges.
 */
export function gammaGammaNegativeMeanLl(
  customers: readonly Pick<Rfm, 'frequency' | 'monetary'>[],
): (logParams: readonly number[]) => number {
  const fitted = customers.filter((c) => c.frequency > 0 && c.monetary > 0);
  const distinctX = [...new Set(fitted.map((c) => c.frequency))];
  const indexOfX = new Map(distinctX.map((x, i) => [x, i]));
  const n = fitted.length;
  const xs = new Float64Array(n);
  const xIndex = new Int32Array(n);
  const logM = new Float64Array(n);
  const logX = new Float64Array(n);
  const xm = new Float64Array(n);
  fitted.forEach((c, i) => {
    xs[i] = c.frequency;
    xIndex[i] = indexOfX.get(c.frequency)!;
    logM[i] = Math.log(c.monetary);
    logX[i] = Math.log(c.frequency);
    xm[i] = c.frequency * c.monetary;
  });
  const head = new Float64Array(distinctX.length);
  return (logParams) => {
    const [p, q, v] = logParams.map(Math.exp) as [number, number, number];
    const qLogV = q * Math.log(v);
    const gammalnQ = gammaln(q);
    // gammaln(p x + q) - gammaln(p x) - gammaln(q) + q log(v), per distinct x
    distinctX.forEach((x, i) => {
      head[i] = gammaln(p * x + q) - gammaln(p * x) - gammalnQ + qLogV;
    });
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const px = p * xs[i]!;
      sum += head[xIndex[i]!]! + (px - 1) * logM[i]! + px * logX[i]! - (px + q) * Math.log(xm[i]! + v);
    }
    return -sum / n;
  };
}

/** E[mean transaction value | x, m]: a weighted average of the population mean and the customer's. */
export function conditionalExpectedAverageValue(
  params: GammaGammaParams,
  c: Pick<Rfm, 'frequency' | 'monetary'>,
): number {
  const { p, q, v } = params;
  const x = c.frequency;
  return (p * (v + x * c.monetary)) / (p * x + q - 1);
}

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
  const fitted = customers.filter((c) => c.frequency > 0 && c.monetary > 0);
  const negativeMeanLl = (logParams: readonly number[]) => {
    const [p, q, v] = logParams.map(Math.exp) as [number, number, number];
    let sum = 0;
    for (const c of fitted) sum += gammaGammaLogLikelihood({ p, q, v }, c);
    return -sum / fitted.length;
  };
  const [p, q, v] = minimizeWithRestarts(negativeMeanLl, [0, 0, 0]).map(Math.exp) as [number, number, number];
  return { p, q, v };
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

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
 * each customer's term once per distinct (x, m): customers sharing a history share the term's
 * value bit for bit, and whole cents make a third as many histories as customers (4.5k of 12.7k on
 * 5M generated events), so one log per distinct history per evaluation instead of three log-gammas
 * and four logs per customer. The sum is still taken customer by customer, in their order: on a
 * flat likelihood (q and v in the millions) regrouped sums of large terms would cancel and leave
 * more rounding noise than the optimizer's tolerance, which then never converges.
 */
export function gammaGammaNegativeMeanLl(
  customers: readonly Pick<Rfm, 'frequency' | 'monetary'>[],
): (logParams: readonly number[]) => number {
  const fitted = customers.filter((c) => c.frequency > 0 && c.monetary > 0);
  const distinctX = [...new Set(fitted.map((c) => c.frequency))];
  const indexOfX = new Map(distinctX.map((x, i) => [x, i]));
  // the distinct (x, m) histories, in order of their first customer, and each customer's history
  const indexOfHistory = new Map<string, number>();
  const histories: Pick<Rfm, 'frequency' | 'monetary'>[] = [];
  const n = fitted.length;
  const historyOf = new Int32Array(n);
  fitted.forEach((c, i) => {
    const key = `${c.frequency}|${c.monetary}`;
    let index = indexOfHistory.get(key);
    if (index === undefined) {
      index = histories.length;
      indexOfHistory.set(key, index);
      histories.push(c);
    }
    historyOf[i] = index;
  });
  const h = histories.length;
  const xs = new Float64Array(h);
  const xIndex = new Int32Array(h);
  const logM = new Float64Array(h);
  const logX = new Float64Array(h);
  const xm = new Float64Array(h);
  histories.forEach((c, i) => {
    xs[i] = c.frequency;
    xIndex[i] = indexOfX.get(c.frequency)!;
    logM[i] = Math.log(c.monetary);
    logX[i] = Math.log(c.frequency);
    xm[i] = c.frequency * c.monetary;
  });
  const head = new Float64Array(distinctX.length);
  const term = new Float64Array(h);
  return (logParams) => {
    const [p, q, v] = logParams.map(Math.exp) as [number, number, number];
    const qLogV = q * Math.log(v);
    const gammalnQ = gammaln(q);
    // gammaln(p x + q) - gammaln(p x) - gammaln(q) + q log(v), per distinct x
    distinctX.forEach((x, i) => {
      head[i] = gammaln(p * x + q) - gammaln(p * x) - gammalnQ + qLogV;
    });
    for (let i = 0; i < h; i++) {
      const px = p * xs[i]!;
      term[i] = head[xIndex[i]!]! + (px - 1) * logM[i]! + px * logX[i]! - (px + q) * Math.log(xm[i]! + v);
    }
    let sum = 0;
    for (let i = 0; i < n; i++) sum += term[historyOf[i]!]!;
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

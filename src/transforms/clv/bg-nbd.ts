import { nelderMead } from './nelder-mead.js';
import type { Rfm } from './rfm.js';
import { hyp2f1, logAddExp, logRising } from './special-functions.js';

/**
 * BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): while alive, a
 * customer buys as a Poisson process with rate lambda ~ Gamma(r, alpha); after each purchase they
 * drop out with probability p ~ Beta(a, b).
 */
export interface BgNbdParams {
  readonly r: number;
  readonly alpha: number;
  readonly a: number;
  readonly b: number;
}

/** The log-likelihood of one customer's (frequency x, recency t_x, T): equation (6) of the paper. */
export function bgNbdLogLikelihood(params: BgNbdParams, c: Pick<Rfm, 'frequency' | 'recency' | 'T'>): number {
  const { r, alpha, a, b } = params;
  const x = c.frequency;
  const a1 = logRising(r, x) + r * Math.log(alpha);
  const a2 = logRising(b, x) - logRising(a + b, x);
  const a3 = -(r + x) * Math.log(alpha + c.T);
  const a4 = x > 0 ? Math.log(a) - Math.log(b + x - 1) - (r + x) * Math.log(alpha + c.recency) : -Infinity;
  return a1 + a2 + logAddExp(a3, a4);
}

/**
 * Maximum-likelihood fit (Nelder-Mead on the log of the parameters, so they stay positive).
 * Customers with the same (frequency, recency, T) have the same likelihood: each distinct triple is
 * evaluated once and weighted by its count (whole days make few distinct triples).
 */
export function fitBgNbd(customers: readonly Rfm[]): BgNbdParams {
  return fitBgNbdGrouped(groupHistories(customers), customers.length);
}

/** Customers sharing one (frequency, recency, T): one history and how many have it. */
export interface BgNbdHistoryGroup {
  readonly c: Pick<Rfm, 'frequency' | 'recency' | 'T'>;
  n: number;
}

/** The customers' distinct (frequency, recency, T), each with its count, in order of first customer. */
export function groupHistories<C extends Pick<Rfm, 'frequency' | 'recency' | 'T'>>(
  customers: readonly C[],
): { c: C; n: number }[] {
  const groups = new Map<string, { c: C; n: number }>();
  for (const c of customers) {
    const key = `${c.frequency}|${c.recency}|${c.T}`;
    const group = groups.get(key);
    if (group) group.n++;
    else groups.set(key, { c, n: 1 });
  }
  return [...groups.values()];
}

/**
 * The fit from the distinct histories and their counts (in the order of their first customer, as
 * fitBgNbd forms them: the same sum in the same order, so the same parameters), `customers` in all.
 */
export function fitBgNbdGrouped(distinct: readonly BgNbdHistoryGroup[], customers: number): BgNbdParams {
  const negativeMeanLl = (logParams: readonly number[]) => {
    const [r, alpha, a, b] = logParams.map(Math.exp) as [number, number, number, number];
    let sum = 0;
    for (const { c, n } of distinct) sum += n * bgNbdLogLikelihood({ r, alpha, a, b }, c);
    return -sum / customers;
  };
  const [r, alpha, a, b] = minimizeWithRestarts(negativeMeanLl, [0, 0, 0, 0]).map(Math.exp) as [
    number,
    number,
    number,
    number,
  ];
  return { r, alpha, a, b };
}

/** P(alive | x, t_x, T): equation (11) of the paper (the appendix's note). */
export function probabilityAlive(params: BgNbdParams, c: Pick<Rfm, 'frequency' | 'recency' | 'T'>): number {
  const { r, alpha, a, b } = params;
  const x = c.frequency;
  if (x === 0) return 1;
  const logRatio =
    Math.log(a) - Math.log(b + x - 1) + (r + x) * Math.log((alpha + c.T) / (alpha + c.recency));
  return 1 / (1 + Math.exp(logRatio));
}

/**
 * Expected purchases in the next t time units given the history: equation (10) of the paper.
 * Analytic in a except at a = 1, where the (a - 1) factors cancel; the fit never lands exactly there.
 */
export function conditionalExpectedPurchases(
  params: BgNbdParams,
  t: number,
  c: Pick<Rfm, 'frequency' | 'recency' | 'T'>,
): number {
  const { r, alpha, a, b } = params;
  const x = c.frequency;
  if (t <= 0) return 0;
  if (a === 1) throw new RangeError('BG/NBD expected purchases: a = 1 exactly is a removable singularity');
  const hyp = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + c.T + t));
  const first = ((a + b + x - 1) / (a - 1)) * (1 - ((alpha + c.T) / (alpha + c.T + t)) ** (r + x) * hyp);
  const denominator = 1 + (x > 0 ? (a / (b + x - 1)) * ((alpha + c.T) / (alpha + c.recency)) ** (r + x) : 0);
  return first / denominator;
}

/**
 * Log-parameters are kept within +-LOG_BOUND (parameters between 2e-9 and 5e8): beyond that the
 * likelihood is flat to double precision (e.g. a and b growing together when nobody drops out),
 * and unbounded walks end in underflow (alpha = 5e-324) that breaks the predictions.
 */
const LOG_BOUND = 20;

/** Nelder-Mead within the bounds, restarted from its own result until the value stops improving. */
export function minimizeWithRestarts(
  objective: (x: readonly number[]) => number,
  start: readonly number[],
): number[] {
  const f = (x: readonly number[]) =>
    x.every((xi) => Math.abs(xi) <= LOG_BOUND) ? objective(x) : Number.POSITIVE_INFINITY;
  let best = nelderMead(f, start);
  for (let i = 0; i < 3; i++) {
    const again = nelderMead(f, best.x, { step: 0.1 });
    const improved = best.value - again.value > 1e-10 * Math.abs(best.value);
    best = again.value <= best.value ? again : best;
    if (!improved) break;
  }
  return [...best.x];
}

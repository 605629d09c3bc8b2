import { type BgNbdParams, conditionalExpectedPurchases } from './bg-nbd.js';
import type { Rfm } from './rfm.js';

export interface DiscountOptions {
  /** The horizon in the model's time unit (days in the marts). */
  readonly horizonPeriods: number;
  /** Time units per month (365.25 / 12 for days). */
  readonly periodsPerMonth: number;
  /** Annual discount rate, e.g. 0.1 for 10% a year; 0 for none. */
  readonly annualDiscountRate: number;
}

/**
 * CLV over the horizon, discounted: the purchases expected in each month of the horizon (BG/NBD,
 * as differences of cumulative expectations) times the expected value per purchase, each month
 * discounted at the monthly rate equivalent to the annual one, paid at the end of the month.
 * The last month may be partial.
 */
export function discountedClv(
  params: BgNbdParams,
  customer: Pick<Rfm, 'frequency' | 'recency' | 'T'>,
  expectedValue: number,
  options: DiscountOptions,
  /** Expected purchases by time t (the BG/NBD's own by default): lets a caller reuse them per history. */
  cumulativePurchases: (t: number) => number = (t) => conditionalExpectedPurchases(params, t, customer),
): number {
  const monthlyRate = (1 + options.annualDiscountRate) ** (1 / 12) - 1;
  let total = 0;
  let previous = 0;
  for (let month = 1; (month - 1) * options.periodsPerMonth < options.horizonPeriods; month++) {
    const t = Math.min(month * options.periodsPerMonth, options.horizonPeriods);
    const cumulative = cumulativePurchases(t);
    total += ((cumulative - previous) * expectedValue) / (1 + monthlyRate) ** (t / options.periodsPerMonth);
    previous = cumulative;
  }
  return total;
}

import {
  type BgNbdHistoryGroup,
  type BgNbdParams,
  conditionalExpectedPurchases,
  fitBgNbdGrouped,
  groupHistories,
  probabilityAlive,
} from './bg-nbd.js';
import { discountedClv } from './discounted-clv.js';
import { conditionalExpectedAverageValue, fitGammaGamma, type GammaGammaParams } from './gamma-gamma.js';
import type { Rfm } from './rfm.js';

/** Days per month, for horizons in months over histories in days. */
export const DAYS_PER_MONTH = 365.25 / 12;
/** Gamma-Gamma needs repeat purchases to learn spend from. */
export const MIN_REPEAT_CUSTOMERS = 10;

export interface CustomerRfm extends Rfm {
  readonly user_key: string;
  /** Why the customer is left out of the fit (fraud, bot, currency), or null. */
  readonly excluded_reason: string | null;
}

export interface ClvModelOptions {
  readonly horizonMonths: number;
  readonly annualDiscountRate: number;
  readonly minCustomers: number;
}

/**
 * `fitted`: predictions from the model; `too_few_customers` / `fit_failed`: no predictions for
 * anyone (NULLs); the exclusion reasons: no predictions for that customer.
 */
export type ClvStatus = 'fitted' | 'too_few_customers' | 'fit_failed' | string;

export interface ClvPrediction {
  readonly user_key: string;
  readonly clv_status: ClvStatus;
  readonly predicted_purchases: number | null;
  readonly probability_alive: number | null;
  readonly expected_avg_value: number | null;
  readonly predicted_clv: number | null;
}

export interface ClvFit {
  readonly bgNbd: BgNbdParams | null;
  readonly gammaGamma: GammaGammaParams | null;
  readonly fittedCustomers: number;
  readonly status: 'fitted' | 'too_few_customers' | 'fit_failed';
  readonly predictions: readonly ClvPrediction[];
}

/** Fits both models on the customers not excluded, then predicts for each of them (times in days). */
export function fitAndPredict(customers: readonly CustomerRfm[], options: ClvModelOptions): ClvFit {
  const fittable = customers.filter((c) => c.excluded_reason === null);
  const none = (user_key: string, status: string): ClvPrediction => ({
    user_key,
    clv_status: status,
    predicted_purchases: null,
    probability_alive: null,
    expected_avg_value: null,
    predicted_clv: null,
  });
  const without = (status: 'too_few_customers' | 'fit_failed'): ClvFit => ({
    bgNbd: null,
    gammaGamma: null,
    fittedCustomers: fittable.length,
    status,
    predictions: customers.map((c) => none(c.user_key, c.excluded_reason ?? status)),
  });
  const models = fitClvModels(customers, options.minCustomers);
  if (models.status !== 'fitted') return without(models.status);
  const { bgNbd, gammaGamma } = models;
  // Predictions depend on (frequency, recency, T, monetary) alone, and whole days make few distinct
  // ones: each is computed once (the same pure functions, so the same figures).
  const byHistory = new Map<string, HistoryFigures>();
  const byTriple: TripleCache = new Map();
  const predictions = customers.map((c): ClvPrediction => {
    if (c.excluded_reason !== null) return none(c.user_key, c.excluded_reason);
    const key = `${c.frequency}|${c.recency}|${c.T}|${c.monetary}`;
    let figures = byHistory.get(key);
    if (!figures) {
      figures = predictHistory(models, options, c, byTriple);
      byHistory.set(key, figures);
    }
    return { user_key: c.user_key, ...figures };
  });
  return { bgNbd, gammaGamma, fittedCustomers: fittable.length, status: 'fitted', predictions };
}

/** A fitted customer's figures: a function of their history alone. */
export type HistoryFigures = Omit<ClvPrediction, 'user_key'>;

/** What depends on (frequency, recency, T) alone, kept per triple across histories. */
export type TripleCache = Map<
  string,
  { readonly probabilityAlive: number; readonly expected: Map<number, number> }
>;

/**
 * The predictions of one history: expected purchases over the horizon, P(alive), expected spend and
 * the discounted CLV. The BG/NBD's expectations (a hypergeometric series each) depend on the
 * (frequency, recency, T) triple only and are kept in `cache` for the histories sharing it: the
 * same calls with the same arguments, so the same figures as without the cache.
 */
export function predictHistory(
  models: { readonly bgNbd: BgNbdParams; readonly gammaGamma: GammaGammaParams },
  options: ClvModelOptions,
  c: Rfm,
  cache: TripleCache,
): HistoryFigures {
  const { bgNbd, gammaGamma } = models;
  const horizonDays = options.horizonMonths * DAYS_PER_MONTH;
  const tripleKey = `${c.frequency}|${c.recency}|${c.T}`;
  let triple = cache.get(tripleKey);
  if (!triple) {
    triple = { probabilityAlive: probabilityAlive(bgNbd, c), expected: new Map() };
    cache.set(tripleKey, triple);
  }
  const { expected } = triple;
  const cumulative = (t: number): number => {
    let value = expected.get(t);
    if (value === undefined) {
      value = conditionalExpectedPurchases(bgNbd, t, c);
      expected.set(t, value);
    }
    return value;
  };
  const expectedValue = conditionalExpectedAverageValue(gammaGamma, c);
  return {
    clv_status: 'fitted',
    predicted_purchases: cumulative(horizonDays),
    probability_alive: triple.probabilityAlive,
    expected_avg_value: expectedValue,
    predicted_clv: discountedClv(
      bgNbd,
      c,
      expectedValue,
      {
        horizonPeriods: horizonDays,
        periodsPerMonth: DAYS_PER_MONTH,
        annualDiscountRate: options.annualDiscountRate,
      },
      cumulative,
    ),
  };
}

export type FittedModels =
  | { readonly status: 'fitted'; readonly bgNbd: BgNbdParams; readonly gammaGamma: GammaGammaParams }
  | { readonly status: 'too_few_customers' | 'fit_failed' };

/** Both models on the customers not excluded: too few customers, a failed fit, or the parameters. */
export function fitClvModels(customers: readonly CustomerRfm[], minCustomers: number): FittedModels {
  const fittable = customers.filter((c) => c.excluded_reason === null);
  return fitClvModelsFrom(
    {
      fittable: fittable.length,
      histories: groupHistories(fittable),
      repeat: fittable.filter((c) => c.frequency > 0 && c.monetary > 0),
    },
    minCustomers,
  );
}

/** What the fit reads: how many customers are fitted, their distinct histories, the repeat buyers. */
export interface ClvFitInput {
  readonly fittable: number;
  /** Distinct (frequency, recency, T) with their counts, in the order of their first customer. */
  readonly histories: readonly BgNbdHistoryGroup[];
  /** The customers with repeat purchases and money (frequency > 0, monetary > 0), in customer order. */
  readonly repeat: readonly Pick<Rfm, 'frequency' | 'monetary'>[];
}

/** Both models from a summary of the customers: the fit of fitClvModels on those customers. */
export function fitClvModelsFrom(input: ClvFitInput, minCustomers: number): FittedModels {
  if (input.fittable < minCustomers || input.repeat.length < MIN_REPEAT_CUSTOMERS)
    return { status: 'too_few_customers' };
  const bgNbd = fitBgNbdGrouped(input.histories, input.fittable);
  const gammaGamma = fitGammaGamma(input.repeat);
  // a = 1 is the BG/NBD formula's singularity; q <= 1 leaves the expected spend without a mean
  const finite = [bgNbd.r, bgNbd.alpha, bgNbd.a, bgNbd.b, gammaGamma.p, gammaGamma.q, gammaGamma.v].every(
    Number.isFinite,
  );
  if (!finite || bgNbd.a === 1 || gammaGamma.q <= 1) return { status: 'fit_failed' };
  return { status: 'fitted', bgNbd, gammaGamma };
}

import { CLV_BACKTESTS, CLV_BACKTESTS_TABLE } from '../../catalog/tables/clv-backtests.js';
import { RAW_EVENTS } from '../../catalog/tables/raw-events.js';
import type { Config } from '../../config/config-schema.js';
import { loadSql } from '../../engine/sql-files.js';
import { dataError, usageError } from '../../errors.js';
import { appendRows } from '../../lake/table/append-rows.js';
import type { Lake } from '../../lake/table/lake.js';
import { type BgNbdParams, conditionalExpectedPurchases } from './bg-nbd.js';
import { type CustomerRfm, fitClvModels } from './predict.js';

/** Customers are grouped by their calibration repeat purchases: 0, 1, ..., 6 and "7+". */
const TOP_GROUP = 7;

export interface BacktestOptions {
  /** Start of the holdout (a UTC date): the model is fitted on the purchases before it. */
  readonly until: Date;
  readonly config: Config['marts']['clv'];
  /** The currency the model is fitted in (clvCurrency of the config). */
  readonly currency: string;
  readonly runId: string;
  /** Record the result in the lake's clv_backtests table (for the HTML report). Default true. */
  readonly record?: boolean;
}

export interface BacktestGroup {
  /** Repeat purchases in the calibration period: "0" ... "6", "7+". */
  readonly calibrationFrequency: string;
  readonly customers: number;
  readonly predictedMean: number;
  readonly actualMean: number;
}

export interface BacktestResult {
  readonly until: string;
  /** The last day of data: the holdout is [until, endDay], holdoutDays long. */
  readonly endDay: string;
  readonly holdoutDays: number;
  readonly customers: number;
  readonly bgNbd: BgNbdParams;
  /** Mean absolute and root-mean-square error of predicted vs actual holdout purchases per customer. */
  readonly mae: number;
  readonly rmse: number;
  readonly predictedTotal: number;
  readonly actualTotal: number;
  /** (predicted - actual) / actual over all customers; null when nobody bought in the holdout. */
  readonly aggregateError: number | null;
  readonly groups: readonly BacktestGroup[];
}

/**
 * Calibration/holdout check of the purchase model: fit BG/NBD on the purchases before `until`
 * (same exclusions as the marts: fraud-flagged and bot users, other currencies), predict each
 * customer's purchase days in [until, last day of data] and compare with what they did.
 */
export async function backtestClv(lake: Lake, options: BacktestOptions): Promise<BacktestResult> {
  const raw = lake.table(RAW_EVENTS);
  if (!(await raw.exists()))
    throw dataError('NO_RAW_EVENTS', 'the lake has no raw_events table yet', {
      suggestions: ['run shopstream ingest first'],
    });
  const db = lake.db;
  await raw.register('raw_events');
  await db.run(loadSql('macros/event_value'));
  const flags = lake.table('fraud_flags');
  if (await flags.exists()) {
    await flags.register('fraud_flags');
    await db.run(
      'CREATE OR REPLACE TEMP VIEW clv_backtest_flagged AS SELECT DISTINCT user_id FROM fraud_flags',
    );
  } else {
    await db.run(
      'CREATE OR REPLACE TEMP VIEW clv_backtest_flagged AS SELECT CAST(NULL AS VARCHAR) AS user_id WHERE false',
    );
  }
  await db.run(`CREATE OR REPLACE TEMP TABLE clv_orders AS ${loadSql('clv/backtest_orders')}`, {
    currency: options.currency,
  });
  const [span] = await db.all<{ first_day: string | null; end_day: string | null }>(
    `SELECT CAST(CAST(min(ordered_at) AS DATE) AS VARCHAR) AS first_day,
            (SELECT CAST(CAST(max(event_time) AS DATE) AS VARCHAR) FROM raw_events) AS end_day
     FROM clv_orders`,
  );
  const until = options.until.toISOString().slice(0, 10);
  if (!span?.first_day || !span.end_day || until <= span.first_day || until > span.end_day) {
    throw usageError(
      'BAD_UNTIL',
      `--until ${until} must fall after the first purchase and on or before the last day of data (${span?.first_day ?? 'no purchases'} .. ${span?.end_day ?? 'no events'})`,
    );
  }
  const dayMs = 86_400_000;
  const calibrationEnd = new Date(Date.parse(until) - dayMs).toISOString().slice(0, 10);
  const holdoutDays = (Date.parse(span.end_day) - Date.parse(until)) / dayMs + 1;
  const calibration = await db.all<CustomerRfm & { customer_id: string }>(
    `SELECT customer_id, frequency, recency, "T", monetary, CAST(NULL AS VARCHAR) AS excluded_reason FROM (${loadSql('clv/rfm_summary')})`,
    { observation_end: calibrationEnd, period_days: '1' },
  );
  const holdout = await db.all<{ customer_id: string; actual: number }>(loadSql('clv/backtest_holdout'), {
    until,
  });
  await db.run('DROP TABLE clv_orders');
  const models = fitClvModels(calibration, options.config.minCustomers);
  if (models.status !== 'fitted') {
    throw dataError(
      'CLV_NOT_FITTED',
      models.status === 'too_few_customers'
        ? `too few customers before ${until} to fit the model (${calibration.length}; marts.clv.minCustomers is ${options.config.minCustomers}, and 10 need repeat purchases)`
        : `the model could not be fitted on the purchases before ${until}`,
      { suggestions: ['choose a later --until'] },
    );
  }
  const actual = new Map(holdout.map((h) => [h.customer_id, h.actual]));
  const pairs = calibration.map((c) => ({
    frequency: c.frequency,
    predicted: conditionalExpectedPurchases(models.bgNbd, holdoutDays, c),
    actual: actual.get(c.customer_id) ?? 0,
  }));
  const result = summarize(until, span.end_day, holdoutDays, models.bgNbd, pairs);
  if (options.record ?? true) await recordBacktest(lake, result, options.runId);
  return result;
}

function summarize(
  until: string,
  endDay: string,
  holdoutDays: number,
  bgNbd: BgNbdParams,
  pairs: readonly { frequency: number; predicted: number; actual: number }[],
): BacktestResult {
  const n = pairs.length;
  const predictedTotal = pairs.reduce((s, p) => s + p.predicted, 0);
  const actualTotal = pairs.reduce((s, p) => s + p.actual, 0);
  const groups = new Map<string, { customers: number; predicted: number; actual: number }>();
  for (const p of pairs) {
    const key = p.frequency >= TOP_GROUP ? `${TOP_GROUP}+` : String(p.frequency);
    const g = groups.get(key) ?? { customers: 0, predicted: 0, actual: 0 };
    g.customers++;
    g.predicted += p.predicted;
    g.actual += p.actual;
    groups.set(key, g);
  }
  return {
    until,
    endDay,
    holdoutDays,
    customers: n,
    bgNbd,
    mae: pairs.reduce((s, p) => s + Math.abs(p.predicted - p.actual), 0) / n,
    rmse: Math.sqrt(pairs.reduce((s, p) => s + (p.predicted - p.actual) ** 2, 0) / n),
    predictedTotal,
    actualTotal,
    aggregateError: actualTotal > 0 ? (predictedTotal - actualTotal) / actualTotal : null,
    groups: [...groups.entries()]
      .sort(([a], [b]) => Number.parseInt(a, 10) - Number.parseInt(b, 10))
      .map(([key, g]) => ({
        calibrationFrequency: key,
        customers: g.customers,
        predictedMean: g.predicted / g.customers,
        actualMean: g.actual / g.customers,
      })),
  };
}

async function recordBacktest(lake: Lake, result: BacktestResult, runId: string): Promise<void> {
  const common = {
    run_id: runId,
    ran_at: new Date().toISOString(),
    until: result.until,
    end_day: result.endDay,
  };
  await appendRows(
    lake,
    CLV_BACKTESTS,
    CLV_BACKTESTS_TABLE.definition,
    [
      ...result.groups.map((g) => ({
        ...common,
        calibration_frequency: g.calibrationFrequency,
        customers: g.customers,
        predicted_mean: g.predictedMean,
        actual_mean: g.actualMean,
        mae: null,
        rmse: null,
      })),
      {
        ...common,
        calibration_frequency: 'all',
        customers: result.customers,
        predicted_mean: result.predictedTotal / result.customers,
        actual_mean: result.actualTotal / result.customers,
        mae: result.mae,
        rmse: result.rmse,
      },
    ],
    { commitProperties: { runId } },
  );
}

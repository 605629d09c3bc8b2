import type { Config } from '../../config/config-schema.js';
import type { DuckDb } from '../../engine/duckdb.js';
import type { BgNbdHistoryGroup } from './bg-nbd.js';
import {
  type FittedModels,
  fitClvModelsFrom,
  type HistoryFigures,
  predictHistory,
  type TripleCache,
} from './predict.js';

/** What the build's CLV step fitted (the predictions themselves are in int_customer_clv_predictions). */
export interface ClvBuildFit {
  readonly status: FittedModels['status'];
  readonly fittedCustomers: number;
  /** Distinct fitted histories (frequency, recency, T, monetary): one prediction each. */
  readonly histories: number;
}

/**
 * The build's CLV step: fits BG/NBD and Gamma-Gamma on the customers of int_customer_rfm not
 * excluded and writes int_customer_clv_predictions (one row per customer) for the customer_ltv
 * model. The same fit and the same figures as `fitAndPredict` over every customer (ordered by
 * user_key), without carrying every customer through JavaScript: the database hands over what the
 * likelihoods read (the distinct (frequency, recency, T) with their counts, in the order of their
 * first customer; the repeat buyers' frequency and monetary, in customer order), the predictions
 * are computed once per distinct history, and SQL joins them back to the customers. Money is
 * rounded to cents, so that a rebuild writes the same figures.
 */
export async function writeClvPredictions(db: DuckDb, config: Config['marts']['clv']): Promise<ClvBuildFit> {
  const [counts] = await db.all<{ fittable: string }>(
    'SELECT count(*) AS fittable FROM int_customer_rfm WHERE excluded_reason IS NULL',
  );
  const histories = (
    await db.connection.runAndReadAll(
      `SELECT frequency, recency, "T", count(*) AS n
       FROM int_customer_rfm WHERE excluded_reason IS NULL
       GROUP BY frequency, recency, "T" ORDER BY min(user_key)`,
    )
  ).getColumnsObject();
  const repeat = (
    await db.connection.runAndReadAll(
      `SELECT frequency, monetary FROM int_customer_rfm
       WHERE excluded_reason IS NULL AND frequency > 0 AND monetary > 0 ORDER BY user_key`,
    )
  ).getColumnsObject();
  const groups: BgNbdHistoryGroup[] = (histories.frequency ?? []).map((frequency, i) => ({
    c: {
      frequency: frequency as number,
      recency: histories.recency![i] as number,
      T: histories.T![i] as number,
    },
    n: Number(histories.n![i]),
  }));
  const models = fitClvModelsFrom(
    {
      fittable: Number(counts?.fittable ?? 0),
      histories: groups,
      repeat: (repeat.frequency ?? []).map((frequency, i) => ({
        frequency: frequency as number,
        monetary: repeat.monetary![i] as number,
      })),
    },
    config.minCustomers,
  );

  await db.run(
    `CREATE OR REPLACE TEMP TABLE __clv_histories (
       frequency DOUBLE, recency DOUBLE, "T" DOUBLE, monetary DOUBLE, predicted_purchases DOUBLE,
       probability_alive DOUBLE, expected_avg_value DOUBLE, predicted_clv DOUBLE)`,
  );
  let distinct = 0;
  if (models.status === 'fitted') {
    const fitted = (
      await db.connection.runAndReadAll(
        'SELECT DISTINCT frequency, recency, "T", monetary FROM int_customer_rfm WHERE excluded_reason IS NULL',
      )
    ).getColumnsObject();
    const appender = await db.connection.createAppender('__clv_histories', 'main', 'temp');
    // NULL for no figure, and for a non-finite one (as the JSON this replaced wrote it)
    const appendNumber = (value: number | null) =>
      value === null || !Number.isFinite(value) ? appender.appendNull() : appender.appendDouble(value);
    const cache: TripleCache = new Map();
    distinct = fitted.frequency?.length ?? 0;
    for (let i = 0; i < distinct; i++) {
      const history = {
        frequency: fitted.frequency![i] as number,
        recency: fitted.recency![i] as number,
        T: fitted.T![i] as number,
        monetary: fitted.monetary![i] as number,
      };
      const figures: HistoryFigures = predictHistory(models, config, history, cache);
      appendNumber(history.frequency);
      appendNumber(history.recency);
      appendNumber(history.T);
      appendNumber(history.monetary);
      appendNumber(figures.predicted_purchases);
      appendNumber(figures.probability_alive);
      appendNumber(figures.expected_avg_value);
      appendNumber(figures.predicted_clv);
      appender.endRow();
    }
    appender.closeSync();
  }
  // every customer: the figures of their history when fitted, else why not (excluded, or no fit).
  // A fitted history has no NULL (a NULL monetary means several currencies: excluded), so an
  // equi-join on the four figures finds it.
  await db.run(
    `CREATE OR REPLACE TEMP TABLE int_customer_clv_predictions AS
     SELECT r.user_key, coalesce(r.excluded_reason, $status) AS clv_status,
            CAST($horizon AS DOUBLE) AS prediction_horizon_months,
            h.predicted_purchases, h.probability_alive,
            CAST(h.expected_avg_value AS DECIMAL(18, 2)) AS expected_avg_value,
            CAST(h.predicted_clv AS DECIMAL(18, 2)) AS predicted_clv
     FROM int_customer_rfm AS r
     LEFT JOIN __clv_histories AS h USING (frequency, recency, "T", monetary)
     WHERE r.excluded_reason IS NULL
     UNION ALL
     SELECT user_key, excluded_reason, CAST($horizon AS DOUBLE), NULL, NULL, NULL, NULL
     FROM int_customer_rfm WHERE excluded_reason IS NOT NULL`,
    { horizon: String(config.horizonMonths), status: models.status },
  );
  await db.run('DROP TABLE __clv_histories');
  return { status: models.status, fittedCustomers: Number(counts?.fittable ?? 0), histories: distinct };
}

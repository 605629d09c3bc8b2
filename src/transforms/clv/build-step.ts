import type { Config } from '../../config/config-schema.js';
import type { DuckDb } from '../../engine/duckdb.js';
import { type ClvFit, type CustomerRfm, fitAndPredict } from './predict.js';

/**
 * The build's CLV step: reads int_customer_rfm (every customer), fits BG/NBD and Gamma-Gamma on
 * those not excluded and writes int_customer_clv_predictions (one row per customer) for the
 * customer_ltv model. Money is rounded to cents, so that a rebuild writes the same figures. The
 * predictions go in through an appender (as doubles, then cast): a JSON text of every customer
 * cost more than the fit.
 */
export async function writeClvPredictions(db: DuckDb, config: Config['marts']['clv']): Promise<ClvFit> {
  const customers = await db.all<CustomerRfm>(
    'SELECT user_key, frequency, recency, "T", monetary, excluded_reason FROM int_customer_rfm ORDER BY user_key',
  );
  const fit = fitAndPredict(customers, config);
  await db.run(
    `CREATE OR REPLACE TEMP TABLE __clv_predictions (
       user_key VARCHAR, clv_status VARCHAR, predicted_purchases DOUBLE, probability_alive DOUBLE,
       expected_avg_value DOUBLE, predicted_clv DOUBLE)`,
  );
  const appender = await db.connection.createAppender('__clv_predictions', 'main', 'temp');
  // NULL for no figure, and for a non-finite one (as the JSON this replaced wrote it)
  const appendNumber = (value: number | null) =>
    value === null || !Number.isFinite(value) ? appender.appendNull() : appender.appendDouble(value);
  for (const p of fit.predictions) {
    appender.appendVarchar(p.user_key);
    appender.appendVarchar(p.clv_status);
    appendNumber(p.predicted_purchases);
    appendNumber(p.probability_alive);
    appendNumber(p.expected_avg_value);
    appendNumber(p.predicted_clv);
    appender.endRow();
  }
  appender.closeSync();
  await db.run(
    `CREATE OR REPLACE TEMP TABLE int_customer_clv_predictions AS
     SELECT user_key, clv_status, CAST($horizon AS DOUBLE) AS prediction_horizon_months,
            predicted_purchases, probability_alive,
            CAST(expected_avg_value AS DECIMAL(18, 2)) AS expected_avg_value,
            CAST(predicted_clv AS DECIMAL(18, 2)) AS predicted_clv
     FROM __clv_predictions`,
    { horizon: String(config.horizonMonths) },
  );
  await db.run('DROP TABLE __clv_predictions');
  return fit;
}

import type { Config } from '../../config/config-schema.js';
import type { DuckDb } from '../../engine/duckdb.js';
import { type ClvFit, type CustomerRfm, fitAndPredict } from './predict.js';

/** The columns of int_customer_clv_predictions, as DuckDB types for from_json. */
const PREDICTION_COLUMNS = {
  user_key: 'VARCHAR',
  clv_status: 'VARCHAR',
  predicted_purchases: 'DOUBLE',
  probability_alive: 'DOUBLE',
  expected_avg_value: 'DOUBLE',
  predicted_clv: 'DOUBLE',
} as const;

/**
 * The build's CLV step: reads int_customer_rfm (every customer), fits BG/NBD and Gamma-Gamma on
 * those not excluded and writes int_customer_clv_predictions (one row per customer) for the
 * customer_ltv model. Money is rounded to cents, so that a rebuild writes the same figures.
 */
export async function writeClvPredictions(db: DuckDb, config: Config['marts']['clv']): Promise<ClvFit> {
  const customers = await db.all<CustomerRfm>(
    'SELECT user_key, frequency, recency, "T", monetary, excluded_reason FROM int_customer_rfm ORDER BY user_key',
  );
  const fit = fitAndPredict(customers, config);
  const type = JSON.stringify([PREDICTION_COLUMNS]);
  await db.run(
    `CREATE OR REPLACE TEMP TABLE int_customer_clv_predictions AS
     SELECT user_key, clv_status, CAST($horizon AS DOUBLE) AS prediction_horizon_months,
            predicted_purchases, probability_alive,
            CAST(expected_avg_value AS DECIMAL(18, 2)) AS expected_avg_value,
            CAST(predicted_clv AS DECIMAL(18, 2)) AS predicted_clv
     FROM (SELECT unnest(from_json($rows, $type), recursive := true))`,
    { rows: JSON.stringify(fit.predictions), type, horizon: String(config.horizonMonths) },
  );
  return fit;
}

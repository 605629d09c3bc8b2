import type { MartTable } from '../table-definition.js';

/**
 * The marts, in build order: build-marts writes them from their SQL models (sql/marts/<name>.sql
 * holds the columns, the partitioning and the grain) and `load` moves them by default. A unit test
 * keeps this list equal to the models materialized as Delta tables.
 */
export const MART_NAMES = [
  'fraud_user_minute',
  'sessions',
  'fraud_flags',
  'conversion_daily',
  'customer_ltv',
  'metrics_minute',
] as const;

export const MART_TABLES: readonly MartTable[] = MART_NAMES.map((name) => ({
  name,
  role: 'mart',
  load: 'default',
  erasure: 'erase',
}));

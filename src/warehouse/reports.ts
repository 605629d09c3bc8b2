import { sql } from 'kysely';
import { compileOnlyKysely, type WarehouseDialect } from './sql-dialect.js';
import type { Warehouse } from './warehouse.js';

/** The warehouse tables the business reports read (the marts' columns they use). */
export interface WarehouseTables {
  fraud_user_minute: {
    user_id: string;
    minute: Date;
    events: number;
    total_value: string;
    distinct_ips: number;
    is_flagged: boolean;
    reasons: string[];
  };
  customer_ltv: {
    /** Pseudonymized (keyed HMAC of the user id). */
    user_key: string;
    orders: number;
    revenue: string;
    average_order_value: string;
    avg_days_between_orders: number | null;
    historic_clv: string;
    /** fitted, or why not: too_few_customers, fit_failed, fraud_flagged, bot, other_currency, mixed_currencies. */
    clv_status: string;
    prediction_horizon_months: number;
    predicted_purchases: number | null;
    probability_alive: number | null;
    expected_avg_value: string | null;
    predicted_clv: string | null;
  };
  conversion_daily: {
    session_date: string;
    device: string;
    sessions: number;
    product_viewed_sessions: number;
    carted_sessions: number;
    purchased_sessions: number;
    view_to_cart_rate: number | null;
    conversion_rate: number | null;
    revenue: string;
  };
}

export interface CompiledReport {
  readonly sql: string;
  readonly parameters: readonly unknown[];
}

export const REPORTS = {
  /** The seed's real-time query: users over the limits in the latest minute of data. */
  'fraud-last-minute': (dialect: WarehouseDialect, _limit: number) =>
    compileOnlyKysely<WarehouseTables>(dialect)
      .selectFrom('fraud_user_minute')
      .select(['user_id', 'minute', 'events', 'total_value', 'distinct_ips', 'reasons'])
      .where('is_flagged', '=', true)
      .where('minute', '=', (eb) =>
        eb.selectFrom('fraud_user_minute').select(sql<Date>`max(minute)`.as('latest')),
      )
      .orderBy('total_value', 'desc')
      .compile(),
  /**
   * Customers by predicted CLV over the horizon (BG/NBD + Gamma-Gamma). Customers the model leaves
   * out (fraud-flagged, bots, other currencies) or cannot predict (too few customers to fit) come
   * after the predicted ones, by historic value, with clv_status saying why.
   */
  clv: (dialect: WarehouseDialect, limit: number) =>
    compileOnlyKysely<WarehouseTables>(dialect)
      .selectFrom('customer_ltv')
      .select([
        'user_key',
        'clv_status',
        'orders',
        'historic_clv',
        'average_order_value',
        'prediction_horizon_months',
        'predicted_purchases',
        'probability_alive',
        'expected_avg_value',
        'predicted_clv',
      ])
      .orderBy((eb) => eb.case().when('clv_status', '=', 'fitted').then(0).else(1).end())
      .orderBy('predicted_clv', (ob) => ob.desc().nullsLast())
      .orderBy('historic_clv', 'desc')
      .orderBy('user_key')
      .limit(limit)
      .compile(),
  /** The daily funnel over every device. */
  conversion: (dialect: WarehouseDialect, _limit: number) =>
    compileOnlyKysely<WarehouseTables>(dialect)
      .selectFrom('conversion_daily')
      .select([
        'session_date',
        'sessions',
        'product_viewed_sessions',
        'carted_sessions',
        'purchased_sessions',
        'view_to_cart_rate',
        'conversion_rate',
        'revenue',
      ])
      .where('device', '=', 'all')
      .orderBy('session_date')
      .compile(),
} as const;

export type ReportName = keyof typeof REPORTS;

export function compileReport(name: ReportName, dialect: WarehouseDialect, limit = 20): CompiledReport {
  const compiled = REPORTS[name](dialect, limit);
  return { sql: compiled.sql, parameters: compiled.parameters };
}

export async function runReport(
  warehouse: Warehouse,
  name: ReportName,
  limit = 20,
): Promise<Record<string, unknown>[]> {
  const { sql: text, parameters } = compileReport(name, warehouse.kind, limit);
  return warehouse.query(text, parameters);
}

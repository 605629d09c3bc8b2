import { describe, expect, it } from 'vitest';
import { compileReport, REPORTS, type ReportName } from '../../src/warehouse/reports.js';
import { compileOnlyKysely } from '../../src/warehouse/sql-dialect.js';

/** Expected SQL and parameters per dialect: the dialects differ in placeholders only. */
const EXPECTED: Record<ReportName, { duckdb: string; parameters: unknown[] }> = {
  'fraud-last-minute': {
    duckdb:
      'select "user_id", "minute", "events", "total_value", "distinct_ips", "reasons" from "fraud_user_minute" where "is_flagged" = $1 and "minute" = (select max(minute) as "latest" from "fraud_user_minute") order by "total_value" desc',
    parameters: [true],
  },
  clv: {
    duckdb:
      'select "user_key", "clv_status", "orders", "historic_clv", "average_order_value", "prediction_horizon_months", "predicted_purchases", "probability_alive", "expected_avg_value", "predicted_clv" from "customer_ltv" order by case when "clv_status" = $1 then 0 else 1 end, "predicted_clv" desc nulls last, "historic_clv" desc, "user_key" limit $2',
    parameters: ['fitted', 5],
  },
  conversion: {
    duckdb:
      'select "session_date", "sessions", "product_viewed_sessions", "carted_sessions", "purchased_sessions", "view_to_cart_rate", "conversion_rate", "revenue" from "conversion_daily" where "device" = $1 order by "session_date"',
    parameters: ['all'],
  },
};

describe('compile-only warehouse dialects', () => {
  for (const name of Object.keys(REPORTS) as ReportName[]) {
    it(`${name}: DuckDB uses $n, Snowflake ? and upper-case identifiers, values always bound`, () => {
      expect(compileReport(name, 'duckdb', 5)).toEqual({
        sql: EXPECTED[name].duckdb,
        parameters: EXPECTED[name].parameters,
      });
      expect(compileReport(name, 'snowflake', 5)).toEqual({
        sql: EXPECTED[name].duckdb
          .replace(/\$\d+/g, '?')
          .replace(/"([a-z_]+)"/g, (_match, id: string) => `"${id.toUpperCase()}"`),
        parameters: EXPECTED[name].parameters,
      });
    });
  }

  it('never splices a value into SQL, however hostile', () => {
    const hostile = "x'); DROP TABLE customer_ltv; --";
    for (const dialect of ['duckdb', 'snowflake'] as const) {
      const compiled = compileOnlyKysely<{ customer_ltv: { user_id: string } }>(dialect)
        .selectFrom('customer_ltv')
        .select('user_id')
        .where('user_id', '=', hostile)
        .compile();
      expect(compiled.sql).not.toContain('DROP');
      expect(compiled.parameters).toEqual([hostile]);
    }
  });
});

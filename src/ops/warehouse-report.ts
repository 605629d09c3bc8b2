import { stat } from 'node:fs/promises';
import type { Config } from '../config/config-schema.js';
import { usageError } from '../errors.js';
import type { Lake } from '../lake/table/lake.js';
import { openWarehouse } from '../warehouse/open-warehouse.js';
import { type ReportName, runReport } from '../warehouse/reports.js';

/** The warehouse table each business report reads. */
const REPORT_TABLES: Readonly<Record<ReportName, string>> = {
  'fraud-last-minute': 'fraud_user_minute',
  clv: 'customer_ltv',
  conversion: 'conversion_daily',
};

/**
 * Runs a business report on the configured warehouse, which must already exist and be loaded: a
 * report reads, so a missing or mistyped DuckDB path is refused (exit 64) instead of being created
 * empty, and a warehouse without the report's table says which table and how to load it.
 */
export async function runWarehouseReport(
  lake: Lake,
  config: Config,
  name: ReportName,
  options: { readonly limit: number; readonly runId: string },
): Promise<Record<string, unknown>[]> {
  const where =
    config.warehouse.kind === 'duckdb'
      ? config.warehouse.path
      : `Snowflake ${config.warehouse.snowflake.account}`;
  if (config.warehouse.kind === 'duckdb') {
    const found = await stat(config.warehouse.path).then(
      (s) => s.isFile(),
      () => false,
    );
    if (!found) {
      throw usageError('WAREHOUSE_NOT_FOUND', `no warehouse file at ${config.warehouse.path}`, {
        location: config.warehouse.path,
        suggestions: [
          'check --warehouse (env SHOPSTREAM_WAREHOUSE; default ./warehouse.duckdb)',
          'create it with: shopstream load (or shopstream warehouse init)',
        ],
      });
    }
  }
  const warehouse = await openWarehouse(lake, config, 'report', options.runId);
  try {
    return await runReport(warehouse, name, options.limit);
  } catch (error) {
    const table = REPORT_TABLES[name];
    if (error instanceof Error && /does not exist/i.test(error.message) && error.message.includes(table)) {
      throw usageError(
        'WAREHOUSE_NOT_LOADED',
        `the warehouse ${where} has no table ${table} (report ${name})`,
        {
          cause: error,
          location: where,
          suggestions: [
            'load the marts first: shopstream load',
            'or check --warehouse: is it the right file?',
          ],
        },
      );
    }
    throw error;
  } finally {
    await warehouse.close();
  }
}

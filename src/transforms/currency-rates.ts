import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/config-schema.js';
import type { DuckDb } from '../engine/duckdb.js';
import { loadSql } from '../engine/sql-files.js';
import { configError, dataError } from '../errors.js';

/**
 * How the marts treat money. With a rates file every amount is converted to the reporting currency
 * (the rate of the event's date, else the latest earlier one); without one, money stays in its own
 * currency and only amounts already in the reporting currency are aggregated or compared with the
 * fraud thresholds. Either way an amount that cannot be expressed in the reporting currency is
 * never added to one that can: it is counted as unconverted.
 */
export interface CurrencySetup {
  readonly mode: 'converted' | 'per-currency';
  readonly defaultCurrency: string;
  readonly reportingCurrency: string;
  /** SHA-256 of the rates file: a changed file rebuilds the marts that convert with it. */
  readonly ratesHash: string | null;
}

/** Creates the temp table currency_rates(rate_date, currency, rate): empty without a rates file. */
export async function installCurrencyRates(
  db: DuckDb,
  config: Config['marts']['currency'],
): Promise<CurrencySetup> {
  const defaultCurrency = config.default;
  const reportingCurrency = config.reporting ?? defaultCurrency;
  const file = config.ratesFile;
  if (!file) {
    await db.run(
      'CREATE OR REPLACE TEMP TABLE currency_rates (rate_date DATE, currency VARCHAR, rate DECIMAL(18, 9))',
    );
    return { mode: 'per-currency', defaultCurrency, reportingCurrency, ratesHash: null };
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (cause) {
    throw configError('RATES_FILE_UNREADABLE', `marts.currency.ratesFile ${file} cannot be read`, {
      cause,
      suggestions: ['point marts.currency.ratesFile at a CSV or Parquet file of date, currency, rate'],
    });
  }
  const parquet = /\.parquet$/i.test(file);
  const reader = parquet ? 'read_parquet($file)' : 'read_csv($file, header = true, all_varchar = true)';
  try {
    await db.run(
      `CREATE OR REPLACE TEMP TABLE __rates_raw AS
       SELECT row_number() OVER () AS row_number, * FROM ${reader}`,
      { file: path.resolve(file) },
    );
  } catch (cause) {
    throw dataError('RATES_FILE_INVALID', `${file}: not a readable ${parquet ? 'Parquet' : 'CSV'} file`, {
      cause,
      location: file,
    });
  }
  const columns = new Set(
    (await db.all<{ column_name: string }>('DESCRIBE __rates_raw')).map((c) => c.column_name.toLowerCase()),
  );
  for (const column of ['date', 'currency', 'rate'])
    if (!columns.has(column))
      throw dataError('RATES_FILE_INVALID', `${file}: no column "${column}" (needs date, currency, rate)`, {
        location: `${file} field ${column}`,
      });
  const [bad] = await db.all<{ row_number: string; field: string; reason: string }>(
    loadSql('currency/rates_file_rows'),
  );
  if (bad) {
    // CSV: line numbers count the header line; Parquet: row numbers from 1
    const where = parquet ? `row ${bad.row_number}` : `${Number(bad.row_number) + 1}`;
    throw dataError('RATES_FILE_INVALID', `${file}:${where} field ${bad.field}: ${bad.reason}`, {
      location: `${file}:${where} field ${bad.field}`,
    });
  }
  await db.run(
    `CREATE OR REPLACE TEMP TABLE currency_rates AS
     SELECT CAST(CAST("date" AS VARCHAR) AS DATE) AS rate_date, upper(trim(CAST(currency AS VARCHAR))) AS currency,
            CAST(CAST(rate AS VARCHAR) AS DECIMAL(18, 9)) AS rate
     FROM __rates_raw`,
  );
  await db.run('DROP TABLE __rates_raw');
  return {
    mode: 'converted',
    defaultCurrency,
    reportingCurrency,
    ratesHash: createHash('sha256').update(bytes).digest('hex'),
  };
}

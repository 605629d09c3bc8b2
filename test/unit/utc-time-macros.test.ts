import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDb } from '../../src/engine/duckdb.js';
import { loadSql } from '../../src/engine/sql-files.js';

// The marts bucket TIMESTAMPTZ by minute, hour, date and hour of day with the utc_* macros (epoch
// arithmetic) instead of date_trunc / CAST AS DATE / hour(), which go through ICU: the macros must
// give exactly what the built-ins give in the UTC session shopstream always runs.
describe('sql/macros/utc_time', () => {
  let db: DuckDb;
  beforeAll(async () => {
    db = await DuckDb.open();
    await db.run(loadSql('macros/utc_time'));
    await db.run(
      `CREATE TEMP TABLE ts AS
       SELECT TIMESTAMPTZ '1969-12-31 22:00:00+00' + to_microseconds(i * 7919 * 1000003 + i % 7) AS t FROM range(20000) AS r(i)
       UNION ALL SELECT unnest([TIMESTAMPTZ '1969-12-31 23:59:59.999999+00', TIMESTAMPTZ '1970-01-01 00:00:00+00',
         TIMESTAMPTZ '2026-11-20 10:59:59.999999+00', TIMESTAMPTZ '2026-11-20 23:00:00+00', TIMESTAMPTZ '1900-03-01 00:00:00.5+00',
         TIMESTAMPTZ '2100-12-31 23:59:59+00', NULL])`,
    );
  });
  afterAll(() => db.close());

  it('equal date_trunc, CAST AS DATE and hour() for every instant, before 1970 and NULL too', async () => {
    const [row] = await db.all<Record<string, number | bigint>>(
      `SELECT
         count(*) AS n,
         count(*) FILTER (WHERE utc_minute(t) IS DISTINCT FROM date_trunc('minute', t)) AS minute,
         count(*) FILTER (WHERE utc_hour(t) IS DISTINCT FROM date_trunc('hour', t)) AS hour,
         count(*) FILTER (WHERE utc_date(t) IS DISTINCT FROM CAST(t AS DATE)) AS date,
         count(*) FILTER (WHERE utc_hour_of_day(t) IS DISTINCT FROM CAST(hour(t) AS INTEGER)) AS hour_of_day
       FROM ts`,
    );
    expect(Number(row!.n)).toBe(20007);
    expect([row!.minute, row!.hour, row!.date, row!.hour_of_day].map(Number)).toEqual([0, 0, 0, 0]);
  });

  it('keep the types of the built-ins', async () => {
    const [row] = await db.all<Record<string, string>>(
      `SELECT typeof(utc_minute(t)) AS m, typeof(utc_hour(t)) AS h, typeof(utc_date(t)) AS d, typeof(utc_hour_of_day(t)) AS hd
       FROM ts LIMIT 1`,
    );
    expect(row).toEqual({
      m: 'TIMESTAMP WITH TIME ZONE',
      h: 'TIMESTAMP WITH TIME ZONE',
      d: 'DATE',
      hd: 'INTEGER',
    });
  });
});

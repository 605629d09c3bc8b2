import type { DuckDb } from '../engine/duckdb.js';
import { loadSql } from '../engine/sql-files.js';

/**
 * The text of sql/ingest/stage_events.sql, with the macros it calls (sql/macros/staging.sql,
 * utc_time.sql)
 * created on `db` first: ingest and the micro-batch normalizer stage through this one entry.
 */
export async function stageEventsSql(db: DuckDb): Promise<string> {
  await db.run(loadSql('macros/staging'));
  await db.run(loadSql('macros/utc_time'));
  return loadSql('ingest/stage_events');
}

/** The parameters of sql/ingest/stage_events.sql for records staged at `now`. */
export function stagingParams(
  now: Date,
  rules: { readonly minEventDate: string; readonly maxFutureHours: number },
): Record<string, string> {
  return {
    ingested_at: now.toISOString(),
    min_event_time: `${rules.minEventDate} 00:00:00+00`,
    max_event_time: new Date(now.getTime() + rules.maxFutureHours * 3600_000).toISOString(),
  };
}

import type { DuckDb } from '../engine/duckdb.js';
import { loadSql } from '../engine/sql-files.js';

/**
 * The text of sql/ingest/stage_events.sql, with the macros it calls (sql/macros/staging.sql)
 * created on `db` first: ingest and the micro-batch normalizer stage through this one entry.
 */
export async function stageEventsSql(db: DuckDb): Promise<string> {
  await db.run(loadSql('macros/staging'));
  return loadSql('ingest/stage_events');
}

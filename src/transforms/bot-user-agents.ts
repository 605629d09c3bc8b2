import { isbot } from 'isbot';
import type { DuckDb } from '../engine/duckdb.js';

/**
 * Classifies every distinct user agent of a relation with the `isbot` library and stores the result
 * in temp table `user_agent_bots(user_agent, is_bot)`. Distinct agents are few compared with events,
 * so this runs the library's own pattern once per agent rather than a hand-written SQL list.
 */
export async function classifyUserAgents(db: DuckDb, relation: string): Promise<number> {
  const rows = await db.all<{ user_agent: string }>(
    `SELECT DISTINCT user_agent FROM ${relation} WHERE user_agent IS NOT NULL`,
  );
  await db.run('CREATE OR REPLACE TEMP TABLE user_agent_bots (user_agent VARCHAR, is_bot BOOLEAN)');
  const appender = await db.connection.createAppender('user_agent_bots', 'main', 'temp');
  let bots = 0;
  for (const { user_agent } of rows) {
    const bot = isbot(user_agent);
    if (bot) bots++;
    appender.appendVarchar(user_agent);
    appender.appendBoolean(bot);
    appender.endRow();
  }
  appender.closeSync();
  return bots;
}

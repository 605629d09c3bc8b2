import { IDENTITY_COLUMNS, type IdentityColumn, isIdentityColumn } from '../catalog/column-privacy.js';
import { quoteIdent } from '../engine/duckdb.js';
import type { Snapshot } from '../lake/log/snapshot.js';
import type { Lake } from '../lake/table/lake.js';
import type { ErasureUsers } from './erasure-users.js';

/**
 * The SQL a forget finds the users' rows with, in the lake's DuckDB session: rows whose identity
 * columns hold them are deleted, ids quoted in other text are redacted.
 */

/**
 * The users as a temp table (id, key) and, as the variable `__gdpr_pattern`, one pattern finding
 * any of their ids as a whole word in text (raw or JSON-escaped, so `\u0075sr_1` is `usr_1`). A
 * variable, not a subquery: DuckDB compiles a constant pattern once, a subquery's once per row
 * (300k rows: 0.1 s against minutes).
 */
export async function stageUsers(lake: Lake, users: ErasureUsers): Promise<void> {
  const { userIds, key, matcher } = users;
  const db = lake.db;
  await db.run('CREATE OR REPLACE TEMP TABLE __gdpr_users (user_id VARCHAR, user_key VARCHAR)');
  for (const id of userIds) {
    await db.run('INSERT INTO __gdpr_users VALUES ($id, $key)', { id, key: key.userKey(id) });
  }
  await db.run('SET VARIABLE __gdpr_pattern = $pattern', { pattern: matcher.pattern });
}

/** Drops what {@link stageUsers} made. */
export async function dropStagedUsers(lake: Lake): Promise<void> {
  await lake.db.run('DROP TABLE IF EXISTS __gdpr_users');
  await lake.db.run('RESET VARIABLE __gdpr_pattern');
}

const ANY_USER = "getvariable('__gdpr_pattern')";

/** SQL matching an identity column (./column-privacy) holding one of the staged users. */
const MATCHES: Readonly<Record<IdentityColumn['holds'], (column: string) => string>> = {
  id: (column) => `${column} IN (SELECT user_id FROM __gdpr_users)`,
  key: (column) => `${column} IN (SELECT user_key FROM __gdpr_users)`,
  'quoted id': (column) => `regexp_matches(${column}, ${ANY_USER})`,
};

/**
 * SQL true for a row of the users, from the identity columns a table has; undefined when it has
 * none.
 */
export function userPredicate(columns: ReadonlySet<string>): string | undefined {
  const parts = IDENTITY_COLUMNS.filter((c) => columns.has(c.name)).map((c) =>
    MATCHES[c.holds](quoteIdent(c.name)),
  );
  return parts.length === 0 ? undefined : `coalesce(${parts.join(' OR ')}, false)`;
}

/** What a table's rows are matched on: whole rows to delete, text columns to redact. */
export interface TableMatch {
  /** SQL true for the users' own rows (undefined: the table has no identity column). */
  readonly identity: string | undefined;
  /** Other text columns (not partition columns): an id quoted there is replaced by `[erased]`. */
  readonly textColumns: readonly string[];
}

export function tableMatch(snapshot: Snapshot): TableMatch {
  const columns = new Set(snapshot.schema.fields.map((f) => f.name));
  const partitions = new Set(snapshot.partitionColumns);
  return {
    identity: userPredicate(columns),
    textColumns: snapshot.schema.fields
      .filter((f) => f.type === 'string' && !isIdentityColumn(f.name) && !partitions.has(f.name))
      .map((f) => f.name),
  };
}

/** SQL true for a row holding the users anywhere: its identity or a quoted id. */
export function touchedPredicate(match: TableMatch): string | undefined {
  const parts = [
    ...(match.identity ? [match.identity] : []),
    ...match.textColumns.map((c) => `coalesce(regexp_matches(${quoteIdent(c)}, ${ANY_USER}), false)`),
  ];
  return parts.length === 0 ? undefined : parts.join(' OR ');
}

/** A select-list item: the text column with every quoted id of the users replaced by `[erased]`. */
export function redacted(column: string): string {
  const once = (sql: string) => `regexp_replace(${sql}, ${ANY_USER}, '\\1[erased]\\2', 'g')`;
  // twice: two ids sharing one separator need a second pass for the second one
  return `${once(once(quoteIdent(column)))} AS ${quoteIdent(column)}`;
}

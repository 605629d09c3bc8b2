/**
 * Personal data, by column name. The rules hold for a column of that name in every lake table (the
 * ones declared in this catalog, the marts built from SQL models, foreign ones) and in the
 * warehouse copies: GDPR forget finds the users by them, and the transaction log keeps no min/max
 * statistics of them (the log is immutable, so an erasure could not reach a value copied there).
 */

/** A column that identifies a row as one user's: GDPR forget deletes the rows where it holds them. */
export interface IdentityColumn {
  readonly name: string;
  /** What it holds: the user's id, their pseudonymized key, or a raw record quoting the id. */
  readonly holds: 'id' | 'key' | 'quoted id';
}

export const IDENTITY_COLUMNS: readonly IdentityColumn[] = [
  { name: 'user_id', holds: 'id' },
  { name: 'user_key', holds: 'key' },
  { name: 'raw', holds: 'quoted id' },
];

/** Personal data describing the user in rows an identity column marks as theirs: erased with them. */
export const PERSONAL_ATTRIBUTE_COLUMNS: readonly string[] = ['ip', 'user_agent'];

/** Every column holding personal data: identity columns and personal attributes. */
export const PERSONAL_DATA_COLUMNS: ReadonlySet<string> = new Set([
  ...IDENTITY_COLUMNS.map((c) => c.name),
  ...PERSONAL_ATTRIBUTE_COLUMNS,
]);

/**
 * Free-text columns: a page URL, a referrer or an error message can quote an email or an id
 * (`/account?email=...`). GDPR forget replaces an id quoted in any text column that is not an
 * identity column by `[erased]`; these, in addition, never have min/max statistics in the log.
 */
export const FREE_TEXT_COLUMNS: ReadonlySet<string> = new Set([
  'page_url',
  'referrer',
  'first_page',
  'last_page',
  'agents',
  'evidence',
  'properties',
  'error_message',
  'error_reason',
  'arguments',
  'reads',
  'writes',
  'receipt',
  'source_file',
]);

const IDENTITY_NAMES: ReadonlySet<string> = new Set(IDENTITY_COLUMNS.map((c) => c.name));

/** True for a column that identifies a row as a user's (user_id, user_key, raw). */
export function isIdentityColumn(column: string): boolean {
  return IDENTITY_NAMES.has(column);
}

/** True for a column whose values must never be copied into the log as min/max statistics. */
export function withoutMinMax(column: string): boolean {
  return PERSONAL_DATA_COLUMNS.has(column) || FREE_TEXT_COLUMNS.has(column);
}

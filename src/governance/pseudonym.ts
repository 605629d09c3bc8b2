import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { DuckDb } from '../engine/duckdb.js';
import { configError } from '../errors.js';
import type { Lake } from '../lake/table/lake.js';

/**
 * Pseudonymized user keys: `user_key` = the first 32 hex digits (128 bits) of
 * HMAC-SHA256(secret, user_id). The same secret gives the same key on every build and machine, so
 * marts join across builds; without the secret a key cannot be turned back into an id by trying
 * candidate ids. The secret comes from config `privacy.pseudonymKey` / `SHOPSTREAM_PSEUDONYM_KEY`;
 * without one, a random secret is created once per lake at {@link LAKE_KEY_FILE} (readable only by
 * those who can already read raw_events).
 */
export const LAKE_KEY_FILE = '_shopstream/secrets/pseudonym.key';

/** Hex digits of the HMAC kept in a user key. */
const KEY_HEX_DIGITS = 32;
const BLOCK = 64;

/** The HMAC secret, as bytes. Never logged. */
export class PseudonymKey {
  readonly #secret: Buffer;
  readonly source: 'config' | 'lake';

  constructor(secret: Buffer, source: 'config' | 'lake') {
    if (secret.length < 16) {
      throw configError('PSEUDONYM_KEY', 'privacy.pseudonymKey must be at least 16 bytes long');
    }
    this.#secret = secret;
    this.source = source;
  }

  /** The user key of one user id. */
  userKey(userId: string): string {
    return createHmac('sha256', this.#secret).update(userId, 'utf8').digest('hex').slice(0, KEY_HEX_DIGITS);
  }

  /** HMAC's inner and outer padded keys (RFC 2104), hex: what the SQL macro needs. */
  pads(): { readonly inner: string; readonly outer: string } {
    const block = Buffer.alloc(BLOCK);
    // RFC 2104: a key longer than the block is hashed first
    (this.#secret.length > BLOCK ? createHash('sha256').update(this.#secret).digest() : this.#secret).copy(
      block,
    );
    return {
      inner: Buffer.from(block.map((b) => b ^ 0x36)).toString('hex'),
      outer: Buffer.from(block.map((b) => b ^ 0x5c)).toString('hex'),
    };
  }

  toJSON(): string {
    return '[redacted]';
  }
}

/** The lake's pseudonymization secret: from config when set, else the lake's own (created once). */
export async function resolvePseudonymKey(lake: Lake, configured: string | undefined): Promise<PseudonymKey> {
  if (configured !== undefined && configured !== '') {
    return new PseudonymKey(Buffer.from(configured, 'utf8'), 'config');
  }
  const store = lake.store;
  const existing = await store.head(LAKE_KEY_FILE);
  if (existing === undefined) {
    // put-if-absent: two first builds racing agree on one secret
    await store.putIfAbsent(LAKE_KEY_FILE, randomBytes(32).toString('hex'));
  }
  const text = new TextDecoder().decode(await store.get(LAKE_KEY_FILE)).trim();
  return new PseudonymKey(Buffer.from(text, 'utf8'), 'lake');
}

/**
 * Defines the SQL macros `pseudonym(user_id)` (= {@link PseudonymKey.userKey}) and
 * `truncate_ip(ip)` (IPv4 to its /24, IPv6 to its /48) on a connection. The pads travel as
 * DuckDB variables, so the secret never appears in SQL text.
 */
export async function installPrivacyMacros(db: DuckDb, key: PseudonymKey): Promise<void> {
  const { inner, outer } = key.pads();
  await db.run('SET VARIABLE __pseudonym_inner = unhex($inner)', { inner });
  await db.run('SET VARIABLE __pseudonym_outer = unhex($outer)', { outer });
  await db.run(
    `CREATE OR REPLACE TEMP MACRO pseudonym(v) AS
       left(sha256(getvariable('__pseudonym_outer') || unhex(sha256(getvariable('__pseudonym_inner') || encode(v)))), ${KEY_HEX_DIGITS})`,
  );
  await db.run(
    `CREATE OR REPLACE TEMP MACRO truncate_ip(ip) AS
       CASE
         WHEN ip IS NULL THEN NULL
         WHEN regexp_full_match(ip, '\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}')
           THEN regexp_replace(ip, '\\.\\d{1,3}$', '.0') || '/24'
         WHEN contains(ip, ':') THEN array_to_string(list_slice(string_split(ip, ':'), 1, 3), ':') || '::/48'
         ELSE 'invalid'
       END`,
  );
}

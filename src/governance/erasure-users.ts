import { readFile } from 'node:fs/promises';
import { usageError } from '../errors.js';
import type { Lake } from '../lake/table/lake.js';
import { UserMatcher } from './erasure-match.js';
import { type PseudonymKey, resolvePseudonymKey } from './pseudonym.js';

/**
 * User ids from an erasure requests file: one per line, blank lines and `#` comments skipped. A
 * missing file is no requests with `missingOk`, else (like any unreadable file) a usage error.
 */
export async function readUserIdsFile(
  file: string,
  options: { readonly missingOk?: boolean } = {},
): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (options.missingOk && (error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw usageError('GDPR_FILE', `cannot read ${file}`, { cause: error });
  }
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
}

/** The users a gdpr command names: `--user` ids, then the ids of `--file`; none is a usage error. */
export async function requestedUserIds(users: readonly string[] = [], file?: string): Promise<string[]> {
  const ids = [...users, ...(file ? await readUserIdsFile(file) : [])];
  if (ids.length === 0) throw usageError('GDPR_NO_USERS', 'give --user <id> or --file <ids.txt>');
  return ids;
}

/** The users of a forget or verify: their ids (trimmed, once each), pseudonym key and matcher. */
export interface ErasureUsers {
  readonly userIds: readonly string[];
  readonly key: PseudonymKey;
  readonly matcher: UserMatcher;
}

/** The users to erase or look for; none left after trimming is a usage error. */
export async function erasureUsers(
  lake: Lake,
  ids: readonly string[],
  pseudonymSecret: string | undefined,
): Promise<ErasureUsers> {
  const userIds = [...new Set(ids.map((id) => id.trim()).filter((id) => id.length > 0))];
  if (userIds.length === 0) throw usageError('GDPR_NO_USERS', 'no user ids given');
  const key = await resolvePseudonymKey(lake, pseudonymSecret);
  const matcher = new UserMatcher(
    userIds,
    userIds.map((id) => key.userKey(id)),
  );
  return { userIds, key, matcher };
}

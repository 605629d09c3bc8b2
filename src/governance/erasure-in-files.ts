import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Lake } from '../lake/table/lake.js';
import type { UserMatcher } from './erasure-match.js';
import type { OtherFiles } from './erasure-receipt.js';
import { SECRETS_PREFIX, scanBytes, scanParquet, walkLocal } from './erasure-scan.js';

/** An event spool file not yet landed: its other lines must survive (they are other users' events). */
const UNLANDED_SPOOL = /^(current|late-current|metrics-current|batch-\d+|late-\d+|metrics-\d+)\.ndjson$/;

/**
 * What to do with a file outside the tables that holds the users: an unlanded spool loses their
 * lines, JSON state has their ids `[erased]` (the rest of the state stays valid), anything else
 * (landed spools, staging leftovers of killed writers, cached downloads, load files) is deleted.
 */
function rewriteOf(name: string, text: string, matcher: UserMatcher): string | undefined {
  if (UNLANDED_SPOOL.test(name)) {
    const kept = text.split('\n').filter((line) => !matcher.find(line));
    return kept.join('\n');
  }
  if (name.endsWith('.json')) return matcher.redact(text);
  return undefined;
}

/**
 * Files outside the tables: everything under the lake's `_shopstream/` (but its secrets) and the
 * local directories given, each scanned; a file holding the users is rewritten without them or
 * deleted.
 */
export async function forgetInOtherFiles(
  lake: Lake,
  matcher: UserMatcher,
  localDirs: readonly string[],
): Promise<OtherFiles> {
  const deleted: string[] = [];
  const rewritten: string[] = [];
  let scanned = 0;
  for (const info of await lake.store.list('_shopstream/')) {
    if (info.key.startsWith(SECRETS_PREFIX)) continue;
    scanned++;
    const name = info.key.slice(info.key.lastIndexOf('/') + 1);
    const bytes = await lake.store.get(info.key);
    let found = scanBytes(bytes, matcher, false);
    if (!found && name.endsWith('.parquet')) {
      found = await scanParquet(lake.db, await lake.store.localPath(info.key), matcher, false).catch(
        () => undefined,
      );
    }
    if (!found) continue;
    const rewrite = rewriteOf(name, Buffer.from(bytes).toString('utf8'), matcher);
    if (rewrite === undefined) {
      await lake.store.delete(info.key);
      deleted.push(`lake:${info.key}`);
    } else {
      await lake.store.put(info.key, rewrite);
      rewritten.push(`lake:${info.key}`);
    }
  }
  for (const dir of localDirs) {
    for (const file of await walkLocal(dir)) {
      scanned++;
      const bytes = await readFile(file);
      let found = scanBytes(bytes, matcher, false);
      if (!found && file.endsWith('.parquet')) {
        found = await scanParquet(lake.db, file, matcher, false).catch(() => undefined);
      }
      if (!found) continue;
      const rewrite = rewriteOf(path.basename(file), bytes.toString('utf8'), matcher);
      if (rewrite === undefined) {
        await rm(file, { force: true });
        deleted.push(`local:${file}`);
      } else {
        await writeFile(file, rewrite);
        rewritten.push(`local:${file}`);
      }
    }
  }
  return { scanned, deleted: deleted.sort(), rewritten: rewritten.sort() };
}

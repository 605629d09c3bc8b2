import { LOG_DIR, parseLogFileName } from '../lake/log/log-files.js';
import type { DeltaTable } from '../lake/table/delta-table.js';
import type { Lake } from '../lake/table/lake.js';
import type { UserMatcher } from './erasure-match.js';
import { keysAllowedAt, scanBytes, scanParquet } from './erasure-scan.js';

/**
 * Rewrites the table's log when its files hold the users (statistics of files written before
 * personal and free-text columns lost their min/max, or a checkpoint of them): writes a checkpoint
 * of the latest version, then deletes every older commit and checkpoint that holds them. Versions
 * before the checkpoint can then no longer be read (time travel to before the erasure is lost).
 */
export async function cleanLog(
  lake: Lake,
  table: DeltaTable,
  matcher: UserMatcher,
): Promise<{ checkpointVersion: number | null; deleted: string[] }> {
  const holders: { key: string; name: string; version: number }[] = [];
  const leftovers: string[] = [];
  const keysAllowed = keysAllowedAt(`${table.tableKey}/`);
  for (const info of await lake.store.list(`${table.tableKey}/${LOG_DIR}/`)) {
    const name = info.key.slice(info.key.lastIndexOf('/') + 1);
    const file = parseLogFileName(name);
    if (!file) {
      // a killed writer's temp commit (readers ignore it; it is garbage): goes when it holds them
      if (scanBytes(await lake.store.get(info.key), matcher, keysAllowed)) {
        await lake.store.delete(info.key);
        leftovers.push(name);
      }
      continue;
    }
    const found =
      file.kind === 'checkpoint'
        ? await scanParquet(lake.db, await lake.store.localPath(info.key), matcher, keysAllowed)
        : scanBytes(await lake.store.get(info.key), matcher, keysAllowed);
    if (found) holders.push({ key: info.key, name, version: file.version });
  }
  if (holders.length === 0) return { checkpointVersion: null, deleted: leftovers.sort() };
  const checkpointVersion = await table.log.checkpoint();
  const deleted: string[] = [...leftovers];
  for (const holder of holders) {
    // the new checkpoint replaced one of the same version; a newer commit is someone else's
    if (holder.version >= checkpointVersion) continue;
    await lake.store.delete(holder.key);
    deleted.push(holder.name);
  }
  return { checkpointVersion, deleted: deleted.sort() };
}

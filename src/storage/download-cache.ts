import { createWriteStream } from 'node:fs';
import { lstat, readdir, rename, rm, utimes } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ensurePrivateDir, isAbandoned, ownedSuffix } from './staging.js';

export const DEFAULT_CACHE_MAX_BYTES = 5 * 1024 ** 3;

/**
 * Files another process used this recently are not evicted: it may have handed the path to DuckDB
 * and not opened it yet. (Files this process handed out are never evicted while it runs.)
 */
export const EVICTION_GRACE_MS = 10 * 60_000;

/**
 * The local copies of remote objects DuckDB reads, in a private folder (0700 folders, 0600 files:
 * they hold personal data), bounded by total bytes with least-recently-used eviction. "Used" is
 * the file's mtime, touched on every hit, so the order holds across processes sharing the cache.
 */
export class DownloadCache {
  private total: number | undefined;
  /** Trim again past this total: when pinned files keep the cache over the bound, not per download. */
  private trimAbove: number;
  private readonly inUse = new Set<string>();
  private ready: Promise<void> | undefined;
  private trimming: Promise<void> = Promise.resolve();

  constructor(
    readonly dir: string,
    readonly maxBytes: number = DEFAULT_CACHE_MAX_BYTES,
  ) {
    this.trimAbove = maxBytes;
  }

  /** The private folder for one bucket. The first call trims the cache and drops dead downloads. */
  async folder(bucket: string): Promise<string> {
    this.ready ??= ensurePrivateDir(this.dir).then(() => this.trim());
    await this.ready;
    const folder = path.join(this.dir, bucket);
    await ensurePrivateDir(folder);
    return folder;
  }

  /** True (and the file marked used now, and held for this process) when `file` is cached. */
  async hit(file: string): Promise<boolean> {
    const now = new Date();
    try {
      await utimes(file, now, now);
    } catch {
      return false;
    }
    this.inUse.add(file);
    return true;
  }

  /** Streams `body` to `file` (0600) through a temp name, then evicts past the bound. */
  async admit(file: string, body: Readable): Promise<void> {
    const temp = `${file}.${ownedSuffix()}.part`;
    try {
      await pipeline(body, createWriteStream(temp, { mode: 0o600 }));
      await rename(temp, file);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    this.inUse.add(file);
    const size = (await lstat(file)).size;
    this.total = (this.total ?? 0) + size;
    if (this.total > this.trimAbove) await this.trim();
  }

  /** Removes the cached copies of one object (every ETag) from a bucket folder. */
  async forget(bucket: string, namePrefix: string): Promise<void> {
    const folder = path.join(this.dir, bucket);
    for (const name of await readdir(folder).catch(() => [] as string[])) {
      if (!name.startsWith(namePrefix)) continue;
      const file = path.join(folder, name);
      const size = (await lstat(file).catch(() => undefined))?.size ?? 0;
      await rm(file, { force: true });
      this.inUse.delete(file);
      if (this.total !== undefined) this.total -= size;
    }
  }

  /** Evicts least recently used files until the total fits (one trim at a time per process). */
  trim(now = Date.now()): Promise<void> {
    const run = this.trimming.then(() => this.evict(now));
    this.trimming = run.catch(() => undefined);
    return run;
  }

  private async evict(now: number): Promise<void> {
    const files: { file: string; size: number; used: number }[] = [];
    let total = 0;
    for (const bucket of await readdir(this.dir).catch(() => [] as string[])) {
      const folder = path.join(this.dir, bucket);
      for (const name of await readdir(folder).catch(() => [] as string[])) {
        const file = path.join(folder, name);
        const info = await lstat(file).catch(() => undefined);
        if (!info?.isFile()) continue;
        if (name.endsWith('.part')) {
          // a download in flight, or one a killed process left half-written
          if (isAbandoned(name.slice(0, -'.part'.length), info.mtimeMs, now)) await rm(file, { force: true });
          else total += info.size;
          continue;
        }
        total += info.size;
        files.push({ file, size: info.size, used: info.mtimeMs });
      }
    }
    files.sort((a, b) => a.used - b.used);
    for (const entry of files) {
      if (total <= this.maxBytes) break;
      if (this.inUse.has(entry.file) || now - entry.used < EVICTION_GRACE_MS) continue;
      await rm(entry.file, { force: true });
      total -= entry.size;
    }
    this.total = total;
    this.trimAbove = total <= this.maxBytes ? this.maxBytes : total + this.maxBytes / 10;
  }
}

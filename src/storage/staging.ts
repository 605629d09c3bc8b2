import { createHash, randomUUID } from 'node:crypto';
import { chmod, lstat, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { configError } from '../errors.js';

/**
 * Private local directories for files on their way into a store (Parquet from DuckDB, checkpoints)
 * and for the S3 download cache. They hold personal data, so they are 0700 and never a shared
 * temp folder; a killed process's leftovers are removed by the next process that stages.
 *
 * A staging directory is named `<label>-<host>-<pid>-<random>` so a later process can tell whether
 * its owner still runs: on this host, a dead pid means it is garbage; whatever the host, so does an
 * age past STALE_AFTER_MS (a pid can be reused, and another host's pids cannot be checked).
 */

export const STALE_AFTER_MS = 24 * 3600_000;

/** Short stable tag of this host, for names that say which machine's pid they carry. */
export const HOST_TAG = createHash('sha256').update(os.hostname()).digest('hex').slice(0, 8);

const OWNED_NAME = /[.-]([0-9a-f]{8})-(\d+)-[A-Za-z0-9]+$/;

/** `<label>-<host>-<pid>-` : the prefix of a directory or file this process owns. */
export function ownedPrefix(label: string): string {
  return `${label}-${HOST_TAG}-${process.pid}-`;
}

/** A unique suffix for a file this process owns (cleanup reads the host and pid back from it). */
export function ownedSuffix(): string {
  return `${HOST_TAG}-${process.pid}-${randomUUID().replaceAll('-', '')}`;
}

/**
 * Creates `dir` (and parents) when missing and makes sure it is a real directory (not a symlink)
 * that only this user can enter: created 0700; an existing one owned by us is tightened to 0700,
 * one owned by someone else is refused (another user could read or swap what we put there).
 */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const info = await lstat(dir);
  const uid = process.getuid?.();
  if (!info.isDirectory() || (uid !== undefined && info.uid !== uid)) {
    throw configError(
      'PRIVATE_DIR',
      `${dir} must be a directory owned by the current user (it holds staged data): it is ${info.isSymbolicLink() ? 'a symbolic link' : info.isDirectory() ? `owned by uid ${info.uid}` : 'not a directory'}`,
      { suggestions: ['remove it, or point the cache elsewhere (XDG_CACHE_HOME)'] },
    );
  }
  if ((info.mode & 0o077) !== 0) await chmod(dir, 0o700);
}

/** A fresh 0700 directory under `root` (itself made private) named for this process. */
export async function createStagingDir(root: string, label: string): Promise<string> {
  await ensurePrivateDir(root);
  // mkdtemp creates 0700 and appends 6 random characters
  return mkdtemp(path.join(root, ownedPrefix(label)));
}

/** True when a name from `ownedPrefix`/`ownedSuffix` belongs to a process that cannot still use it. */
export function isAbandoned(name: string, modifiedMs: number, now: number): boolean {
  if (now - modifiedMs > STALE_AFTER_MS) return true;
  const match = OWNED_NAME.exec(name);
  if (!match || match[1] !== HOST_TAG) return false;
  return !processAlive(Number(match[2]));
}

/** Removes the entries of `root` left by dead processes (or untouched for a day); returns their names. */
export async function removeAbandoned(root: string, now = Date.now()): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(root).catch(() => [] as string[])) {
    const full = path.join(root, name);
    const info = await lstat(full).catch(() => undefined);
    if (!info || !isAbandoned(name, info.mtimeMs, now)) continue;
    // another user's leftovers (a group-shared lake) are theirs to clean: ignore EACCES
    await rm(full, { recursive: true, force: true }).catch(() => undefined);
    removed.push(name);
  }
  return removed.sort();
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * This user's private cache folder for shopstream: `$XDG_CACHE_HOME/shopstream`, else
 * `~/.cache/shopstream`; without a usable home, `<tmp>/shopstream-<uid>` (still 0700 and checked).
 */
export function defaultCacheRoot(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'shopstream');
  const home = os.homedir();
  if (home && home !== '/' && path.isAbsolute(home)) return path.join(home, '.cache', 'shopstream');
  return path.join(os.tmpdir(), `shopstream-${process.getuid?.() ?? os.userInfo().username}`);
}

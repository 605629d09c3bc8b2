import { randomUUID } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import {
  copyFile,
  link,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  unlink,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { LAKE_INTERNAL_DIR, type ObjectInfo, type ObjectStore } from './object-store.js';
import { createStagingDir, ensurePrivateDir, removeAbandoned } from './staging.js';

/**
 * ObjectStore on a local directory. Put-if-absent writes a temp file and `link()`s it to the final
 * name: link fails with EEXIST when the name is taken, atomically, so two processes never both win.
 * A file appears at its final name only whole: writes go to a temp file in the same folder, renamed.
 */
export class LocalStore implements ObjectStore {
  readonly uri: string;
  private stagingCleaned: Promise<unknown> | undefined;

  constructor(readonly rootDir: string) {
    this.rootDir = path.resolve(rootDir);
    this.uri = pathToFileURL(this.rootDir).href;
  }

  private abs(key: string): string {
    const resolved = path.resolve(this.rootDir, key);
    if (resolved !== this.rootDir && !resolved.startsWith(this.rootDir + path.sep)) {
      throw new Error(`key escapes the store root: ${key}`);
    }
    return resolved;
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    // List the deepest directory the prefix names, then filter by the rest of the prefix.
    const slash = prefix.lastIndexOf('/');
    const dirKey = slash >= 0 ? prefix.slice(0, slash) : '';
    const out: ObjectInfo[] = [];
    await this.walk(dirKey, prefix, out);
    return out;
  }

  private async walk(dirKey: string, prefix: string, out: ObjectInfo[]): Promise<void> {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(this.abs(dirKey), { withFileTypes: true });
    } catch (error) {
      if (isNotFound(error)) return;
      throw error;
    }
    for (const entry of entries) {
      const key = dirKey ? `${dirKey}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) await this.walk(key, prefix, out);
      } else if (entry.isFile() && key.startsWith(prefix)) {
        const info = await stat(this.abs(key)).catch(() => undefined);
        if (info) out.push({ key, size: info.size, lastModified: info.mtimeMs });
      }
    }
  }

  async listFolders(prefix: string): Promise<string[]> {
    try {
      const entries = await readdir(this.abs(prefix), { withFileTypes: true });
      return entries.filter((e) => e.isDirectory()).map((e) => e.name);
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const info = await stat(this.abs(key));
      return info.isFile() ? { key, size: info.size, lastModified: info.mtimeMs } : undefined;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async get(key: string): Promise<Uint8Array> {
    return readFile(this.abs(key));
  }

  async getRange(key: string, start: number, end: number): Promise<Uint8Array> {
    const handle = await open(this.abs(key), 'r');
    try {
      const buffer = Buffer.alloc(Math.max(0, end - start));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, start);
      return buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }

  async put(key: string, data: Uint8Array | string): Promise<void> {
    const target = this.abs(key);
    await mkdir(path.dirname(target), { recursive: true });
    const temp = path.join(path.dirname(target), `.${path.basename(target)}.${randomUUID()}.tmp`);
    await writeFile(temp, data);
    await rename(temp, target);
  }

  async putIfAbsent(key: string, data: Uint8Array | string): Promise<boolean> {
    const target = this.abs(key);
    await mkdir(path.dirname(target), { recursive: true });
    const temp = path.join(path.dirname(target), `.${path.basename(target)}.${randomUUID()}.tmp`);
    await writeFile(temp, data, { flag: 'wx' });
    try {
      await link(temp, target);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }

  async putFile(localPath: string, key: string): Promise<void> {
    const target = this.abs(key);
    await mkdir(path.dirname(target), { recursive: true });
    try {
      await rename(localPath, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
      // Another filesystem: copy beside the target, then rename, so a kill mid-copy never leaves a
      // partial file under the final name (a half checkpoint would make the table unreadable).
      const temp = path.join(path.dirname(target), `.${path.basename(target)}.${randomUUID()}.tmp`);
      try {
        await copyFile(localPath, temp, fsConstants.COPYFILE_FICLONE);
        await rename(temp, target);
      } catch (copyError) {
        await rm(temp, { force: true });
        throw copyError;
      }
      await unlink(localPath);
    }
  }

  /** Inside the lake, so staged files are as private as the lake and move in with a rename. */
  async stagingDir(label: string): Promise<string> {
    const root = this.abs(`${LAKE_INTERNAL_DIR}/tmp`);
    await mkdir(path.dirname(root), { recursive: true });
    this.stagingCleaned ??= ensurePrivateDir(root).then(() => removeAbandoned(root));
    await this.stagingCleaned;
    return createStagingDir(root, label);
  }

  async delete(key: string): Promise<void> {
    await rm(this.abs(key), { force: true });
  }

  async localPath(key: string): Promise<string> {
    return this.abs(key);
  }
}

function isNotFound(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

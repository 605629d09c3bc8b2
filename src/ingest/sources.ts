import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import fg from 'fast-glob';
import { dataError } from '../errors.js';
import { S3Store, type S3StoreOptions } from '../storage/s3-store.js';

export type SourceFormat = 'ndjson' | 'csv' | 'avro';

export interface SourceFile {
  /** The source's name: an absolute local path or an s3:// URI (what lineage records). */
  readonly path: string;
  readonly format: SourceFormat;
  readonly compression: 'gzip' | 'none';
  readonly size: number;
  readonly mtimeMs: number;
  /** A local file to read: the file itself, or a cached download of the S3 object. */
  local(): Promise<string>;
}

const NDJSON = /\.(ndjson|jsonl|json)(\.gz)?$/i;
const CSV = /\.csv(\.gz)?$/i;
/** Avro object container files (blocks compressed inside: null or deflate codec). */
const AVRO = /\.avro$/i;

export function formatOf(file: string): SourceFormat | undefined {
  if (NDJSON.test(file)) return 'ndjson';
  if (CSV.test(file)) return 'csv';
  if (AVRO.test(file)) return 'avro';
  return undefined;
}

/**
 * Expands sources (files, directories searched recursively, globs) into event files, sorted.
 * A source that names nothing, or a file of unknown format, is an error naming it.
 */
export async function resolveSources(
  sources: readonly string[],
  cwd = process.cwd(),
  s3: S3StoreOptions = {},
): Promise<SourceFile[]> {
  if (sources.length === 0) throw dataError('NO_SOURCES', 'no sources given');
  const files = new Map<string, SourceFile>();
  for (const source of sources) {
    if (source.startsWith('s3://')) {
      for (const file of await resolveS3Source(source, s3)) files.set(file.path, file);
      continue;
    }
    const absolute = path.resolve(cwd, source);
    const info = await stat(absolute).catch(() => undefined);
    let matches: string[];
    if (info?.isDirectory()) {
      matches = (await fg('**/*', { cwd: absolute, absolute: true, onlyFiles: true, dot: false })).filter(
        (f) => formatOf(f),
      );
    } else if (info?.isFile()) {
      if (!formatOf(absolute)) {
        throw dataError(
          'SOURCE_FORMAT',
          `${source}: unknown format (expected .ndjson, .jsonl, .json, .csv, optionally .gz, or .avro)`,
        );
      }
      matches = [absolute];
    } else if (fg.isDynamicPattern(source)) {
      matches = (await fg(source, { cwd, absolute: true, onlyFiles: true })).filter((f) => formatOf(f));
    } else {
      throw dataError('SOURCE_NOT_FOUND', `source not found: ${source}`);
    }
    if (matches.length === 0) throw dataError('SOURCE_EMPTY', `source ${source} matched no event files`);
    for (const file of matches) {
      const fileInfo = await stat(file).catch((error: unknown) => {
        throw dataError('SOURCE_UNREADABLE', `cannot read source ${file}`, { cause: error });
      });
      files.set(file, {
        path: file,
        format: formatOf(file)!,
        compression: file.toLowerCase().endsWith('.gz') ? 'gzip' : 'none',
        size: fileInfo.size,
        mtimeMs: fileInfo.mtimeMs,
        local: async () => file,
      });
    }
  }
  return [...files.values()].sort((a, b) => a.path.localeCompare(b.path));
}

/**
 * An s3:// source: one object, every event object under a prefix, or a glob over keys
 * (`*` within a path segment, `**` across segments).
 */
async function resolveS3Source(source: string, options: S3StoreOptions): Promise<SourceFile[]> {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(source);
  if (!match) throw dataError('SOURCE_NOT_FOUND', `not an s3:// source: ${source}`);
  const [, bucket, key] = match as unknown as [string, string, string];
  const store = new S3Store(`s3://${bucket}`, options);
  const globAt = key.search(/[*?[]/);
  let objects: { key: string; size: number; lastModified: number }[];
  if (globAt >= 0) {
    const pattern = globToRegExp(key);
    objects = (await store.list(key.slice(0, globAt))).filter((o) => pattern.test(o.key));
  } else {
    const single = key && formatOf(key) ? await store.head(key) : undefined;
    objects = single ? [single] : await store.list(key && !key.endsWith('/') ? `${key}/` : key);
  }
  const matches = objects.filter((o) => formatOf(o.key)).sort((a, b) => a.key.localeCompare(b.key));
  if (matches.length === 0) throw dataError('SOURCE_EMPTY', `source ${source} matched no event files`);
  return matches.map((o) => ({
    path: `s3://${bucket}/${o.key}`,
    format: formatOf(o.key)!,
    compression: o.key.toLowerCase().endsWith('.gz') ? 'gzip' : 'none',
    size: o.size,
    mtimeMs: o.lastModified,
    local: () => store.localPath(o.key),
  }));
}

function globToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      out += '.*';
      i++;
      if (glob[i + 1] === '/') i++;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

/** SHA-256 of a file's bytes: the identity of a source for idempotent re-ingest. */
export function contentHash(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file, { highWaterMark: 1 << 20 })
      .on('error', (error) =>
        reject(dataError('SOURCE_UNREADABLE', `cannot read source ${file}`, { cause: error })),
      )
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')));
  });
}

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import fg from 'fast-glob';
import { dataError } from '../errors.js';

export type SourceFormat = 'ndjson' | 'csv';

export interface SourceFile {
  readonly path: string;
  readonly format: SourceFormat;
  readonly compression: 'gzip' | 'none';
  readonly size: number;
  readonly mtimeMs: number;
}

const NDJSON = /\.(ndjson|jsonl|json)(\.gz)?$/i;
const CSV = /\.csv(\.gz)?$/i;

export function formatOf(file: string): SourceFormat | undefined {
  if (NDJSON.test(file)) return 'ndjson';
  if (CSV.test(file)) return 'csv';
  return undefined;
}

/**
 * Expands sources (files, directories searched recursively, globs) into event files, sorted.
 * A source that names nothing, or a file of unknown format, is an error naming it.
 */
export async function resolveSources(sources: readonly string[], cwd = process.cwd()): Promise<SourceFile[]> {
  if (sources.length === 0) throw dataError('NO_SOURCES', 'no sources given');
  const files = new Map<string, SourceFile>();
  for (const source of sources) {
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
          `${source}: unknown format (expected .ndjson, .jsonl, .json, .csv, optionally .gz)`,
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
      });
    }
  }
  return [...files.values()].sort((a, b) => a.path.localeCompare(b.path));
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

import { randomUUID } from 'node:crypto';
import { realpath, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBResult } from '@duckdb/node-api';
import { DuckDb, quoteIdent } from '../engine/duckdb.js';
import { usageError } from '../errors.js';

/**
 * `shopstream query --out FILE`: shopstream, not the analyst's SQL, writes the result to one named
 * local file. The query's own session cannot write files (see run-query.ts); the rows are copied
 * chunk by chunk into a separate in-memory session that writes that one file and nothing else.
 */
export const EXPORT_FORMATS = ['csv', 'parquet', 'json'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportTarget {
  readonly path: string;
  readonly format: ExportFormat;
}

export interface ExportedResult extends ExportTarget {
  readonly rows: number;
}

const BY_EXTENSION: Readonly<Record<string, ExportFormat>> = {
  '.csv': 'csv',
  '.parquet': 'parquet',
  '.json': 'json',
  '.ndjson': 'json',
  '.jsonl': 'json',
};

/** COPY options per format; JSON is newline-delimited (one object per line). */
const COPY_OPTIONS: Readonly<Record<ExportFormat, string>> = {
  csv: 'FORMAT csv, HEADER true',
  parquet: 'FORMAT parquet',
  json: 'FORMAT json',
};

/** The export target of `--out`/`--format`: an explicit format wins, else the file's extension. */
export function exportTarget(out: string, format?: string): ExportTarget {
  const chosen = format ?? BY_EXTENSION[path.extname(out).toLowerCase()];
  if (chosen === undefined) {
    throw usageError('EXPORT_FORMAT', `cannot tell the export format of ${out} from its extension`, {
      suggestions: [`add --format ${EXPORT_FORMATS.join('|')}`],
    });
  }
  if (!(EXPORT_FORMATS as readonly string[]).includes(chosen)) {
    throw usageError('EXPORT_FORMAT', `unknown export format "${chosen}"`, {
      suggestions: [`use --format ${EXPORT_FORMATS.join('|')}`],
    });
  }
  return { path: path.resolve(out), format: chosen as ExportFormat };
}

/**
 * Refuses an export file inside a local lake (it could replace a data file or a commit) or over a
 * file the query reads (an S3 lake's download cache). Compares real paths: a symlink into the
 * lake is refused too.
 */
export async function assertOutsideLake(
  target: ExportTarget,
  lakeDir: string | undefined,
  readFiles: readonly string[],
): Promise<void> {
  const parent = await realpath(path.dirname(target.path)).catch(() => {
    throw usageError('EXPORT_PATH', `the directory of ${target.path} does not exist`);
  });
  const file = await realpath(target.path).catch(() => path.join(parent, path.basename(target.path)));
  const lake = lakeDir === undefined ? undefined : await realpath(lakeDir).catch(() => path.resolve(lakeDir));
  const read = await Promise.all(readFiles.map((f) => realpath(f).catch(() => f)));
  if ((lake !== undefined && (file === lake || file.startsWith(lake + path.sep))) || read.includes(file)) {
    throw usageError(
      'EXPORT_PATH',
      `--out ${target.path} is inside the lake${lakeDir ? ` ${lakeDir}` : ''}`,
      {
        suggestions: ['write exports outside the lake; only shopstream writes the lake'],
      },
    );
  }
}

/** Result column names as table columns: DuckDB allows `SELECT 1, 1`, a table does not. */
function uniqueNames(names: readonly string[]): string[] {
  const seen = new Set<string>();
  return names.map((name) => {
    let unique = name;
    for (let i = 2; seen.has(unique.toLowerCase()); i++) unique = `${name}_${i}`;
    seen.add(unique.toLowerCase());
    return unique;
  });
}

/** Writes a query result to the target file (via a temp file beside it, then a rename). */
export async function exportResult(result: DuckDBResult, target: ExportTarget): Promise<ExportedResult> {
  const names = uniqueNames(result.columnNames());
  const types = result.columnTypes();
  const db = await DuckDb.open({ threads: 1 });
  const temp = path.join(path.dirname(target.path), `.${path.basename(target.path)}.${randomUUID()}.tmp`);
  try {
    await db.run(
      `CREATE TEMP TABLE __export (${names.map((name, i) => `${quoteIdent(name)} ${types[i]!.toString()}`).join(', ')})`,
    );
    const appender = await db.connection.createAppender('__export', 'main', 'temp');
    let rows = 0;
    for await (const chunk of result) {
      appender.appendDataChunk(chunk);
      rows += chunk.rowCount;
    }
    appender.closeSync();
    try {
      await db.run(`COPY __export TO $1 (${COPY_OPTIONS[target.format]})`, [temp]);
      await rename(temp, target.path);
    } catch (error) {
      throw usageError('EXPORT_WRITE', `cannot write ${target.path}: ${(error as Error).message}`, {
        cause: error,
        suggestions: ['check that the directory of --out exists and is writable'],
      });
    }
    return { ...target, rows };
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  } finally {
    db.close();
  }
}

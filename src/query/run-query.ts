import { fileURLToPath } from 'node:url';
import type { DuckDBPreparedStatement } from '@duckdb/node-api';
import { StatementType } from '../engine/duckdb.js';
import { isShopstreamError, usageError } from '../errors.js';
import type { SnapshotTarget } from '../lake/log/delta-log.js';
import type { Lake } from '../lake/table/lake.js';
import { registerSnapshot } from '../lake/table/table-scan.js';
import { assertOutsideLake, type ExportedResult, type ExportTarget, exportResult } from './export-result.js';

export interface QueryOptions {
  readonly sql: string;
  /** A version number or an ISO-8601 timestamp; applies to every table the query names. */
  readonly asOf?: string;
  /** Write the result to this local file (shopstream writes it, not the query). */
  readonly out?: ExportTarget;
}

export interface QueryResult {
  readonly columns: readonly string[];
  /** The rows; empty when the result went to a file (`exported`). */
  readonly rows: readonly Record<string, unknown>[];
  /** Table name → version read. */
  readonly tables: Readonly<Record<string, number>>;
  readonly exported?: ExportedResult;
}

/** Parses `--as-of`: a whole number is a version, anything else must be a timestamp. */
export function parseAsOf(asOf: string | undefined): SnapshotTarget {
  if (asOf === undefined) return {};
  if (/^\d+$/.test(asOf)) return { version: Number(asOf) };
  const ms = Date.parse(asOf);
  if (Number.isNaN(ms))
    throw usageError('AS_OF', `--as-of "${asOf}" is neither a version number nor a timestamp`);
  return { timestamp: ms };
}

const REFUSED_SUGGESTIONS = [
  'shopstream query runs one read-only SELECT over the lake tables it names',
  'to save a result use --out FILE (--format csv|parquet|json)',
];

/**
 * Runs one read-only DuckDB SELECT with each lake table the text names registered as a view of
 * that name (at the latest version, or as of a version/timestamp).
 *
 * The SQL is the analyst's, so the session is locked first (DuckDB's enable_external_access=false,
 * allowed_paths = the data files of the named tables, lock_configuration=true): no COPY TO, ATTACH,
 * INSTALL/LOAD, secrets or reads of other files, and no SET can lift that. Allowed paths are
 * readable and writable in DuckDB, so only a SELECT statement runs at all: a COPY ... (USE_TMP_FILE
 * false) over a lake data file would otherwise pass.
 */
export async function runQuery(lake: Lake, options: QueryOptions): Promise<QueryResult> {
  const target = parseAsOf(options.asOf);
  const names = await lake.tableNames();
  const tables: Record<string, number> = {};
  const readable: string[] = [];
  for (const name of names) {
    if (!new RegExp(`\\b${name}\\b`, 'i').test(options.sql)) continue;
    const table = lake.table(name);
    const snapshot = await table.snapshot(target);
    readable.push(...(await registerSnapshot(lake.db, lake.store, table.tableKey, snapshot, name)));
    tables[name] = snapshot.version;
  }
  const lakeDir = lake.store.uri.startsWith('file:') ? fileURLToPath(lake.store.uri) : undefined;
  if (options.out) await assertOutsideLake(options.out, lakeDir, readable);
  await lake.db.lockFileAccess(readable);

  const statement = await prepareSelect(lake, options.sql, names);
  try {
    if (options.out) {
      const result = await sqlStep(() => statement.stream(), names);
      const exported = await sqlStep(() => exportResult(result, options.out!), names);
      return { columns: result.columnNames(), rows: [], tables, exported };
    }
    const reader = await sqlStep(() => statement.runAndReadAll(), names);
    return {
      columns: reader.columnNames(),
      rows: reader.getRowObjectsJson() as Record<string, unknown>[],
      tables,
    };
  } finally {
    statement.destroySync();
  }
}

/** Parses and binds the text: exactly one statement, and a SELECT (DESCRIBE, SHOW, SUMMARIZE are). */
async function prepareSelect(
  lake: Lake,
  sql: string,
  names: readonly string[],
): Promise<DuckDBPreparedStatement> {
  const extracted = await sqlStep(() => lake.db.connection.extractStatements(sql), names);
  if (extracted.count !== 1) {
    throw usageError(
      'QUERY_REFUSED',
      `the query holds ${extracted.count} statements; give exactly one SELECT`,
      {
        suggestions: REFUSED_SUGGESTIONS,
      },
    );
  }
  const statement = await sqlStep(() => extracted.prepare(0), names);
  if (statement.statementType !== StatementType.SELECT) {
    const kind = StatementType[statement.statementType] ?? String(statement.statementType);
    statement.destroySync();
    throw usageError('QUERY_REFUSED', `only SELECT queries run here; this is a ${kind} statement`, {
      suggestions: REFUSED_SUGGESTIONS,
    });
  }
  return statement;
}

/** DuckDB failures of the analyst's SQL are their input (exit 64), never our bug. */
async function sqlStep<T>(step: () => Promise<T>, names: readonly string[]): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (isShopstreamError(error)) throw error;
    const message = (error as Error).message;
    // the sandbox said no: the query tried to touch a file, a database or an extension
    if (/^(Failed to extract statements: )?Permission Error/.test(message)) {
      throw usageError('QUERY_REFUSED', `refused: ${message}`, {
        cause: error,
        suggestions: REFUSED_SUGGESTIONS,
      });
    }
    throw usageError('SQL_ERROR', message, {
      cause: error,
      suggestions: [`lake tables: ${names.join(', ') || '(none yet)'}; see them with: shopstream table list`],
    });
  }
}

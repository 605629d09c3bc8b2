import { usageError } from '../errors.js';
import type { SnapshotTarget } from '../lake/delta-log.js';
import type { Lake } from '../lake/lake.js';

export interface QueryOptions {
  readonly sql: string;
  /** A version number or an ISO-8601 timestamp; applies to every table the query names. */
  readonly asOf?: string;
}

export interface QueryResult {
  readonly columns: readonly string[];
  readonly rows: readonly Record<string, unknown>[];
  /** Table name → version read. */
  readonly tables: Readonly<Record<string, number>>;
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

/**
 * Runs DuckDB SQL with each lake table the text names registered as a view of that name (at the
 * latest version, or as of a version/timestamp).
 */
export async function runQuery(lake: Lake, options: QueryOptions): Promise<QueryResult> {
  const target = parseAsOf(options.asOf);
  const names = await lake.tableNames();
  const tables: Record<string, number> = {};
  for (const name of names) {
    if (!new RegExp(`\\b${name}\\b`, 'i').test(options.sql)) continue;
    const snapshot = await lake.table(name).register(name, target);
    tables[name] = snapshot.version;
  }
  let reader: Awaited<ReturnType<typeof lake.db.connection.runAndReadAll>>;
  try {
    reader = await lake.db.connection.runAndReadAll(options.sql);
  } catch (error) {
    // The user's SQL failed to parse, bind or run: their input, not our bug.
    throw usageError('SQL_ERROR', (error as Error).message, {
      cause: error,
      suggestions: [`lake tables: ${names.join(', ') || '(none yet)'}; see them with: shopstream table list`],
    });
  }
  return {
    columns: reader.columnNames(),
    rows: reader.getRowObjectsJson() as Record<string, unknown>[],
    tables,
  };
}

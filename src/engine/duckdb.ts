import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type * as DuckDbApi from '@duckdb/node-api';
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';

// @duckdb/node-api is CommonJS (124 modules). Imported from ESM, Node first lexes every module's
// source for its named exports: ~190 ms CPU per process instead of ~80 ms through require.
const duckDbApi = createRequire(import.meta.url)('@duckdb/node-api') as typeof DuckDbApi;
const { DuckDBInstance } = duckDbApi;
type DuckDBInstance = DuckDbApi.DuckDBInstance;
/** The statement kinds a prepared statement reports (loaded with the engine, see above). */
export const { StatementType } = duckDbApi;

/**
 * A DuckDB session: one in-memory instance and connection, UTC time zone, bound parameters only.
 * Everything the lake reads or writes in bulk runs through here.
 */
export interface DuckDbOptions {
  readonly threads?: number;
  readonly memoryLimit?: string;
  /** DuckDB's temp_directory: spill files (default `.tmp` in the working directory). */
  readonly tempDirectory?: string;
  readonly path?: string;
}

export type SqlParams = readonly DuckDBValue[] | Record<string, DuckDBValue>;

export class DuckDb {
  private constructor(
    private readonly instance: DuckDBInstance,
    readonly connection: DuckDBConnection,
    private readonly ownsInstance = true,
  ) {}

  /** Another connection to the same database: its own temp objects and transactions. */
  async fork(): Promise<DuckDb> {
    const connection = await this.instance.connect();
    await connection.run("SET TimeZone = 'UTC'");
    return new DuckDb(this.instance, connection, false);
  }

  static async open(options: DuckDbOptions = {}): Promise<DuckDb> {
    const config: Record<string, string> = {};
    if (options.threads) config.threads = String(options.threads);
    if (options.memoryLimit) config.memory_limit = options.memoryLimit;
    if (options.tempDirectory) {
      // DuckDB creates the last directory of the path only, and only once it spills
      await mkdir(options.tempDirectory, { recursive: true });
      config.temp_directory = options.tempDirectory;
    }
    const instance = await DuckDBInstance.create(options.path ?? ':memory:', config);
    const connection = await instance.connect();
    // ICU is bundled and loads with the instance, so the zone can only be set once connected.
    await connection.run("SET TimeZone = 'UTC'");
    return new DuckDb(instance, connection);
  }

  async run(sql: string, params?: SqlParams): Promise<void> {
    await this.connection.run(sql, params as DuckDBValue[] | undefined);
  }

  /** Rows as plain JSON-friendly objects (bigints and decimals as strings, timestamps as text). */
  async all<T = Record<string, unknown>>(sql: string, params?: SqlParams): Promise<T[]> {
    const reader = await this.connection.runAndReadAll(sql, params as DuckDBValue[] | undefined);
    return reader.getRowObjectsJson() as T[];
  }

  /** Rows with native JS values (bigint, Date-like DuckDB values). */
  async rows(sql: string, params?: SqlParams): Promise<Record<string, DuckDBValue>[]> {
    const reader = await this.connection.runAndReadAll(sql, params as DuckDBValue[] | undefined);
    return reader.getRowObjects();
  }

  /**
   * Locks this instance down for SQL we did not write: from now on it reads only the given files,
   * writes no file, attaches no database, installs or loads no extension, and no later statement
   * can change that (lock_configuration). There is no way back: use it on a session about to end.
   */
  async lockFileAccess(readableFiles: readonly string[]): Promise<void> {
    // a SET takes no bound parameter; the paths are the lake's own data files, quoted
    await this.run(`SET allowed_paths = [${readableFiles.map(quoteLiteral).join(', ')}]`);
    await this.run('SET autoinstall_known_extensions = false');
    await this.run('SET autoload_known_extensions = false');
    await this.run('SET enable_external_access = false');
    await this.run('SET lock_configuration = true');
  }

  close(): void {
    this.connection.closeSync();
    if (this.ownsInstance) this.instance.closeSync();
  }
}

/**
 * DuckDB allows one writing process per database file; a second one fails to take the file lock.
 * That is a conflict to retry once the other process ends, not bad data.
 */
export function isFileLockConflict(error: unknown): boolean {
  return error instanceof Error && /Could not set lock on file/i.test(error.message);
}

/** Quotes an identifier for DuckDB. Identifiers come from table schemas, never from free text. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Quotes a string literal. Used only for internal file paths in view definitions, where DuckDB
 * cannot take a bound parameter (a view's table function arguments are fixed at creation).
 */
export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

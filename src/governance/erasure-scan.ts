import { createHash } from 'node:crypto';
import { lstat, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DELETION_REQUESTS } from '../catalog/tables/deletion-requests.js';
import { type DuckDb, quoteIdent } from '../engine/duckdb.js';
import type { Lake } from '../lake/table/lake.js';
import { defaultCacheRoot } from '../storage/staging.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import type { UserMatcher } from './erasure-match.js';

/**
 * Byte scans for erased users: every object of the lake (data, `_delta_log` commits and
 * checkpoints, everything under `_shopstream/`), local directories holding lake data outside it
 * (spools, download caches), and every table of a DuckDB warehouse. Parquet is decoded (values
 * and the min/max statistics in its footer); other files are read as text (gzip inflated).
 */

export interface Finding {
  /** `lake:<key>`, `local:<path>` or `warehouse:<schema>.<table>`. */
  readonly where: string;
  /** The raw or escaped id, or the pseudonymized key. */
  readonly found: 'id' | 'key';
}

export interface ScanReport {
  readonly lakeFiles: number;
  readonly lakeBytes: number;
  readonly localFiles: number;
  readonly warehouseTables: readonly string[];
  /** False when the warehouse kind cannot be scanned here (Snowflake). */
  readonly warehouseScanned: boolean | null;
  readonly findings: readonly Finding[];
}

/** The lake's generated secrets (pseudonym and signing keys): no user data, never scanned. */
export const SECRETS_PREFIX = '_shopstream/secrets/';

/** The request records keep the key (never the id) as the proof of deletion. */
export function keysAllowedAt(lakeKey: string): boolean {
  return lakeKey.startsWith(`${DELETION_REQUESTS}/`);
}

/** Which of the users a Parquet file holds, in its decoded values or its footer statistics. */
export async function scanParquet(
  db: DuckDb,
  localPath: string,
  matcher: UserMatcher,
  keysAllowed: boolean,
): Promise<'id' | 'key' | undefined> {
  const keyPattern = keysAllowed || matcher.userKeys.length === 0 ? null : matcher.userKeys.join('|');
  const described = await db.all<{ column_name: string; column_type: string }>(
    'DESCRIBE SELECT * FROM read_parquet($file, hive_partitioning = false)',
    { file: localPath },
  );
  const text = textOf(described);
  const [values] = text
    ? await db.all<{ id: boolean; key: boolean }>(
        `SELECT coalesce(bool_or(regexp_matches(s, $re)), false) AS id,
                coalesce(bool_or($keys IS NOT NULL AND regexp_matches(s, $keys)), false) AS key
         FROM (SELECT ${text} AS s FROM read_parquet($file, hive_partitioning = false))`,
        { file: localPath, re: matcher.pattern, keys: keyPattern },
      )
    : [];
  if (values?.id) return 'id';
  const stats = await db.all<{ s: string | null }>(
    `SELECT concat_ws(' ', stats_min, stats_max, stats_min_value, stats_max_value) AS s
     FROM parquet_metadata($file)`,
    { file: localPath },
  );
  const footer = stats.map((r) => r.s ?? '').join('\n');
  const inFooter = matcher.find(footer, { keysAllowed });
  if (inFooter === 'id') return 'id';
  return values?.key ? 'key' : inFooter;
}

/**
 * SQL for a row's text: its string, binary and nested columns, one per line; numbers, dates and
 * booleans cannot hold an id (a numeric id would match unrelated amounts anyway). Undefined when a
 * relation has no such column.
 */
export function textOf(columns: readonly { column_name: string; column_type: string }[]): string | undefined {
  const text = columns.filter((c) => /VARCHAR|BLOB|JSON|STRUCT|MAP|UNION|\[\]/.test(c.column_type));
  if (text.length === 0) return undefined;
  return `concat_ws(chr(10), ${text.map((c) => `CAST(${quoteIdent(c.column_name)} AS VARCHAR)`).join(', ')})`;
}

/** Which of the users some bytes hold, read as text (gzip inflated first). */
export function scanBytes(
  bytes: Uint8Array,
  matcher: UserMatcher,
  keysAllowed: boolean,
): 'id' | 'key' | undefined {
  let data = Buffer.from(bytes);
  if (data.length > 2 && data[0] === 0x1f && data[1] === 0x8b) {
    try {
      data = gunzipSync(data);
    } catch {
      // not gzip after all: scan as it is
    }
  }
  return (
    matcher.find(data.toString('utf8'), { keysAllowed }) ??
    matcher.find(data.toString('latin1'), { keysAllowed })
  );
}

/** Every regular file under `dir` (none when it does not exist); symbolic links are not followed. */
export async function walkLocal(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walkLocal(full)));
    else if (entry.isFile()) out.push(full);
  }
  return out.sort();
}

async function scanLocalFile(
  db: DuckDb,
  file: string,
  matcher: UserMatcher,
): Promise<'id' | 'key' | undefined> {
  if (file.endsWith('.parquet')) {
    try {
      return await scanParquet(db, file, matcher, false);
    } catch {
      // a half-written Parquet file: fall back to its bytes
    }
  }
  const info = await lstat(file);
  if (!info.isFile()) return undefined;
  return scanBytes(await readFile(file), matcher, false);
}

/** Scans the whole lake, the local directories and the warehouse for the users. */
export async function scanForUsers(
  lake: Lake,
  matcher: UserMatcher,
  options: { readonly localDirs?: readonly string[]; readonly warehouse?: Warehouse } = {},
): Promise<ScanReport> {
  const findings: Finding[] = [];
  let lakeBytes = 0;
  // secrets are random keys we generated: base64 could spell a short id between two separators
  const objects = (await lake.store.list(''))
    .filter((info) => !info.key.startsWith(SECRETS_PREFIX))
    .sort((a, b) => a.key.localeCompare(b.key));
  for (const info of objects) {
    lakeBytes += info.size;
    const keysAllowed = keysAllowedAt(info.key);
    let found: 'id' | 'key' | undefined;
    if (info.key.endsWith('.parquet')) {
      try {
        found = await scanParquet(lake.db, await lake.store.localPath(info.key), matcher, keysAllowed);
      } catch {
        found = scanBytes(await lake.store.get(info.key), matcher, keysAllowed);
      }
    } else {
      found = scanBytes(await lake.store.get(info.key), matcher, keysAllowed);
    }
    if (found) findings.push({ where: `lake:${info.key}`, found });
  }
  let localFiles = 0;
  for (const dir of options.localDirs ?? []) {
    for (const file of await walkLocal(dir)) {
      localFiles++;
      const found = await scanLocalFile(lake.db, file, matcher);
      if (found) findings.push({ where: `local:${file}`, found });
    }
  }
  const warehouseTables: string[] = [];
  let warehouseScanned: boolean | null = null;
  if (options.warehouse) {
    warehouseScanned = options.warehouse.kind === 'duckdb';
    if (warehouseScanned) {
      for (const found of await scanDuckDbWarehouse(options.warehouse, matcher, warehouseTables)) {
        findings.push(found);
      }
    }
  }
  return { lakeFiles: objects.length, lakeBytes, localFiles, warehouseTables, warehouseScanned, findings };
}

/** Every table of every schema of a DuckDB warehouse, each row as text. */
async function scanDuckDbWarehouse(
  warehouse: Warehouse,
  matcher: UserMatcher,
  scanned: string[],
): Promise<Finding[]> {
  const tables = await warehouse.query<{ s: string; t: string }>(
    `SELECT table_schema AS s, table_name AS t FROM information_schema.tables
     WHERE table_catalog = current_database() AND table_type = 'BASE TABLE' ORDER BY 1, 2`,
  );
  const keyPattern = matcher.userKeys.length === 0 ? null : matcher.userKeys.join('|');
  const findings: Finding[] = [];
  for (const { s, t } of tables) {
    const name = `${s}.${t}`;
    scanned.push(name);
    const quoted = `${quoteIdent(s)}.${quoteIdent(t)}`;
    const text = textOf(
      await warehouse.query<{ column_name: string; column_type: string }>(`DESCRIBE ${quoted}`),
    );
    if (!text) continue;
    const [row] = await warehouse.query<{ id: boolean; key: boolean }>(
      `SELECT coalesce(bool_or(regexp_matches(s, $1)), false) AS id,
              coalesce(bool_or($2 IS NOT NULL AND regexp_matches(s, $2)), false) AS key
       FROM (SELECT ${text} AS s FROM ${quoted})`,
      [matcher.pattern, keyPattern],
    );
    if (row?.id) findings.push({ where: `warehouse:${name}`, found: 'id' });
    else if (row?.key) findings.push({ where: `warehouse:${name}`, found: 'key' });
  }
  return findings;
}

/**
 * Local directories that hold a lake's data outside it. `owned`: the micro-batch spool of versions
 * that kept it in the system temp folder (and of s3:// lakes), one per lake — scanned by verify and
 * cleaned by forget. `shared`: the S3 download caches, shared by every lake of the bucket on this
 * machine — forget deletes cached copies holding the users; verify leaves them out (they would
 * report other lakes' copies; the store drops a deleted object's copies, and verify reads the
 * lake's current objects through the cache anyway).
 */
export function localLakeDirs(storeUri: string, isS3: boolean): { owned: string[]; shared: string[] } {
  const owned = [
    path.join(
      os.tmpdir(),
      'shopstream-microbatch',
      createHash('sha256').update(storeUri).digest('hex').slice(0, 16),
    ),
  ];
  if (!isS3) return { owned, shared: [] };
  const cacheRoot = defaultCacheRoot();
  return {
    owned,
    // the download cache and staged uploads (src/storage/staging.ts), and the pre-0.2 shared cache
    shared: [
      path.join(os.tmpdir(), 'shopstream-s3-cache'),
      path.join(cacheRoot, 's3'),
      path.join(cacheRoot, 'staging'),
    ],
  };
}

import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { quoteLiteral } from '../engine/duckdb.js';
import { isShopstreamError, usageError } from '../errors.js';
import type { Action, AddFile } from '../lake/actions.js';
import { appendRows } from '../lake/append-rows.js';
import { writeDataFiles } from '../lake/data-writer.js';
import type { DeltaTable } from '../lake/delta-table.js';
import type { Lake } from '../lake/lake.js';
import { toRemove, unreferencedDataFiles } from '../lake/maintenance.js';
import type { ColumnDef } from '../lake/schema.js';
import { fileKey, type Snapshot } from '../lake/snapshot.js';
import { dataFileLocalPath, registerSnapshot } from '../lake/table-scan.js';
import { clearUserFlags } from '../stream/redis-sink.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { type PseudonymKey, resolvePseudonymKey } from './pseudonym.js';

export const DELETION_REQUESTS = 'deletion_requests';

/** Tables a forget never rewrites: they hold user keys, never ids, and are the record of it. */
const UNTOUCHED = new Set([DELETION_REQUESTS, 'audit_log']);

const REQUEST_COLUMNS: readonly ColumnDef[] = [
  { name: 'request_id', type: 'string', nullable: false, comment: 'One per user per forget run.' },
  { name: 'user_key', type: 'string', nullable: false, comment: 'Pseudonymized user (never the id).' },
  { name: 'status', type: 'string', nullable: false, comment: 'pending, then completed (latest row wins).' },
  { name: 'requested_at', type: 'timestamp', nullable: false, comment: 'When the request was recorded.' },
  { name: 'updated_at', type: 'timestamp', nullable: false, comment: 'When this status was recorded.' },
  { name: 'actor', type: 'string', comment: 'Who ran it (SHOPSTREAM_ACTOR or the OS user).' },
  { name: 'receipt', type: 'string', comment: 'JSON: tables, versions, files and rows affected.' },
];

const MAX_ATTEMPTS = 3;

export interface ForgetOptions {
  readonly userIds: readonly string[];
  /** privacy.pseudonymKey, to find the users' rows in pseudonymized marts. */
  readonly pseudonymSecret?: string;
  /** When given, the users' rows are deleted there too. */
  readonly warehouse?: Warehouse;
  /** When given, the users' fraud flag keys are deleted there. */
  readonly redisUrl?: string;
  readonly actor: string;
  readonly now?: () => Date;
}

export interface TableDeletion {
  readonly table: string;
  /** The DELETE commit; null when the table held none of the users' rows. */
  readonly version: number | null;
  readonly rowsDeleted: number;
  readonly filesRemoved: number;
  readonly filesAdded: number;
  /** Superseded files holding the users, physically deleted (including the ones just removed). */
  readonly filesPurged: readonly string[];
}

export interface ForgetReceipt {
  readonly requests: readonly { readonly requestId: string; readonly userKey: string }[];
  readonly startedAt: string;
  readonly completedAt: string;
  readonly tables: readonly TableDeletion[];
  readonly rowsDeleted: number;
  readonly warehouse: {
    readonly kind: string;
    readonly tables: readonly { readonly table: string; readonly rowsDeleted: number }[];
  } | null;
  readonly redisKeysDeleted: number | null;
}

export interface DeletionRequest {
  readonly requestId: string;
  readonly userKey: string;
  readonly status: string;
  readonly requestedAt: string;
  readonly updatedAt: string;
  readonly actor: string | null;
  readonly rowsDeleted: number | null;
}

/**
 * GDPR forget: records a request per user, deletes the users' rows from every lake table that
 * holds user ids, user keys or raw records (rewriting only the files holding them: a Delta DELETE
 * of remove + add), physically deletes every superseded file still holding them (a targeted
 * vacuum: other history stays), then deletes them in the warehouse and Redis, and records the
 * receipt. A rerun finds nothing left and changes nothing.
 */
export async function forgetUsers(lake: Lake, options: ForgetOptions): Promise<ForgetReceipt> {
  const now = options.now ?? (() => new Date());
  const userIds = [...new Set(options.userIds.map((id) => id.trim()).filter((id) => id.length > 0))];
  if (userIds.length === 0) throw usageError('GDPR_NO_USERS', 'no user ids given');
  const key = await resolvePseudonymKey(lake, options.pseudonymSecret);
  const startedAt = now();
  const requests = userIds.map((id) => ({ requestId: `del_${randomUUID()}`, userKey: key.userKey(id) }));
  await recordRequests(lake, requests, 'pending', startedAt, startedAt, options.actor, null);

  await stageUsers(lake, userIds, key);
  const tables: TableDeletion[] = [];
  // each table's columns, as the deletion read them: the warehouse copies have the same
  const columnsOf = new Map<string, ReadonlySet<string>>();
  try {
    for (const name of await lake.tableNames()) {
      if (UNTOUCHED.has(name)) continue;
      const { deletion, columns } = await forgetInTable(lake, lake.table(name), requests.length);
      columnsOf.set(name, columns);
      if (deletion) tables.push(deletion);
    }
  } finally {
    await lake.db.run('DROP TABLE IF EXISTS __gdpr_users');
  }

  const warehouse = options.warehouse
    ? {
        kind: options.warehouse.kind,
        tables: await forgetInWarehouse(options.warehouse, columnsOf, userIds, key),
      }
    : null;
  const redisKeysDeleted = options.redisUrl ? await clearUserFlags(options.redisUrl, userIds) : null;
  const receipt: ForgetReceipt = {
    requests,
    startedAt: startedAt.toISOString(),
    completedAt: now().toISOString(),
    tables,
    rowsDeleted: tables.reduce((sum, t) => sum + t.rowsDeleted, 0),
    warehouse,
    redisKeysDeleted,
  };
  await recordRequests(lake, requests, 'completed', startedAt, now(), options.actor, receipt);
  return receipt;
}

/**
 * User ids from an erasure requests file: one per line, blank lines and `#` comments skipped. A
 * missing file is no requests with `missingOk`, else (like any unreadable file) a usage error.
 */
export async function readUserIdsFile(
  file: string,
  options: { readonly missingOk?: boolean } = {},
): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (options.missingOk && (error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw usageError('GDPR_FILE', `cannot read ${file}`, { cause: error });
  }
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
}

/** Every request, latest status first; only the given user's when `userId` is set. */
export async function deletionRequests(
  lake: Lake,
  options: { readonly userId?: string; readonly pseudonymSecret?: string } = {},
): Promise<DeletionRequest[]> {
  const table = lake.table(DELETION_REQUESTS);
  if (!(await table.exists())) return [];
  await table.register('__gdpr_requests_view');
  const userKey =
    options.userId === undefined
      ? null
      : (await resolvePseudonymKey(lake, options.pseudonymSecret)).userKey(options.userId);
  const rows = await lake.db.all<{
    request_id: string;
    user_key: string;
    status: string;
    requested_at: string;
    updated_at: string;
    actor: string | null;
    rows_deleted: string | null;
  }>(
    `SELECT request_id, user_key, status, strftime(requested_at, '%Y-%m-%dT%H:%M:%S.%gZ') AS requested_at,
            strftime(updated_at, '%Y-%m-%dT%H:%M:%S.%gZ') AS updated_at, actor,
            CAST(json_extract(receipt, '$.rowsDeleted') AS BIGINT) AS rows_deleted
     FROM __gdpr_requests_view
     WHERE $user_key IS NULL OR user_key = $user_key
     QUALIFY row_number() OVER (PARTITION BY request_id ORDER BY updated_at DESC, status = 'completed' DESC) = 1
     ORDER BY requested_at DESC, request_id`,
    { user_key: userKey },
  );
  await lake.db.run('DROP VIEW IF EXISTS __gdpr_requests_view');
  return rows.map((r) => ({
    requestId: r.request_id,
    userKey: r.user_key,
    status: r.status,
    requestedAt: r.requested_at,
    updatedAt: r.updated_at,
    actor: r.actor,
    rowsDeleted: r.rows_deleted === null ? null : Number(r.rows_deleted),
  }));
}

async function recordRequests(
  lake: Lake,
  requests: ForgetReceipt['requests'],
  status: 'pending' | 'completed',
  requestedAt: Date,
  updatedAt: Date,
  actor: string,
  receipt: ForgetReceipt | null,
): Promise<void> {
  await appendRows(
    lake,
    DELETION_REQUESTS,
    {
      columns: REQUEST_COLUMNS,
      partitionColumns: [],
      description: 'GDPR deletion requests and their receipts (user keys only, never ids).',
    },
    requests.map((request) => ({
      request_id: request.requestId,
      user_key: request.userKey,
      status,
      requested_at: requestedAt.toISOString(),
      updated_at: updatedAt.toISOString(),
      actor,
      receipt: receipt ? JSON.stringify(receipt) : null,
    })),
    { gdpr: status },
  );
}

/** The users as a temp table: id, key, and a pattern finding the id as a whole word in raw text. */
async function stageUsers(lake: Lake, userIds: readonly string[], key: PseudonymKey): Promise<void> {
  const db = lake.db;
  await db.run(
    'CREATE OR REPLACE TEMP TABLE __gdpr_users (user_id VARCHAR, user_key VARCHAR, pattern VARCHAR)',
  );
  for (const id of userIds) {
    const escaped = id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    await db.run('INSERT INTO __gdpr_users VALUES ($id, $key, $pattern)', {
      id,
      key: key.userKey(id),
      pattern: `(^|[^A-Za-z0-9_-])${escaped}($|[^A-Za-z0-9_-])`,
    });
  }
}

/** SQL true for a row of the users, from the columns a table has; undefined when it has none. */
function userPredicate(columns: ReadonlySet<string>): string | undefined {
  const parts: string[] = [];
  if (columns.has('user_id')) parts.push('user_id IN (SELECT user_id FROM __gdpr_users)');
  if (columns.has('user_key')) parts.push('user_key IN (SELECT user_key FROM __gdpr_users)');
  if (columns.has('raw')) {
    parts.push('EXISTS (SELECT 1 FROM __gdpr_users AS u WHERE regexp_matches(raw, u.pattern))');
  }
  return parts.length === 0 ? undefined : `coalesce(${parts.join(' OR ')}, false)`;
}

async function forgetInTable(
  lake: Lake,
  table: DeltaTable,
  users: number,
): Promise<{ readonly deletion?: TableDeletion; readonly columns: ReadonlySet<string> }> {
  for (let attempt = 1; ; attempt++) {
    const snapshot = await table.snapshot();
    const columns = new Set(snapshot.schema.fields.map((f) => f.name));
    const predicate = userPredicate(columns);
    if (!predicate) return { columns };
    try {
      const deleted = await deleteRows(lake, table, snapshot, predicate, users);
      const purged = await purgeSuperseded(lake, table, deleted.removedPaths);
      return { deletion: { ...deleted.result, filesPurged: purged }, columns };
    } catch (error) {
      // a concurrent commit removed a file we rewrote (compaction): redo from the new snapshot
      if (attempt < MAX_ATTEMPTS && isShopstreamError(error) && error.kind === 'conflict') continue;
      throw error;
    }
  }
}

async function deleteRows(
  lake: Lake,
  table: DeltaTable,
  snapshot: Snapshot,
  predicate: string,
  users: number,
): Promise<{ result: Omit<TableDeletion, 'filesPurged'>; removedPaths: string[] }> {
  const db = lake.db;
  const none = {
    result: { table: table.name, version: null, rowsDeleted: 0, filesRemoved: 0, filesAdded: 0 },
    removedPaths: [],
  };
  if (snapshot.files.length === 0) return none;
  await registerSnapshot(db, lake.store, table.tableKey, snapshot, '__gdpr_scan', snapshot.files, {
    fileColumn: '__lake_file',
  });
  const hits = await db.all<{ file: string; n: string }>(
    `SELECT __lake_file AS file, count(*) AS n FROM __gdpr_scan WHERE ${predicate} GROUP BY 1`,
  );
  await db.run('DROP VIEW __gdpr_scan');
  if (hits.length === 0) return none;
  const hitFiles = new Set(hits.map((h) => h.file));
  const affected: AddFile[] = snapshot.files.filter((f) => hitFiles.has(f.path));
  const rowsDeleted = hits.reduce((sum, h) => sum + Number(h.n), 0);

  await registerSnapshot(db, lake.store, table.tableKey, snapshot, '__gdpr_affected', affected);
  await db.run(
    `CREATE OR REPLACE TEMP VIEW __gdpr_keep AS SELECT * FROM __gdpr_affected WHERE NOT ${predicate}`,
  );
  const added = await writeDataFiles(db, lake.store, table.tableKey, '__gdpr_keep', {
    schema: snapshot.schema,
    partitionColumns: snapshot.partitionColumns,
  });
  await db.run('DROP VIEW __gdpr_keep');
  await db.run('DROP VIEW __gdpr_affected');
  const now = Date.now();
  const actions: Action[] = [
    ...affected.map((file) => ({ remove: toRemove(file, now, true) })),
    ...added.map((add) => ({ add })),
  ];
  const copied = added.reduce((sum, add) => sum + (JSON.parse(add.stats ?? '{}').numRecords ?? 0), 0);
  const version = await table.log.commit({
    readVersion: snapshot.version,
    actions,
    operation: 'DELETE',
    // never the ids: the log is immutable
    parameters: { predicate: `gdpr forget (${users} user${users === 1 ? '' : 's'})` },
    metrics: {
      numRemovedFiles: affected.length,
      numAddedFiles: added.length,
      numDeletedRows: rowsDeleted,
      numCopiedRows: copied,
    },
    scope: { kind: 'compact' },
  });
  return {
    result: {
      table: table.name,
      version,
      rowsDeleted,
      filesRemoved: affected.length,
      filesAdded: added.length,
    },
    removedPaths: affected.map((f) => f.path),
  };
}

/**
 * Physically deletes the table's data files that no longer belong to the latest version and still
 * hold the users: the files this forget just removed, and older superseded files (kept for time
 * travel) that a scan finds them in. Files without the users stay, and so does their history.
 */
async function purgeSuperseded(
  lake: Lake,
  table: DeltaTable,
  justRemoved: readonly string[],
): Promise<string[]> {
  const known = new Set(justRemoved.map(fileKey));
  const prefix = `${table.tableKey}/`;
  const candidates = (await unreferencedDataFiles(lake, table, await table.snapshot()))
    .map((f) => f.relative)
    .filter((relative) => relative.endsWith('.parquet') && !known.has(relative));
  const doomed = [...known];
  if (candidates.length > 0) {
    const locals = await Promise.all(candidates.map((c) => dataFileLocalPath(lake.store, table.tableKey, c)));
    const list = `[${locals.map(quoteLiteral).join(', ')}]`;
    const described = await lake.db.all<{ column_name: string }>(
      `DESCRIBE SELECT * FROM read_parquet(${list}, union_by_name = true)`,
    );
    const predicate = userPredicate(new Set(described.map((c) => c.column_name)));
    if (predicate) {
      const found = await lake.db.all<{ filename: string }>(
        `SELECT DISTINCT filename FROM read_parquet(${list}, filename = true, union_by_name = true, hive_partitioning = false) WHERE ${predicate}`,
      );
      const hit = new Set(found.map((f) => f.filename));
      candidates.forEach((candidate, i) => {
        if (hit.has(locals[i]!)) doomed.push(candidate);
      });
    }
  }
  for (const relative of doomed) await lake.store.delete(`${prefix}${relative}`);
  return doomed.sort();
}

async function forgetInWarehouse(
  warehouse: Warehouse,
  columnsOf: ReadonlyMap<string, ReadonlySet<string>>,
  userIds: readonly string[],
  key: PseudonymKey,
): Promise<{ table: string; rowsDeleted: number }[]> {
  const out: { table: string; rowsDeleted: number }[] = [];
  for (const [name, columns] of columnsOf) {
    if (!columns.has('user_id') && !columns.has('user_key')) continue;
    if ((await warehouse.loadedVersion(name)) === undefined) continue;
    let rowsDeleted = 0;
    if (columns.has('user_id')) rowsDeleted += await warehouse.deleteWhere(name, 'user_id', userIds);
    if (columns.has('user_key')) {
      rowsDeleted += await warehouse.deleteWhere(
        name,
        'user_key',
        userIds.map((id) => key.userKey(id)),
      );
    }
    out.push({ table: name, rowsDeleted });
  }
  return out;
}

import { randomUUID } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { quoteIdent, quoteLiteral } from '../engine/duckdb.js';
import { isShopstreamError, usageError } from '../errors.js';
import { type Action, type AddFile, toRemove } from '../lake/log/actions.js';
import type { CommitProperties } from '../lake/log/delta-log.js';
import { LOG_DIR, parseLogFileName } from '../lake/log/log-files.js';
import { fileKey, type Snapshot } from '../lake/log/snapshot.js';
import { unreferencedDataFiles } from '../lake/operations/vacuum.js';
import { appendRows } from '../lake/table/append-rows.js';
import type { ColumnDef } from '../lake/table/columns.js';
import { writeDataFiles } from '../lake/table/data-writer.js';
import type { DeltaTable } from '../lake/table/delta-table.js';
import type { Lake } from '../lake/table/lake.js';
import { dataFileLocalPath, registerSnapshot } from '../lake/table/table-scan.js';
import { clearUserFlags } from '../stream/redis-sink.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { UserMatcher } from './erasure-match.js';
import {
  keysAllowedAt,
  type ScanReport,
  SECRETS_PREFIX,
  scanBytes,
  scanForUsers,
  scanParquet,
  walkLocal,
} from './erasure-scan.js';
import { type ReceiptSignature, resolveSigningKey, signReceipt } from './erasure-signature.js';
import { type PseudonymKey, resolvePseudonymKey } from './pseudonym.js';

export const DELETION_REQUESTS = 'deletion_requests';

/** The table a forget never rewrites: it holds user keys, never ids, and is the record of it. */
const UNTOUCHED = new Set([DELETION_REQUESTS]);
/** Columns that identify a row as the user's: such rows are deleted. */
const IDENTITY_COLUMNS = new Set(['user_id', 'user_key', 'raw']);
/** GDPR Art. 12(3): a request is answered within one month. */
export const ERASURE_DEADLINE_DAYS = 30;

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
  /** The run forgetting: stamped on the lake commits it makes. */
  readonly runId?: string;
  readonly now?: () => Date;
  /** gdpr.signingKeyPath: the Ed25519 PEM private key signing receipts (else the lake's own). */
  readonly signingKeyPath?: string;
  /**
   * Local directories holding this lake's data outside the lake (an old or s3:// lake's micro-batch
   * spool): their files holding the users deleted or rewritten, and scanned again by the verification.
   */
  readonly localDirs?: readonly string[];
  /** Caches shared with other lakes (S3 downloads): copies holding the users deleted, not verified. */
  readonly sharedCacheDirs?: readonly string[];
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
  /** Other rows whose text quoted an id (audit errors, URLs): kept with the id `[erased]`. */
  readonly rowsRedacted: number;
  /** Live data files scanned. */
  readonly filesScanned: number;
  /** The checkpoint written so older log files holding the users could go; null when none did. */
  readonly checkpointVersion: number | null;
  /** `_delta_log/` files (commits, checkpoints) holding the users, deleted. */
  readonly logFilesDeleted: readonly string[];
}

/** Files outside the tables (under `_shopstream/` and the local directories) a forget changed. */
export interface OtherFiles {
  readonly scanned: number;
  /** Deleted whole: landed spools, staging leftovers, cached downloads, load files. */
  readonly deleted: readonly string[];
  /** Kept without the users: unlanded spools lose their lines, JSON state gets `[erased]`. */
  readonly rewritten: readonly string[];
}

export interface ForgetReceipt {
  readonly requests: readonly { readonly requestId: string; readonly userKey: string }[];
  readonly lake: string;
  readonly startedAt: string;
  readonly completedAt: string;
  /** Every lake table scanned (rewritten ones have a DELETE version in `tables`). */
  readonly tablesScanned: readonly string[];
  readonly tables: readonly TableDeletion[];
  readonly rowsDeleted: number;
  readonly otherFiles: OtherFiles;
  readonly warehouse: {
    readonly kind: string;
    readonly tables: readonly { readonly table: string; readonly rowsDeleted: number }[];
  } | null;
  readonly redisKeysDeleted: number | null;
  /** The scan of every byte after the erasure: `findings` empty means nothing of the users is left. */
  readonly verification: ScanReport;
  readonly signature: ReceiptSignature;
}

export interface DeletionRequest {
  readonly requestId: string;
  readonly userKey: string;
  readonly status: string;
  readonly requestedAt: string;
  readonly updatedAt: string;
  readonly actor: string | null;
  readonly rowsDeleted: number | null;
  /** Whole days since the request. */
  readonly ageDays: number;
  /** requestedAt + 30 days: the request must be completed by then. */
  readonly deadline: string;
  /** Not completed and past the deadline. */
  readonly overdue: boolean;
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
  // before anything is deleted: a bad key path fails the run while it can still be fixed
  const signingKey = await resolveSigningKey(lake, options.signingKeyPath);
  const matcher = new UserMatcher(
    userIds,
    userIds.map((id) => key.userKey(id)),
  );
  const startedAt = now();
  const requests = userIds.map((id) => ({ requestId: `del_${randomUUID()}`, userKey: key.userKey(id) }));
  const commit: CommitProperties = options.runId ? { runId: options.runId } : {};
  await recordRequests(lake, requests, 'pending', startedAt, startedAt, options.actor, null, commit);

  await stageUsers(lake, userIds, key, matcher);
  const tables: TableDeletion[] = [];
  const tablesScanned: string[] = [];
  // each table's columns, as the deletion read them: the warehouse copies have the same
  const columnsOf = new Map<string, ReadonlySet<string>>();
  try {
    for (const name of await lake.tableNames()) {
      if (UNTOUCHED.has(name)) continue;
      tablesScanned.push(name);
      const table = lake.table(name);
      const { deletion, columns } = await forgetInTable(lake, table, requests.length, commit);
      columnsOf.set(name, columns);
      const log = await cleanLog(lake, table, matcher);
      if (deletion || log.deleted.length > 0) {
        tables.push({
          ...(deletion ?? emptyDeletion(name)),
          checkpointVersion: log.checkpointVersion,
          logFilesDeleted: log.deleted,
        });
      }
    }
  } finally {
    await lake.db.run('DROP TABLE IF EXISTS __gdpr_users');
    await lake.db.run('RESET VARIABLE __gdpr_pattern');
  }
  const otherFiles = await forgetInOtherFiles(lake, matcher, [
    ...(options.localDirs ?? []),
    ...(options.sharedCacheDirs ?? []),
  ]);

  const warehouse = options.warehouse
    ? {
        kind: options.warehouse.kind,
        tables: await forgetInWarehouse(options.warehouse, columnsOf, userIds, key, matcher),
      }
    : null;
  const redisKeysDeleted = options.redisUrl ? await clearUserFlags(options.redisUrl, userIds) : null;
  const verification = await scanForUsers(lake, matcher, {
    ...(options.localDirs ? { localDirs: options.localDirs } : {}),
    ...(options.warehouse ? { warehouse: options.warehouse } : {}),
  });
  const receipt = signReceipt(
    {
      requests,
      lake: lake.store.uri,
      startedAt: startedAt.toISOString(),
      completedAt: now().toISOString(),
      tablesScanned,
      tables,
      rowsDeleted: tables.reduce((sum, t) => sum + t.rowsDeleted, 0),
      otherFiles,
      warehouse,
      redisKeysDeleted,
      verification,
    },
    signingKey,
  );
  const status = verification.findings.length === 0 ? 'completed' : 'incomplete';
  await recordRequests(lake, requests, status, startedAt, now(), options.actor, receipt, commit);
  return receipt;
}

function emptyDeletion(table: string): TableDeletion {
  return {
    table,
    version: null,
    rowsDeleted: 0,
    filesRemoved: 0,
    filesAdded: 0,
    filesPurged: [],
    rowsRedacted: 0,
    filesScanned: 0,
    checkpointVersion: null,
    logFilesDeleted: [],
  };
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

/** The users a gdpr command names: `--user` ids, then the ids of `--file`; none is a usage error. */
export async function requestedUserIds(users: readonly string[] = [], file?: string): Promise<string[]> {
  const ids = [...users, ...(file ? await readUserIdsFile(file) : [])];
  if (ids.length === 0) throw usageError('GDPR_NO_USERS', 'give --user <id> or --file <ids.txt>');
  return ids;
}

/** Every request, latest status first; only the given user's when `userId` is set. */
export async function deletionRequests(
  lake: Lake,
  options: { readonly userId?: string; readonly pseudonymSecret?: string; readonly now?: Date } = {},
): Promise<DeletionRequest[]> {
  const now = (options.now ?? new Date()).getTime();
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
    ...deadlineOf(r.requested_at, r.status, now),
  }));
}

/** Age in whole days, the deadline (requested + 30 days) and whether it passed unanswered. */
export function deadlineOf(
  requestedAt: string,
  status: string,
  now: number,
): { ageDays: number; deadline: string; overdue: boolean } {
  const requested = Date.parse(requestedAt);
  const deadline = requested + ERASURE_DEADLINE_DAYS * 86_400_000;
  return {
    ageDays: Math.floor((now - requested) / 86_400_000),
    deadline: new Date(deadline).toISOString(),
    overdue: status !== 'completed' && now > deadline,
  };
}

async function recordRequests(
  lake: Lake,
  requests: ForgetReceipt['requests'],
  status: 'pending' | 'completed' | 'incomplete',
  requestedAt: Date,
  updatedAt: Date,
  actor: string,
  receipt: ForgetReceipt | null,
  commitProperties: CommitProperties,
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
    { parameters: { gdpr: status }, commitProperties },
  );
}

/**
 * The users as a temp table (id, key) and, as the variable `__gdpr_pattern`, one pattern finding
 * any of their ids as a whole word in text (raw or JSON-escaped, so `\u0075sr_1` is `usr_1`). A
 * variable, not a subquery: DuckDB compiles a constant pattern once, a subquery's once per row
 * (300k rows: 0.1 s against minutes).
 */
async function stageUsers(
  lake: Lake,
  userIds: readonly string[],
  key: PseudonymKey,
  matcher: UserMatcher,
): Promise<void> {
  const db = lake.db;
  await db.run('CREATE OR REPLACE TEMP TABLE __gdpr_users (user_id VARCHAR, user_key VARCHAR)');
  for (const id of userIds) {
    await db.run('INSERT INTO __gdpr_users VALUES ($id, $key)', { id, key: key.userKey(id) });
  }
  await db.run('SET VARIABLE __gdpr_pattern = $pattern', { pattern: matcher.pattern });
}

const ANY_USER = "getvariable('__gdpr_pattern')";

/** SQL true for a row of the users, from the columns a table has; undefined when it has none. */
function userPredicate(columns: ReadonlySet<string>): string | undefined {
  const parts: string[] = [];
  if (columns.has('user_id')) parts.push('user_id IN (SELECT user_id FROM __gdpr_users)');
  if (columns.has('user_key')) parts.push('user_key IN (SELECT user_key FROM __gdpr_users)');
  if (columns.has('raw')) {
    parts.push(`regexp_matches(raw, ${ANY_USER})`);
  }
  return parts.length === 0 ? undefined : `coalesce(${parts.join(' OR ')}, false)`;
}

/** What a table's rows are matched on: whole rows to delete, text columns to redact. */
interface TableMatch {
  /** SQL true for the users' own rows (undefined: the table has no identity column). */
  readonly identity: string | undefined;
  /** Other text columns (not partition columns): an id quoted there is replaced by `[erased]`. */
  readonly textColumns: readonly string[];
}

function tableMatch(snapshot: Snapshot): TableMatch {
  const columns = new Set(snapshot.schema.fields.map((f) => f.name));
  const partitions = new Set(snapshot.partitionColumns);
  return {
    identity: userPredicate(columns),
    textColumns: snapshot.schema.fields
      .filter((f) => f.type === 'string' && !IDENTITY_COLUMNS.has(f.name) && !partitions.has(f.name))
      .map((f) => f.name),
  };
}

/** SQL true for a row holding the users anywhere: its identity or a quoted id. */
function touchedPredicate(match: TableMatch): string | undefined {
  const parts = [
    ...(match.identity ? [match.identity] : []),
    ...match.textColumns.map((c) => `coalesce(regexp_matches(${quoteIdent(c)}, ${ANY_USER}), false)`),
  ];
  return parts.length === 0 ? undefined : parts.join(' OR ');
}

function redacted(column: string): string {
  const once = (sql: string) => `regexp_replace(${sql}, ${ANY_USER}, '\\1[erased]\\2', 'g')`;
  // twice: two ids sharing one separator need a second pass for the second one
  return `${once(once(quoteIdent(column)))} AS ${quoteIdent(column)}`;
}

async function forgetInTable(
  lake: Lake,
  table: DeltaTable,
  users: number,
  commitProperties: CommitProperties,
): Promise<{
  readonly deletion?: Omit<TableDeletion, 'checkpointVersion' | 'logFilesDeleted'>;
  readonly columns: ReadonlySet<string>;
}> {
  for (let attempt = 1; ; attempt++) {
    const snapshot = await table.snapshot();
    const columns = new Set(snapshot.schema.fields.map((f) => f.name));
    const match = tableMatch(snapshot);
    if (!touchedPredicate(match)) return { columns };
    try {
      const deleted = await deleteRows(lake, table, snapshot, match, users, commitProperties);
      const purged = await purgeSuperseded(lake, table, deleted.removedPaths);
      // tables without user columns are listed only when an id quoted in their text was erased
      if (!match.identity && deleted.result.version === null && purged.length === 0) return { columns };
      return { deletion: { ...deleted.result, filesPurged: purged }, columns };
    } catch (error) {
      // a concurrent commit removed a file we rewrote (compaction): redo from the new snapshot
      if (attempt < MAX_ATTEMPTS && isShopstreamError(error) && error.kind === 'conflict') continue;
      throw error;
    }
  }
}

type RowsResult = Omit<TableDeletion, 'filesPurged' | 'checkpointVersion' | 'logFilesDeleted'>;

/**
 * One commit rewriting the files that hold the users: their rows deleted, ids quoted in other rows'
 * text (an ingest error in audit_log, a URL) replaced by `[erased]`, every other row copied. A
 * table marked `delta.appendOnly` (audit_log) is rewritten too: erasure overrides it.
 */
async function deleteRows(
  lake: Lake,
  table: DeltaTable,
  snapshot: Snapshot,
  match: TableMatch,
  users: number,
  commitProperties: CommitProperties,
): Promise<{ result: RowsResult; removedPaths: string[] }> {
  const db = lake.db;
  const touched = touchedPredicate(match)!;
  const identity = match.identity ?? 'false';
  const none = {
    result: {
      table: table.name,
      version: null,
      rowsDeleted: 0,
      rowsRedacted: 0,
      filesRemoved: 0,
      filesAdded: 0,
      filesScanned: snapshot.files.length,
    },
    removedPaths: [],
  };
  if (snapshot.files.length === 0) return none;
  await registerSnapshot(db, lake.store, table.tableKey, snapshot, '__gdpr_scan', snapshot.files, {
    fileColumn: '__lake_file',
  });
  const hits = await db.all<{ file: string; deleted: string; n: string }>(
    `SELECT __lake_file AS file, count(*) FILTER (WHERE ${identity}) AS deleted, count(*) AS n
     FROM __gdpr_scan WHERE ${touched} GROUP BY 1`,
  );
  await db.run('DROP VIEW __gdpr_scan');
  if (hits.length === 0) return none;
  const hitFiles = new Set(hits.map((h) => h.file));
  const affected: AddFile[] = snapshot.files.filter((f) => hitFiles.has(f.path));
  const rowsDeleted = hits.reduce((sum, h) => sum + Number(h.deleted), 0);
  const rowsRedacted = hits.reduce((sum, h) => sum + Number(h.n) - Number(h.deleted), 0);

  await registerSnapshot(db, lake.store, table.tableKey, snapshot, '__gdpr_affected', affected);
  const replace =
    match.textColumns.length === 0 ? '' : ` REPLACE (${match.textColumns.map(redacted).join(', ')})`;
  await db.run(
    `CREATE OR REPLACE TEMP VIEW __gdpr_keep AS SELECT *${replace} FROM __gdpr_affected WHERE NOT (${identity})`,
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
      numRedactedRows: rowsRedacted,
    },
    scope: { kind: 'compact' },
    properties: commitProperties,
  });
  return {
    result: {
      table: table.name,
      version,
      rowsDeleted,
      rowsRedacted,
      filesRemoved: affected.length,
      filesAdded: added.length,
      filesScanned: snapshot.files.length,
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
    const described = await lake.db.all<{ column_name: string; column_type: string }>(
      `DESCRIBE SELECT * FROM read_parquet(${list}, union_by_name = true, hive_partitioning = false)`,
    );
    const predicate = touchedPredicate({
      identity: userPredicate(new Set(described.map((c) => c.column_name))),
      textColumns: described
        .filter((c) => c.column_type === 'VARCHAR' && !IDENTITY_COLUMNS.has(c.column_name))
        .map((c) => c.column_name),
    });
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

/**
 * Rewrites the table's log when its files hold the users (statistics of files written before
 * personal and free-text columns lost their min/max, or a checkpoint of them): writes a checkpoint
 * of the latest version, then deletes every older commit and checkpoint that holds them. Versions
 * before the checkpoint can then no longer be read (time travel to before the erasure is lost).
 */
async function cleanLog(
  lake: Lake,
  table: DeltaTable,
  matcher: UserMatcher,
): Promise<{ checkpointVersion: number | null; deleted: string[] }> {
  const holders: { key: string; name: string; version: number }[] = [];
  const leftovers: string[] = [];
  const keysAllowed = keysAllowedAt(`${table.tableKey}/`);
  for (const info of await lake.store.list(`${table.tableKey}/${LOG_DIR}/`)) {
    const name = info.key.slice(info.key.lastIndexOf('/') + 1);
    const file = parseLogFileName(name);
    if (!file) {
      // a killed writer's temp commit (readers ignore it; it is garbage): goes when it holds them
      if (scanBytes(await lake.store.get(info.key), matcher, keysAllowed)) {
        await lake.store.delete(info.key);
        leftovers.push(name);
      }
      continue;
    }
    const found =
      file.kind === 'checkpoint'
        ? await scanParquet(lake.db, await lake.store.localPath(info.key), matcher, keysAllowed)
        : scanBytes(await lake.store.get(info.key), matcher, keysAllowed);
    if (found) holders.push({ key: info.key, name, version: file.version });
  }
  if (holders.length === 0) return { checkpointVersion: null, deleted: leftovers.sort() };
  const checkpointVersion = await table.log.checkpoint();
  const deleted: string[] = [...leftovers];
  for (const holder of holders) {
    // the new checkpoint replaced one of the same version; a newer commit is someone else's
    if (holder.version >= checkpointVersion) continue;
    await lake.store.delete(holder.key);
    deleted.push(holder.name);
  }
  return { checkpointVersion, deleted: deleted.sort() };
}

/** An event spool file not yet landed: its other lines must survive (they are other users' events). */
const UNLANDED_SPOOL = /^(current|late-current|metrics-current|batch-\d+|late-\d+|metrics-\d+)\.ndjson$/;

/**
 * What to do with a file outside the tables that holds the users: an unlanded spool loses their
 * lines, JSON state has their ids `[erased]` (the rest of the state stays valid), anything else
 * (landed spools, staging leftovers of killed writers, cached downloads, load files) is deleted.
 */
function rewriteOf(name: string, text: string, matcher: UserMatcher): string | undefined {
  if (UNLANDED_SPOOL.test(name)) {
    const kept = text.split('\n').filter((line) => !matcher.find(line));
    return kept.join('\n');
  }
  if (name.endsWith('.json')) return matcher.redact(text);
  return undefined;
}

async function forgetInOtherFiles(
  lake: Lake,
  matcher: UserMatcher,
  localDirs: readonly string[],
): Promise<OtherFiles> {
  const deleted: string[] = [];
  const rewritten: string[] = [];
  let scanned = 0;
  for (const info of await lake.store.list('_shopstream/')) {
    if (info.key.startsWith(SECRETS_PREFIX)) continue;
    scanned++;
    const name = info.key.slice(info.key.lastIndexOf('/') + 1);
    const bytes = await lake.store.get(info.key);
    let found = scanBytes(bytes, matcher, false);
    if (!found && name.endsWith('.parquet')) {
      found = await scanParquet(lake.db, await lake.store.localPath(info.key), matcher, false).catch(
        () => undefined,
      );
    }
    if (!found) continue;
    const rewrite = rewriteOf(name, Buffer.from(bytes).toString('utf8'), matcher);
    if (rewrite === undefined) {
      await lake.store.delete(info.key);
      deleted.push(`lake:${info.key}`);
    } else {
      await lake.store.put(info.key, rewrite);
      rewritten.push(`lake:${info.key}`);
    }
  }
  for (const dir of localDirs) {
    for (const file of await walkLocal(dir)) {
      scanned++;
      const bytes = await readFile(file);
      let found = scanBytes(bytes, matcher, false);
      if (!found && file.endsWith('.parquet')) {
        found = await scanParquet(lake.db, file, matcher, false).catch(() => undefined);
      }
      if (!found) continue;
      const rewrite = rewriteOf(path.basename(file), bytes.toString('utf8'), matcher);
      if (rewrite === undefined) {
        await rm(file, { force: true });
        deleted.push(`local:${file}`);
      } else {
        await writeFile(file, rewrite);
        rewritten.push(`local:${file}`);
      }
    }
  }
  return { scanned, deleted: deleted.sort(), rewritten: rewritten.sort() };
}

/**
 * The users' rows in the warehouse: by id and key, and in tables with a raw record (quarantine) the
 * rows whose raw text holds an id (raw or escaped) — matched here, deleted by their exact text.
 */
async function forgetInWarehouse(
  warehouse: Warehouse,
  columnsOf: ReadonlyMap<string, ReadonlySet<string>>,
  userIds: readonly string[],
  key: PseudonymKey,
  matcher: UserMatcher,
): Promise<{ table: string; rowsDeleted: number }[]> {
  const out: { table: string; rowsDeleted: number }[] = [];
  for (const [name, columns] of columnsOf) {
    if (!columns.has('user_id') && !columns.has('user_key') && !columns.has('raw')) continue;
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
    if (columns.has('raw')) {
      // table names are validated lake names (lower-case letters, digits, _)
      const relation = warehouse.kind === 'duckdb' ? quoteIdent(name) : name;
      const raws = await warehouse.query<{ raw: string | null }>(
        `SELECT DISTINCT raw FROM ${relation} WHERE raw IS NOT NULL`,
      );
      const matching = raws.map((r) => r.raw ?? '').filter((raw) => matcher.find(raw) === 'id');
      rowsDeleted += await warehouse.deleteWhere(name, 'raw', matching);
    }
    out.push({ table: name, rowsDeleted });
  }
  return out;
}

export interface VerifyOptions {
  readonly userIds: readonly string[];
  readonly pseudonymSecret?: string;
  readonly warehouse?: Warehouse;
  readonly localDirs?: readonly string[];
}

/**
 * `gdpr verify`: scans every byte of the lake (data, logs, checkpoints, `_shopstream/`), the local
 * directories and the warehouse for the users' ids (raw or JSON-escaped) and keys (allowed only in
 * deletion_requests). Empty findings: nothing of them remains.
 */
export async function verifyErasure(lake: Lake, options: VerifyOptions): Promise<ScanReport> {
  const userIds = [...new Set(options.userIds.map((id) => id.trim()).filter((id) => id.length > 0))];
  if (userIds.length === 0) throw usageError('GDPR_NO_USERS', 'no user ids given');
  const key = await resolvePseudonymKey(lake, options.pseudonymSecret);
  const matcher = new UserMatcher(
    userIds,
    userIds.map((id) => key.userKey(id)),
  );
  return scanForUsers(lake, matcher, {
    ...(options.localDirs ? { localDirs: options.localDirs } : {}),
    ...(options.warehouse ? { warehouse: options.warehouse } : {}),
  });
}

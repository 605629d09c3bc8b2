import { randomUUID } from 'node:crypto';
import { erasedByForget } from '../catalog/catalog.js';
import type { CommitProperties } from '../lake/log/delta-log.js';
import type { Lake } from '../lake/table/lake.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { forgetInOtherFiles } from './erasure-in-files.js';
import { cleanLog } from './erasure-in-log.js';
import { forgetInTable } from './erasure-in-tables.js';
import { forgetInWarehouse } from './erasure-in-warehouse.js';
import { dropStagedUsers, stageUsers } from './erasure-predicates.js';
import { emptyDeletion, type ForgetReceipt, type TableDeletion } from './erasure-receipt.js';
import { recordRequests } from './erasure-requests.js';
import { type ScanReport, scanForUsers } from './erasure-scan.js';
import { resolveSigningKey, signReceipt } from './erasure-signature.js';
import { erasureUsers } from './erasure-users.js';
import type { UserFlagStore } from './user-flags.js';

/**
 * GDPR forget and verify. The steps live beside this file, one concept each: who is erased
 * (erasure-users), the SQL finding their rows (erasure-predicates), the lake tables
 * (erasure-in-tables), their logs (erasure-in-log), other files (erasure-in-files), the warehouse
 * (erasure-in-warehouse), the receipt (erasure-receipt, erasure-signature) and the requests'
 * record and status (erasure-requests). Which tables and columns hold personal data is the table
 * catalog's (src/catalog/).
 */

export interface ForgetOptions {
  readonly userIds: readonly string[];
  /** privacy.pseudonymKey, to find the users' rows in pseudonymized marts. */
  readonly pseudonymSecret?: string;
  /** When given, the users' rows are deleted there too. */
  readonly warehouse?: Warehouse;
  /** When given, the users' fraud flags are deleted there (the micro-batch's Redis). */
  readonly userFlags?: UserFlagStore;
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

/**
 * GDPR forget: records a request per user, deletes the users' rows from every lake table that
 * holds user ids, user keys or raw records (rewriting only the files holding them: a Delta DELETE
 * of remove + add), physically deletes every superseded file still holding them (a targeted
 * vacuum: other history stays), then deletes them in the warehouse and Redis, and records the
 * receipt. A rerun finds nothing left and changes nothing.
 */
export async function forgetUsers(lake: Lake, options: ForgetOptions): Promise<ForgetReceipt> {
  const now = options.now ?? (() => new Date());
  const users = await erasureUsers(lake, options.userIds, options.pseudonymSecret);
  const { userIds, key, matcher } = users;
  // before anything is deleted: a bad key path fails the run while it can still be fixed
  const signingKey = await resolveSigningKey(lake, options.signingKeyPath);
  const startedAt = now();
  const requests = userIds.map((id) => ({ requestId: `del_${randomUUID()}`, userKey: key.userKey(id) }));
  const commit: CommitProperties = options.runId ? { runId: options.runId } : {};
  await recordRequests(lake, requests, 'pending', startedAt, startedAt, options.actor, null, commit);

  await stageUsers(lake, users);
  const tables: TableDeletion[] = [];
  const tablesScanned: string[] = [];
  // each table's columns, as the deletion read them: the warehouse copies have the same
  const columnsOf = new Map<string, ReadonlySet<string>>();
  try {
    for (const name of await lake.tableNames()) {
      if (!erasedByForget(name)) continue;
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
    await dropStagedUsers(lake);
  }
  const otherFiles = await forgetInOtherFiles(lake, matcher, [
    ...(options.localDirs ?? []),
    ...(options.sharedCacheDirs ?? []),
  ]);

  const warehouse = options.warehouse
    ? {
        kind: options.warehouse.kind,
        tables: await forgetInWarehouse(options.warehouse, columnsOf, users),
      }
    : null;
  const redisKeysDeleted = options.userFlags ? await options.userFlags.deleteUserFlags(userIds) : null;
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
  const { matcher } = await erasureUsers(lake, options.userIds, options.pseudonymSecret);
  return scanForUsers(lake, matcher, {
    ...(options.localDirs ? { localDirs: options.localDirs } : {}),
    ...(options.warehouse ? { warehouse: options.warehouse } : {}),
  });
}

import { DELETION_REQUESTS, DELETION_REQUESTS_TABLE } from '../catalog/tables/deletion-requests.js';
import type { CommitProperties } from '../lake/log/delta-log.js';
import { appendRows } from '../lake/table/append-rows.js';
import type { Lake } from '../lake/table/lake.js';
import type { ForgetReceipt } from './erasure-receipt.js';
import { resolvePseudonymKey } from './pseudonym.js';

/** GDPR Art. 12(3): a request is answered within one month. */
export const ERASURE_DEADLINE_DAYS = 30;

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

/** Appends one status row per request (the latest row of a request wins). */
export async function recordRequests(
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
    DELETION_REQUESTS_TABLE.definition,
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

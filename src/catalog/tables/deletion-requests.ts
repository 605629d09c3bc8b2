import type { ColumnDef } from '../../lake/table/columns.js';
import type { DeclaredTable } from '../table-definition.js';

export const DELETION_REQUESTS = 'deletion_requests';

export const DELETION_REQUESTS_COLUMNS: readonly ColumnDef[] = [
  { name: 'request_id', type: 'string', nullable: false, comment: 'One per user per forget run.' },
  { name: 'user_key', type: 'string', nullable: false, comment: 'Pseudonymized user (never the id).' },
  { name: 'status', type: 'string', nullable: false, comment: 'pending, then completed (latest row wins).' },
  { name: 'requested_at', type: 'timestamp', nullable: false, comment: 'When the request was recorded.' },
  { name: 'updated_at', type: 'timestamp', nullable: false, comment: 'When this status was recorded.' },
  { name: 'actor', type: 'string', comment: 'Who ran it (SHOPSTREAM_ACTOR or the OS user).' },
  { name: 'receipt', type: 'string', comment: 'JSON: tables, versions, files and rows affected.' },
];

/** The record of GDPR requests: user keys (never ids) and receipts, kept as the proof of erasure. */
export const DELETION_REQUESTS_TABLE: DeclaredTable = {
  name: DELETION_REQUESTS,
  role: 'record',
  definition: {
    columns: DELETION_REQUESTS_COLUMNS,
    partitionColumns: [],
    description: 'GDPR deletion requests and their receipts (user keys only, never ids).',
  },
  load: 'when named',
  erasure: 'keep',
};

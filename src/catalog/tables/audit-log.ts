import type { ColumnDef } from '../../lake/table/columns.js';
import type { DeclaredTable } from '../table-definition.js';

export const AUDIT_LOG = 'audit_log';

export const AUDIT_LOG_COLUMNS: readonly ColumnDef[] = [
  { name: 'audit_id', type: 'string', nullable: false, comment: 'One per command run.' },
  { name: 'started_at', type: 'timestamp', nullable: false, comment: 'When the command started.' },
  { name: 'finished_at', type: 'timestamp', nullable: false, comment: 'When it ended.' },
  { name: 'duration_ms', type: 'long', nullable: false, comment: 'Wall time.' },
  { name: 'actor', type: 'string', nullable: false, comment: 'SHOPSTREAM_ACTOR, else the OS user.' },
  { name: 'host', type: 'string', comment: 'Machine name.' },
  { name: 'command', type: 'string', nullable: false, comment: 'e.g. ingest, gdpr forget.' },
  {
    name: 'arguments',
    type: 'string',
    nullable: false,
    comment: 'JSON list, secrets and user ids redacted.',
  },
  { name: 'reads', type: 'string', nullable: false, comment: 'JSON list of {table, version} read.' },
  {
    name: 'writes',
    type: 'string',
    nullable: false,
    comment: 'JSON list of {table, version, operation} committed.',
  },
  { name: 'outcome', type: 'string', nullable: false, comment: 'ok or error.' },
  { name: 'exit_code', type: 'integer', nullable: false, comment: 'The documented exit code.' },
  { name: 'error_code', type: 'string', comment: 'shopstream error code on failure.' },
  { name: 'error_message', type: 'string', comment: 'The error message on failure.' },
  { name: 'dt', type: 'date', nullable: false, comment: 'UTC date of started_at (partition).' },
];

export const AUDIT_LOG_TABLE: DeclaredTable = {
  name: AUDIT_LOG,
  role: 'record',
  definition: {
    columns: AUDIT_LOG_COLUMNS,
    partitionColumns: ['dt'],
    description: 'Who changed what: one row per data-changing shopstream command.',
    configuration: { 'delta.appendOnly': 'true' },
  },
  load: 'when named',
  // an error message can quote an id: erasure rewrites even this append-only table
  erasure: 'erase',
};

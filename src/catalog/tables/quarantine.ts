import type { ColumnDef } from '../../lake/table/columns.js';
import type { DeclaredTable } from '../table-definition.js';

export const QUARANTINE = 'quarantine';

export const QUARANTINE_COLUMNS: readonly ColumnDef[] = [
  { name: 'source_file', type: 'string', nullable: false, comment: 'Source file of the bad record.' },
  {
    name: 'source_line',
    type: 'long',
    nullable: false,
    comment: 'Line (NDJSON) or row (CSV, counting the header).',
  },
  { name: 'error_field', type: 'string', comment: 'Field at fault (record = the whole line).' },
  { name: 'error_reason', type: 'string', nullable: false, comment: 'Why it was refused.' },
  { name: 'raw', type: 'string', comment: 'The record exactly as read.' },
  { name: 'ingested_at', type: 'timestamp', nullable: false, comment: 'When shopstream read it.' },
  { name: 'run_id', type: 'string', nullable: false, comment: 'The ingest run.' },
  { name: 'ingest_date', type: 'date', nullable: false, comment: 'UTC date of the ingest run (partition).' },
];

/** Records refused by ingest and by the micro-batch line checks. */
export const QUARANTINE_TABLE: DeclaredTable = {
  name: QUARANTINE,
  role: 'landed',
  definition: {
    columns: QUARANTINE_COLUMNS,
    partitionColumns: ['ingest_date'],
    description: 'Records refused by ingest, with source file, line and reason.',
  },
  load: 'when named',
  erasure: 'erase',
};

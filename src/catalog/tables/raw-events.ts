import type { ColumnDef } from '../../lake/table/columns.js';
import { EVENT_FIELDS } from '../event-fields.js';
import type { DeclaredTable } from '../table-definition.js';

export const RAW_EVENTS = 'raw_events';

/** Columns shopstream adds to every landed event (lineage). */
export const LINEAGE_COLUMNS: readonly ColumnDef[] = [
  { name: 'source_file', type: 'string', comment: 'Source file the event came from.' },
  {
    name: 'source_line',
    type: 'long',
    comment: 'Line (NDJSON) or row (CSV, counting the header) in that file.',
  },
  { name: 'ingested_at', type: 'timestamp', comment: 'When shopstream landed it.' },
];

/** Hive partitions by event time. */
export const PARTITION_COLUMNS: readonly ColumnDef[] = [
  { name: 'dt', type: 'date', nullable: false, comment: 'UTC date of event_time.' },
  { name: 'hour', type: 'integer', nullable: false, comment: 'UTC hour of event_time (0-23).' },
];

/** The built-in columns: the event fields, lineage, partitions (extension columns come after). */
export const RAW_EVENTS_COLUMNS: readonly ColumnDef[] = [
  ...EVENT_FIELDS.map((f) => ({
    name: f.column,
    type: f.type,
    nullable: !f.required,
    comment: f.description,
  })),
  ...LINEAGE_COLUMNS,
  ...PARTITION_COLUMNS,
];

export const RAW_EVENTS_TABLE: DeclaredTable = {
  name: RAW_EVENTS,
  role: 'landed',
  definition: {
    columns: RAW_EVENTS_COLUMNS,
    partitionColumns: PARTITION_COLUMNS.map((c) => c.name),
    description: 'Clickstream events as landed by shopstream ingest, partitioned by event time.',
  },
  load: 'with raw',
  erasure: 'erase',
};

import { QUARANTINE_COLUMNS } from '../ingest/event-schema.js';
import { type ColumnDef, type DeltaType, duckDbType } from '../lake/schema.js';

/**
 * The lake tables the micro-batch writes besides raw_events (which it lands through ingest): each
 * declared once, as columns; the JSON reader's column types derive from them.
 */
export interface SideTable {
  readonly columns: readonly ColumnDef[];
  readonly partitionColumns?: string[];
}

/** Columns from `{ name: type }`, in order. */
const columnsOf = (types: Record<string, DeltaType>): ColumnDef[] =>
  Object.entries(types).map(([name, type]) => ({ name, type }));

export const SIDE_TABLES: Readonly<Record<string, SideTable>> = {
  // lines the line checks refused, as ingest quarantines them
  quarantine: { columns: QUARANTINE_COLUMNS, partitionColumns: ['ingest_date'] },
  late_events: {
    columns: columnsOf({
      event_id: 'string',
      user_id: 'string',
      event_time: 'timestamp',
      watermark: 'timestamp',
      arrived_at: 'timestamp',
      raw: 'string',
    }),
  },
  metrics_microbatch: {
    columns: columnsOf({
      batch_at: 'timestamp',
      events: 'long',
      alerts: 'long',
      late_events: 'long',
      watermark: 'timestamp',
      watermark_lag_ms: 'long',
      batch_latency_ms: 'long',
      events_per_second: 'long',
      // added later: tables written before it get the column (null in their old rows)
      arrival_lag_ms: 'long',
    }),
  },
};

/** The `columns` argument of DuckDB's read_json for a side table's spool lines. */
export function jsonColumns(table: SideTable): string {
  return `{${table.columns.map((c) => `${c.name}: '${duckDbType(c.type)}'`).join(', ')}}`;
}

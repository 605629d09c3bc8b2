import { LATE_EVENTS_TABLE } from '../catalog/tables/late-events.js';
import { METRICS_MICROBATCH_TABLE } from '../catalog/tables/metrics-microbatch.js';
import { QUARANTINE_TABLE } from '../catalog/tables/quarantine.js';
import { quoteLiteral } from '../engine/duckdb.js';
import { duckDbType } from '../lake/table/columns.js';
import type { TableDefinition } from '../lake/table/delta-table.js';

/**
 * The lake tables the micro-batch writes besides raw_events (which it lands through ingest), as the
 * table catalog declares them; the JSON reader's column types derive from their columns.
 */
export const SIDE_TABLES: Readonly<Record<string, TableDefinition>> = {
  // lines the line checks refused, as ingest quarantines them
  quarantine: QUARANTINE_TABLE.definition,
  late_events: LATE_EVENTS_TABLE.definition,
  metrics_microbatch: METRICS_MICROBATCH_TABLE.definition,
};

/** The `columns` argument of DuckDB's read_json for a side table's spool lines. */
export function jsonColumns(table: Pick<TableDefinition, 'columns'>): string {
  return `{${table.columns.map((c) => `${c.name}: ${quoteLiteral(duckDbType(c.type))}`).join(', ')}}`;
}

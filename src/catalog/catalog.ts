import type { CatalogTable } from './table-definition.js';
import { AUDIT_LOG_TABLE } from './tables/audit-log.js';
import { CLV_BACKTESTS_TABLE } from './tables/clv-backtests.js';
import { CUSTOMER_PURCHASES_TABLE } from './tables/customer-purchases.js';
import { DELETION_REQUESTS_TABLE } from './tables/deletion-requests.js';
import { LATE_EVENTS_TABLE } from './tables/late-events.js';
import { MART_TABLES } from './tables/marts.js';
import { METRICS_MICROBATCH_TABLE } from './tables/metrics-microbatch.js';
import { PIPELINE_RUNS_TABLE } from './tables/pipeline-runs.js';
import { QUARANTINE_TABLE } from './tables/quarantine.js';
import { RAW_EVENTS_TABLE } from './tables/raw-events.js';

/** Every lake table shopstream writes, each declared once (in ./tables/). */
export const LAKE_TABLES: readonly CatalogTable[] = [
  RAW_EVENTS_TABLE,
  QUARANTINE_TABLE,
  ...MART_TABLES,
  CUSTOMER_PURCHASES_TABLE,
  LATE_EVENTS_TABLE,
  METRICS_MICROBATCH_TABLE,
  PIPELINE_RUNS_TABLE,
  AUDIT_LOG_TABLE,
  DELETION_REQUESTS_TABLE,
  CLV_BACKTESTS_TABLE,
];

const BY_NAME = new Map(LAKE_TABLES.map((t) => [t.name, t]));

/** The catalog's entry for a table; undefined for a table shopstream does not declare (a foreign one). */
export function catalogTable(name: string): CatalogTable | undefined {
  return BY_NAME.get(name);
}

/** Tables `load` moves when not told which: the marts, in build order (and raw_events on request). */
export function defaultLoadTables(options: { readonly includeRaw?: boolean } = {}): string[] {
  const marts = LAKE_TABLES.filter((t) => t.load === 'default');
  const raw = options.includeRaw ? LAKE_TABLES.filter((t) => t.load === 'with raw') : [];
  return [...marts, ...raw].map((t) => t.name);
}

/** True unless the catalog says GDPR forget never rewrites the table (undeclared tables are erased). */
export function erasedByForget(name: string): boolean {
  return catalogTable(name)?.erasure !== 'keep';
}

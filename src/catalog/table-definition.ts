import type { TableDefinition } from '../lake/table/delta-table.js';

/**
 * A lake table as the catalog declares it, once: its name, what it is for, its columns and
 * partitioning (a Delta table definition), and how the warehouse load and GDPR forget treat it.
 * Which of its columns are personal data is decided by column name (./column-privacy.ts), so the
 * same rules reach marts and foreign tables too.
 */
interface CatalogEntry {
  readonly name: string;
  /** Loaded into the warehouse by default (marts), with `--include-raw`, or only when named. */
  readonly load: 'default' | 'with raw' | 'when named';
  /** GDPR forget erases the users' rows here, or never rewrites the table (the requests' own record). */
  readonly erasure: 'erase' | 'keep';
}

/** A table whose columns shopstream declares here. */
export interface DeclaredTable extends CatalogEntry {
  /**
   * landed: events and refused records written by ingest and the micro-batch; record: append-only
   * records of what shopstream did; stream: written by the micro-batch mode; carried: derived from
   * raw_events by build-marts, like a mart, and read back by its next incremental build.
   */
  readonly role: 'landed' | 'record' | 'stream' | 'carried';
  readonly definition: TableDefinition;
}

/** A mart: build-marts writes it from its SQL model (sql/marts/<name>.sql: columns, partitioning, grain). */
export interface MartTable extends CatalogEntry {
  readonly role: 'mart';
}

export type CatalogTable = DeclaredTable | MartTable;

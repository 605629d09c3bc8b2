import type { ColumnDef } from '../lake/table/columns.js';

/**
 * The clickstream event schema, defined once. Input field names are what producers send (NDJSON
 * objects; CSV headers use the same names, with properties as top-level columns). The `raw_events`
 * table schema, the README's table and a test that checks `sql/ingest/stage_events.sql` all come
 * from this list.
 */
export interface EventField {
  /** Column in raw_events. */
  readonly column: string;
  /** Where it is read from in an input record. */
  readonly input: string;
  readonly type: string;
  readonly required: boolean;
  readonly description: string;
}

export const EVENT_FIELDS: readonly EventField[] = [
  {
    column: 'event_id',
    input: 'event_id',
    type: 'string',
    required: true,
    description: 'Unique id of the event; duplicates are dropped.',
  },
  {
    column: 'event_type',
    input: 'event_type',
    type: 'string',
    required: true,
    description:
      'page_view, product_view, add_to_cart, remove_from_cart, checkout, purchase, search, ... (lower-case name)',
  },
  {
    column: 'user_id',
    input: 'user_id',
    type: 'string',
    required: true,
    description: 'Customer or anonymous visitor id.',
  },
  {
    column: 'session_id',
    input: 'session_id',
    type: 'string',
    required: false,
    description: "Producer's session hint, if any (marts compute their own sessions).",
  },
  {
    column: 'event_time',
    input: 'timestamp (or event_time)',
    type: 'timestamp',
    required: true,
    description: 'ISO-8601 (zone-less = UTC) or epoch seconds/milliseconds.',
  },
  {
    column: 'received_at',
    input: 'received_at',
    type: 'timestamp',
    required: false,
    description: 'When the collector received it (arrival time), if sent.',
  },
  { column: 'ip', input: 'ip', type: 'string', required: false, description: 'Client IP address.' },
  {
    column: 'user_agent',
    input: 'user_agent',
    type: 'string',
    required: false,
    description: 'Browser user agent.',
  },
  {
    column: 'page_url',
    input: 'page_url',
    type: 'string',
    required: false,
    description: 'Page the event happened on.',
  },
  { column: 'referrer', input: 'referrer', type: 'string', required: false, description: 'Referring URL.' },
  {
    column: 'product_id',
    input: 'properties.product_id',
    type: 'string',
    required: false,
    description: 'Product concerned.',
  },
  {
    column: 'category',
    input: 'properties.category',
    type: 'string',
    required: false,
    description: 'Product category.',
  },
  {
    column: 'quantity',
    input: 'properties.quantity',
    type: 'integer',
    required: false,
    description: 'Units; a non-negative integer.',
  },
  {
    column: 'price',
    input: 'properties.price',
    type: 'decimal(18,2)',
    required: false,
    description: 'Unit price; non-negative.',
  },
  {
    column: 'cart_value',
    input: 'properties.cart_value',
    type: 'decimal(18,2)',
    required: false,
    description: 'Cart total after the event; non-negative.',
  },
  {
    column: 'order_id',
    input: 'properties.order_id',
    type: 'string',
    required: false,
    description: 'Order id on checkout/purchase.',
  },
  {
    column: 'amount',
    input: 'properties.amount',
    type: 'decimal(18,2)',
    required: false,
    description: 'Order amount on purchase.',
  },
  {
    column: 'currency',
    input: 'properties.currency',
    type: 'string',
    required: false,
    description: 'ISO 4217 code, e.g. USD.',
  },
];

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

import type { ColumnDef } from '../../lake/table/columns.js';
import type { DeclaredTable } from '../table-definition.js';

export const CUSTOMER_PURCHASES = 'customer_purchases';

/** The rows of sql/intermediate/int_ltv_purchase_events.sql, as build-marts carries them. */
export const CUSTOMER_PURCHASES_COLUMNS: readonly ColumnDef[] = [
  { name: 'user_key', type: 'string', comment: 'The customer (pseudonymized user id).' },
  { name: 'order_id', type: 'string', comment: 'The order, when the event had one.' },
  { name: 'event_id', type: 'string', comment: 'The purchase event.' },
  { name: 'event_time', type: 'timestamp', comment: 'When it was bought.' },
  { name: 'currency', type: 'string', comment: 'Its currency (marts.currency.default when it had none).' },
  { name: 'event_value', type: 'decimal(18,2)', comment: 'Its value (the event_value macro).' },
];

/**
 * Every purchase in raw_events, one row per purchase event: what customer_ltv's historic figures and
 * the CLV fit are computed from. build-marts writes it with the marts (rewritten by a full build,
 * appended to by an incremental one) so that an incremental build reads the touched customers'
 * earlier purchases here instead of scanning every event of raw_events for them.
 */
export const CUSTOMER_PURCHASES_TABLE: DeclaredTable = {
  name: CUSTOMER_PURCHASES,
  role: 'carried',
  definition: {
    columns: CUSTOMER_PURCHASES_COLUMNS,
    description: 'One row per purchase event in raw_events (build-marts carries it for customer_ltv).',
  },
  load: 'when named',
  erasure: 'erase',
};

import {
  CUSTOMER_PURCHASES_COLUMNS,
  CUSTOMER_PURCHASES_TABLE,
} from '../catalog/tables/customer-purchases.js';
import { RAW_EVENTS } from '../catalog/tables/raw-events.js';
import type { Snapshot } from '../lake/log/snapshot.js';
import type { DeltaTable } from '../lake/table/delta-table.js';
import { SETTINGS_APP_ID } from './mart-settings.js';

/** The temp model whose rows customer_purchases carries (every purchase read by this build). */
export const CUSTOMER_PURCHASES_MODEL = 'int_ltv_purchase_events';

/**
 * Writes customer_purchases after the marts: appends the purchases of the changed raw_events, or
 * rewrites the table with every purchase of raw_events (the plan's `customerPurchases`), and records
 * the raw_events version it now reflects and customer_ltv's settings fingerprint (the settings its
 * rows were computed with: the SQL above it, marts.currency.default) as txns, as the marts do. A
 * build that fails before this leaves the table at the version it was: the next build then finds it
 * behind the marts and rewrites it.
 */
export async function writeCustomerPurchases(
  table: DeltaTable,
  mode: 'append' | 'rewrite',
  found: Snapshot | undefined,
  txns: { readonly appId: string; readonly rawVersion: number; readonly fingerprint: number },
  lineage: { readonly fromVersion: number | null; readonly runId: string | undefined },
): Promise<void> {
  const snapshot =
    mode === 'append' && found
      ? found
      : await table.ensure(CUSTOMER_PURCHASES_TABLE.definition, { runId: lineage.runId });
  await table.write({
    relation: CUSTOMER_PURCHASES_MODEL,
    mode: mode === 'append' ? 'append' : 'overwrite',
    ...(mode === 'rewrite' ? { replaceColumns: CUSTOMER_PURCHASES_COLUMNS } : {}),
    txns: [
      { appId: txns.appId, version: txns.rawVersion },
      { appId: SETTINGS_APP_ID, version: txns.fingerprint },
    ],
    operation: mode === 'append' ? 'WRITE' : 'CREATE OR REPLACE TABLE AS SELECT',
    readSnapshot: snapshot,
    parameters: { model: CUSTOMER_PURCHASES_MODEL },
    commitProperties: {
      runId: lineage.runId,
      inputs: [{ table: RAW_EVENTS, version: txns.rawVersion, fromVersion: lineage.fromVersion }],
    },
  });
}

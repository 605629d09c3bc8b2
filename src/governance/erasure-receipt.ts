import type { ScanReport } from './erasure-scan.js';
import type { ReceiptSignature } from './erasure-signature.js';

/** What a GDPR forget did, table by table and file by file: signed and kept in deletion_requests. */

export interface TableDeletion {
  readonly table: string;
  /** The DELETE commit; null when the table held none of the users' rows. */
  readonly version: number | null;
  readonly rowsDeleted: number;
  readonly filesRemoved: number;
  readonly filesAdded: number;
  /** Superseded files holding the users, physically deleted (including the ones just removed). */
  readonly filesPurged: readonly string[];
  /** Other rows whose text quoted an id (audit errors, URLs): kept with the id `[erased]`. */
  readonly rowsRedacted: number;
  /** Live data files scanned. */
  readonly filesScanned: number;
  /** The checkpoint written so older log files holding the users could go; null when none did. */
  readonly checkpointVersion: number | null;
  /** `_delta_log/` files (commits, checkpoints) holding the users, deleted. */
  readonly logFilesDeleted: readonly string[];
}

/** Files outside the tables (under `_shopstream/` and the local directories) a forget changed. */
export interface OtherFiles {
  readonly scanned: number;
  /** Deleted whole: landed spools, staging leftovers, cached downloads, load files. */
  readonly deleted: readonly string[];
  /** Kept without the users: unlanded spools lose their lines, JSON state gets `[erased]`. */
  readonly rewritten: readonly string[];
}

export interface ForgetReceipt {
  readonly requests: readonly { readonly requestId: string; readonly userKey: string }[];
  readonly lake: string;
  readonly startedAt: string;
  readonly completedAt: string;
  /** Every lake table scanned (rewritten ones have a DELETE version in `tables`). */
  readonly tablesScanned: readonly string[];
  readonly tables: readonly TableDeletion[];
  readonly rowsDeleted: number;
  readonly otherFiles: OtherFiles;
  readonly warehouse: {
    readonly kind: string;
    readonly tables: readonly { readonly table: string; readonly rowsDeleted: number }[];
  } | null;
  readonly redisKeysDeleted: number | null;
  /** The scan of every byte after the erasure: `findings` empty means nothing of the users is left. */
  readonly verification: ScanReport;
  readonly signature: ReceiptSignature;
}

/** A table the forget scanned and found nothing to change in (yet its log may have held the users). */
export function emptyDeletion(table: string): TableDeletion {
  return {
    table,
    version: null,
    rowsDeleted: 0,
    filesRemoved: 0,
    filesAdded: 0,
    filesPurged: [],
    rowsRedacted: 0,
    filesScanned: 0,
    checkpointVersion: null,
    logFilesDeleted: [],
  };
}

/**
 * Delta log actions (PROTOCOL.md, reader 1 / writer 2). A commit file holds one action per line.
 * Values are kept exactly as the log spells them; nothing here interprets partition values.
 */

export interface Protocol {
  readonly minReaderVersion: number;
  readonly minWriterVersion: number;
}

export interface Metadata {
  readonly id: string;
  readonly name?: string | null;
  readonly description?: string | null;
  readonly format: { readonly provider: string; readonly options: Record<string, string> };
  readonly schemaString: string;
  readonly partitionColumns: readonly string[];
  readonly configuration: Record<string, string>;
  readonly createdTime?: number | null;
}

export type PartitionValues = Readonly<Record<string, string | null>>;

export interface AddFile {
  /** Relative to the table root and URI-encoded, or an absolute URI. */
  readonly path: string;
  readonly partitionValues: PartitionValues;
  readonly size: number;
  readonly modificationTime: number;
  readonly dataChange: boolean;
  /** JSON text: numRecords, minValues, maxValues, nullCount. */
  readonly stats?: string | null;
  readonly tags?: Record<string, string> | null;
}

/** The rows the files hold, from their statistics (a file without statistics counts 0). */
export function recordsIn(files: readonly Pick<AddFile, 'stats'>[]): number {
  return files.reduce(
    (sum, add) => sum + ((JSON.parse(add.stats ?? '{}') as { numRecords?: number }).numRecords ?? 0),
    0,
  );
}

export interface RemoveFile {
  readonly path: string;
  readonly deletionTimestamp?: number | null;
  readonly dataChange: boolean;
  readonly extendedFileMetadata?: boolean | null;
  readonly partitionValues?: PartitionValues | null;
  readonly size?: number | null;
}

export interface Txn {
  readonly appId: string;
  readonly version: number;
  readonly lastUpdated?: number | null;
}

export interface CommitInfo {
  readonly timestamp?: number;
  readonly operation?: string;
  readonly operationParameters?: Record<string, unknown>;
  readonly operationMetrics?: Record<string, unknown>;
  readonly engineInfo?: string;
  readonly [key: string]: unknown;
}

export type Action =
  | { readonly protocol: Protocol }
  | { readonly metaData: Metadata }
  | { readonly add: AddFile }
  | { readonly remove: RemoveFile }
  | { readonly txn: Txn }
  | { readonly commitInfo: CommitInfo };

export interface FileStats {
  readonly numRecords: number;
  readonly minValues: Record<string, unknown>;
  readonly maxValues: Record<string, unknown>;
  readonly nullCount: Record<string, number>;
}

/** The highest protocol this implementation reads and writes. */
export const SUPPORTED_PROTOCOL: Protocol = { minReaderVersion: 1, minWriterVersion: 2 };

export function parseStats(add: AddFile): FileStats | undefined {
  if (!add.stats) return undefined;
  try {
    return JSON.parse(add.stats) as FileStats;
  } catch {
    return undefined;
  }
}

/** The remove action retiring `file` (with its partition values and size, as readers expect). */
export function toRemove(file: AddFile, now: number, dataChange: boolean): RemoveFile {
  return {
    path: file.path,
    deletionTimestamp: now,
    dataChange,
    extendedFileMetadata: true,
    partitionValues: file.partitionValues,
    size: file.size,
  };
}

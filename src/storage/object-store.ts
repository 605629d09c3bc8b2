/**
 * The object store port. Keys are `/`-separated paths relative to the store's root; the lake and its
 * tables never see an absolute path or a URI scheme. Implementations: local filesystem (today), S3.
 */

export interface ObjectInfo {
  /** Key relative to the store root, `/`-separated. */
  readonly key: string;
  readonly size: number;
  /** Last modification, milliseconds since the epoch. */
  readonly lastModified: number;
}

export interface ObjectStore {
  /** A URI naming the root, e.g. `file:///data/lake` or `s3://bucket/prefix`. */
  readonly uri: string;
  /** Every object whose key starts with `prefix`, in no particular order. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Names of the immediate child folders of `prefix` (a folder key ending in `/`, or '' for the root). */
  listFolders(prefix: string): Promise<string[]>;
  head(key: string): Promise<ObjectInfo | undefined>;
  get(key: string): Promise<Uint8Array>;
  /** Bytes `[start, end)` of an object. */
  getRange(key: string, start: number, end: number): Promise<Uint8Array>;
  put(key: string, data: Uint8Array | string): Promise<void>;
  /** Creates the object only if no object has the key. Returns false when one already exists. */
  putIfAbsent(key: string, data: Uint8Array | string): Promise<boolean>;
  /** Moves or uploads a local file into the store under `key` (the local file may be consumed). */
  putFile(localPath: string, key: string): Promise<void>;
  delete(key: string): Promise<void>;
  /** A local filesystem path DuckDB can read for `key` (downloaded to a cache when remote). */
  localPath(key: string): Promise<string>;
  /**
   * A fresh private (0700) local directory for files about to be `putFile`d here; the caller removes
   * it. Local stores keep it inside the lake (`_shopstream/tmp/`: putFile is then a rename), S3
   * stores in the user's private cache folder. The first call in a process removes what killed
   * processes left behind.
   */
  stagingDir(label: string): Promise<string>;
}

/** The lake's own folder (state, secrets, staging): never a table, never read as data. */
export const LAKE_INTERNAL_DIR = '_shopstream';

/** Joins key segments, ignoring empty ones and doubled slashes. */
export function joinKey(...parts: readonly string[]): string {
  return parts
    .flatMap((part) => part.split('/'))
    .filter((segment) => segment.length > 0)
    .join('/');
}

import type { Config } from '../../config/config-schema.js';
import { DuckDb } from '../../engine/duckdb.js';
import { openStore } from '../../storage/open-store.js';
import type { S3StoreOptions } from '../../storage/s3-store.js';
import { Lake } from './lake.js';

/** Opens the configured lake with a fresh DuckDB session. Call `closeLake` when done. */
export async function openLake(config: Config): Promise<Lake> {
  const store = openStore(config.lake, s3Options(config));
  const db = await DuckDb.open({
    ...(config.duckdb.threads ? { threads: config.duckdb.threads } : {}),
    ...(config.duckdb.memoryLimit ? { memoryLimit: config.duckdb.memoryLimit } : {}),
    ...(config.duckdb.tempDirectory ? { tempDirectory: config.duckdb.tempDirectory } : {}),
  });
  return new Lake(store, db);
}

export function closeLake(lake: Lake): void {
  lake.db.close();
}

/** The S3 settings of a configuration, as the S3 store takes them. */
export function s3Options(config: Config): S3StoreOptions {
  return {
    ...(config.s3.endpoint ? { endpoint: config.s3.endpoint } : {}),
    ...(config.s3.region ? { region: config.s3.region } : {}),
    ...(config.s3.forcePathStyle !== undefined ? { forcePathStyle: config.s3.forcePathStyle } : {}),
    unsafeSingleWriter: config.s3.unsafeSingleWriter,
    cacheMaxBytes: config.s3.cacheMaxMB * 1024 * 1024,
  };
}

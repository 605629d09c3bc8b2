import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Config } from '../config/config-schema.js';
import { configError } from '../errors.js';
import type { Lake } from '../lake/table/lake.js';
import { DuckDbWarehouse } from './duckdb-warehouse.js';
import type { Warehouse } from './warehouse.js';

/**
 * The configured warehouse when there is one to reach (Snowflake, or a DuckDB file that exists),
 * else undefined: for commands that only clean or scan a warehouse, never create one.
 */
export async function openExistingWarehouse(
  lake: Lake,
  config: Config,
  command: string,
  runId: string,
): Promise<Warehouse | undefined> {
  if (config.warehouse.kind !== 'snowflake' && !existsSync(config.warehouse.path)) return undefined;
  return openWarehouse(lake, config, command, runId);
}

/** Opens the configured warehouse: the embedded DuckDB file, or Snowflake. */
export async function openWarehouse(
  lake: Lake,
  config: Config,
  command: string,
  runId: string,
): Promise<Warehouse> {
  if (config.warehouse.kind === 'duckdb') return DuckDbWarehouse.open(lake, config.warehouse.path);
  const sf = config.warehouse.snowflake;
  if (!sf.account || !sf.user) {
    throw configError('SNOWFLAKE_SETTINGS', 'the Snowflake warehouse needs an account and a user', {
      suggestions: [
        'set SNOWFLAKE_ACCOUNT and SNOWFLAKE_USER (and SNOWFLAKE_PRIVATE_KEY_PATH or SNOWFLAKE_PASSWORD)',
      ],
    });
  }
  let privateKey: string | undefined;
  if (sf.privateKeyPath) {
    privateKey = await readFile(sf.privateKeyPath, 'utf8').catch((error: unknown) => {
      throw configError('SNOWFLAKE_KEY', `cannot read the private key ${sf.privateKeyPath}`, {
        cause: error,
      });
    });
  }
  // imported on use: a DuckDB warehouse never loads the Snowflake driver
  const { SnowflakeWarehouse } = await import('./snowflake-warehouse.js');
  return SnowflakeWarehouse.open(
    lake,
    {
      account: sf.account,
      username: sf.user,
      ...(privateKey ? { privateKey } : sf.password !== undefined ? { password: sf.password } : {}),
      ...(sf.role ? { role: sf.role } : {}),
      ...(sf.warehouse ? { warehouse: sf.warehouse } : {}),
      ...(sf.database ? { database: sf.database } : {}),
      ...(sf.schema ? { schema: sf.schema } : {}),
      ...(sf.accessUrl ? { accessUrl: sf.accessUrl } : {}),
      timeoutMs: sf.timeoutSeconds * 1000,
    },
    command,
    runId,
    lake.store.uri.startsWith('s3://') && sf.externalStage ? { externalStage: sf.externalStage } : {},
  );
}

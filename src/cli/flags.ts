import { Flags } from '@oclif/core';

/**
 * Flags several commands share, defined once: the same name, environment variable and wording
 * wherever they appear.
 */

/** `--warehouse FILE`: the embedded DuckDB warehouse. */
export const warehouseFlag = () =>
  Flags.string({
    description: 'The DuckDB warehouse file (env SHOPSTREAM_WAREHOUSE; default ./warehouse.duckdb).',
  });

/** `--redis-url URL`: what the command does there is `purpose` ("Also delete ... in this Redis"). */
export const redisUrlFlag = (purpose: string) =>
  Flags.string({ description: `${purpose} (env SHOPSTREAM_REDIS_URL).`, env: 'SHOPSTREAM_REDIS_URL' });

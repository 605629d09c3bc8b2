import { randomUUID } from 'node:crypto';
import type { Config } from '../config/config-schema.js';
import { localLakeDirs } from '../governance/erasure-scan.js';
import { requestedUserIds } from '../governance/erasure-users.js';
import type { Lake } from '../lake/table/lake.js';
import { closeLake, openLake } from '../lake/table/open-lake.js';
import { S3Store } from '../storage/s3-store.js';
import { openExistingWarehouse } from '../warehouse/open-warehouse.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { type BaseFlags, ShopstreamCommand } from './base-command.js';

/** What `gdpr forget` and `gdpr verify` work on: the users asked for and where they may be. */
export interface ErasureTargets {
  readonly userIds: readonly string[];
  readonly config: Config;
  readonly lake: Lake;
  /** The configured warehouse when it exists (a DuckDB file or Snowflake), unless --no-warehouse. */
  readonly warehouse: Warehouse | undefined;
  /** Local folders of this lake: `owned` (micro-batch spools), `shared` (an s3:// lake's caches). */
  readonly localDirs: { readonly owned: string[]; readonly shared: string[] };
}

interface ErasureFlags extends Partial<BaseFlags> {
  readonly user?: string[] | undefined;
  readonly file?: string | undefined;
  readonly warehouse?: string | undefined;
  readonly 'no-warehouse'?: boolean | undefined;
}

export abstract class GdprCommand extends ShopstreamCommand {
  /**
   * Reads the user ids (--user, --file), opens the lake and the existing warehouse (never creating
   * one), runs `act` on them and closes both, whatever happens.
   */
  protected async withErasureTargets<T>(
    flags: ErasureFlags,
    command: string,
    act: (targets: ErasureTargets) => Promise<T>,
  ): Promise<T> {
    const userIds = await requestedUserIds(flags.user, flags.file);
    const config = this.resolveConfig(flags);
    const lake = await openLake(config);
    let warehouse: Warehouse | undefined;
    try {
      if (!flags['no-warehouse'])
        warehouse = await openExistingWarehouse(lake, config, command, randomUUID());
      const localDirs = localLakeDirs(lake.store.uri, lake.store instanceof S3Store);
      return await act({ userIds, config, lake, warehouse, localDirs });
    } finally {
      await warehouse?.close();
      closeLake(lake);
    }
  }
}

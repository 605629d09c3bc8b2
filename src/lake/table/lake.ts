import type { DuckDb } from '../../engine/duckdb.js';
import { usageError } from '../../errors.js';
import { LAKE_INTERNAL_DIR, type ObjectStore } from '../../storage/object-store.js';
import { LOG_DIR } from '../log/log-files.js';
import { DeltaTable } from './delta-table.js';

const TABLE_NAME = /^[a-z_][a-z0-9_]{0,127}$/;

/**
 * A lake: a store root whose top-level folders holding a `_delta_log/` are tables, except the
 * lake's own `_shopstream/` (state, secrets, staged files), which is never a table.
 */
export class Lake {
  constructor(
    readonly store: ObjectStore,
    readonly db: DuckDb,
  ) {}

  table(name: string): DeltaTable {
    if (!TABLE_NAME.test(name) || name === LAKE_INTERNAL_DIR) {
      throw usageError('TABLE_NAME', `invalid table name "${name}": use lower-case letters, digits and _`);
    }
    return new DeltaTable(this.store, this.db, name);
  }

  async tableNames(): Promise<string[]> {
    const names: string[] = [];
    for (const folder of await this.store.listFolders('')) {
      if (!TABLE_NAME.test(folder) || folder === LAKE_INTERNAL_DIR) continue;
      const log = await this.store.list(`${folder}/${LOG_DIR}/`);
      if (log.some((info) => /\/\d{20}\.(json|checkpoint\.parquet)$/.test(info.key))) names.push(folder);
    }
    return names.sort();
  }
}

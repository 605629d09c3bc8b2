import { IDENTITY_COLUMNS } from '../catalog/column-privacy.js';
import { quoteIdent } from '../engine/duckdb.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import type { ErasureUsers } from './erasure-users.js';

/**
 * The users' rows in the warehouse copies of the lake tables, by the identity columns each has
 * (./column-privacy): ids and keys deleted by value, and in tables with a raw record (quarantine)
 * the rows whose raw text holds an id (raw or escaped): matched here, deleted by their exact text.
 */
export async function forgetInWarehouse(
  warehouse: Warehouse,
  columnsOf: ReadonlyMap<string, ReadonlySet<string>>,
  users: ErasureUsers,
): Promise<{ table: string; rowsDeleted: number }[]> {
  const out: { table: string; rowsDeleted: number }[] = [];
  for (const [name, columns] of columnsOf) {
    const identity = IDENTITY_COLUMNS.filter((c) => columns.has(c.name));
    if (identity.length === 0) continue;
    if ((await warehouse.loadedVersion(name)) === undefined) continue;
    let rowsDeleted = 0;
    for (const column of identity) {
      rowsDeleted += await warehouse.deleteWhere(
        name,
        column.name,
        await valuesOf(warehouse, name, column, users),
      );
    }
    out.push({ table: name, rowsDeleted });
  }
  return out;
}

/** The values of one identity column that are the users'. */
async function valuesOf(
  warehouse: Warehouse,
  table: string,
  column: (typeof IDENTITY_COLUMNS)[number],
  users: ErasureUsers,
): Promise<readonly string[]> {
  switch (column.holds) {
    case 'id':
      return users.userIds;
    case 'key':
      return users.userIds.map((id) => users.key.userKey(id));
    case 'quoted id': {
      // table and column names are validated lake names (lower-case letters, digits, _)
      const relation = warehouse.kind === 'duckdb' ? quoteIdent(table) : table;
      const rows = await warehouse.query<Record<string, string | null>>(
        `SELECT DISTINCT ${column.name} FROM ${relation} WHERE ${column.name} IS NOT NULL`,
      );
      return rows.map((r) => r[column.name] ?? '').filter((text) => users.matcher.find(text) === 'id');
    }
  }
}

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { SQL_DIR } from '../engine/sql-files.js';
import type { Lake } from '../lake/table/lake.js';
import { loadWarehouse } from './load.js';
import type { Warehouse } from './warehouse.js';

export interface InitResult {
  readonly tablesLoaded: readonly string[];
  readonly statements: readonly string[];
}

/**
 * Prepares a warehouse: loads the marts (and raw_events with `includeRaw`), creating their tables from the lake's schemas, so the DDL
 * never drifts from the models), then applies `sql/warehouse/*.sql` (analyst views, both
 * warehouses) and, on Snowflake, `sql/snowflake/*.sql` (clustering keys).
 */
export async function initWarehouse(
  lake: Lake,
  warehouse: Warehouse,
  runId: string,
  options: { readonly includeRaw?: boolean } = {},
): Promise<InitResult> {
  // raw_events only on request: an analysts' schema should hold the pseudonymized marts alone
  const load = await loadWarehouse(lake, warehouse, { includeRaw: options.includeRaw ?? false, runId });
  const folders = ['warehouse', ...(warehouse.kind === 'snowflake' ? ['snowflake'] : [])];
  const available = new Set(load.tables.map((t) => t.table));
  const applied: string[] = [];
  for (const folder of folders) {
    const dir = path.join(SQL_DIR, folder);
    for (const file of readdirSync(dir)
      .filter((f) => f.endsWith('.sql'))
      .sort()) {
      for (const statement of splitStatements(readFileSync(path.join(dir, file), 'utf8'))) {
        const target = /ALTER\s+TABLE\s+(\w+)/i.exec(statement)?.[1];
        if (target && !available.has(target)) continue;
        await warehouse.execute(statement);
        applied.push(
          `${folder}/${file}: ${
            statement
              .split('\n')
              .find((l) => /\b(CREATE|ALTER)\b/i.test(l))
              ?.trim() ?? statement.slice(0, 60)
          }`,
        );
      }
    }
  }
  return { tablesLoaded: [...available], statements: applied };
}

/** Statements separated by a line holding only `;`, without their comment lines. */
export function splitStatements(text: string): string[] {
  return text
    .split(/^\s*;\s*$/m)
    .map((block) =>
      block
        .split('\n')
        .filter((line) => !line.trim().startsWith('--'))
        .join('\n')
        .trim(),
    )
    .filter((statement) => statement.length > 0);
}

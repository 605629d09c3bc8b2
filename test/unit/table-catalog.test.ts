import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { catalogTable, defaultLoadTables, erasedByForget, LAKE_TABLES } from '../../src/catalog/catalog.js';
import {
  FREE_TEXT_COLUMNS,
  IDENTITY_COLUMNS,
  isIdentityColumn,
  PERSONAL_ATTRIBUTE_COLUMNS,
  PERSONAL_DATA_COLUMNS,
  withoutMinMax,
} from '../../src/catalog/column-privacy.js';
import { MART_NAMES } from '../../src/catalog/tables/marts.js';
import { schemaFromColumns } from '../../src/lake/table/columns.js';
import { statsFromCopy } from '../../src/lake/table/file-stats.js';
import { loadModels } from '../../src/transforms/model.js';
import { martNames } from '../../src/warehouse/load.js';
import { ROOT } from '../helpers/cli.js';

const SRC = path.join(ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

const outsideCatalog = () =>
  sourceFiles(SRC)
    .filter((file) => !file.startsWith(path.join(SRC, 'catalog') + path.sep))
    .map((file) => ({ file: path.relative(ROOT, file), text: readFileSync(file, 'utf8') }));

describe('the table catalog declares every lake table once', () => {
  it('names each table once, with a valid lake name', () => {
    const names = LAKE_TABLES.map((t) => t.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^[a-z][a-z0-9_]*$/);
    for (const table of LAKE_TABLES) expect(catalogTable(table.name)).toBe(table);
    expect(catalogTable('some_foreign_table')).toBeUndefined();
  });

  it('lists the marts the SQL models build, in build order', () => {
    const built = loadModels()
      .filter((m) => m.materialized === 'delta')
      .map((m) => m.name);
    expect([...MART_NAMES]).toEqual(built);
    expect(LAKE_TABLES.filter((t) => t.role === 'mart').map((t) => t.name)).toEqual(built);
  });

  it('gives the warehouse load its default tables: the marts, then raw_events on request', () => {
    expect(defaultLoadTables()).toEqual([...MART_NAMES]);
    expect(defaultLoadTables({ includeRaw: true })).toEqual([...MART_NAMES, 'raw_events']);
    expect(martNames()).toEqual([...MART_NAMES]);
  });

  it('declares columns and partitioning for every table that is not a mart', () => {
    for (const table of LAKE_TABLES) {
      if (table.role === 'mart') continue;
      const columns = table.definition.columns.map((c) => c.name);
      expect(new Set(columns).size, table.name).toBe(columns.length);
      for (const partition of table.definition.partitionColumns ?? []) {
        expect(columns, `${table.name} partition ${partition}`).toContain(partition);
      }
    }
  });

  it('only deletion_requests (the record of erasures, user keys only) is never rewritten by a forget', () => {
    expect(LAKE_TABLES.filter((t) => t.erasure === 'keep').map((t) => t.name)).toEqual(['deletion_requests']);
    expect(erasedByForget('deletion_requests')).toBe(false);
    expect(erasedByForget('raw_events')).toBe(true);
    // a table the catalog does not know (foreign, or written by a newer version) is erased too
    expect(erasedByForget('some_foreign_table')).toBe(true);
  });

  it('a table holding personal attributes also has an identity column, so a forget finds those rows', () => {
    for (const table of LAKE_TABLES) {
      if (table.role === 'mart') continue;
      const columns = table.definition.columns.map((c) => c.name);
      if (columns.some((c) => PERSONAL_ATTRIBUTE_COLUMNS.includes(c))) {
        expect(columns.some(isIdentityColumn), table.name).toBe(true);
      }
    }
  });
});

describe('personal data is decided once, by column name', () => {
  it('identity columns are user_id, user_key and raw, each with how a forget matches it', () => {
    expect(IDENTITY_COLUMNS).toEqual([
      { name: 'user_id', holds: 'id' },
      { name: 'user_key', holds: 'key' },
      { name: 'raw', holds: 'quoted id' },
    ]);
    expect([...PERSONAL_DATA_COLUMNS].sort()).toEqual(['ip', 'raw', 'user_agent', 'user_id', 'user_key']);
  });

  it('the log statistics keep no min/max of personal data or free text, and keep them for the rest', () => {
    const names = [...PERSONAL_DATA_COLUMNS, ...FREE_TEXT_COLUMNS, 'event_type'];
    const fields = schemaFromColumns(names.map((name) => ({ name, type: 'string' }))).fields;
    const stats = statsFromCopy(
      {
        filename: 'part-0.parquet',
        count: '1',
        file_size_bytes: '100',
        column_statistics: names.map((name) => ({
          key: name,
          value: [
            { key: 'min', value: 'a' },
            { key: 'max', value: 'b' },
            { key: 'null_count', value: '0' },
          ],
        })),
        partition_keys: null,
      },
      fields,
    );
    expect(Object.keys(stats.minValues ?? {})).toEqual(['event_type']);
    expect(Object.keys(stats.maxValues ?? {})).toEqual(['event_type']);
    expect(Object.keys(stats.nullCount ?? {}).sort()).toEqual([...names].sort());
    for (const name of names) expect(withoutMinMax(name)).toBe(name !== 'event_type');
  });
});

describe('nothing outside src/catalog declares a lake table or a personal-column list', () => {
  it('no column list literal of a lake table', () => {
    const offenders = outsideCatalog()
      .filter(({ text }) => /:\s*(readonly\s+)?ColumnDef\[\]\s*=\s*\[/.test(text))
      .map(({ file }) => file);
    expect(offenders).toEqual([]);
  });

  it('no constant naming a catalog table', () => {
    const names = LAKE_TABLES.map((t) => t.name).join('|');
    const declaration = new RegExp(`const [A-Z_]+ = '(${names})';`);
    const offenders = outsideCatalog()
      .filter(({ text }) => declaration.test(text))
      .map(({ file }) => file);
    expect(offenders).toEqual([]);
  });

  it('no list of personal columns (user_id, user_key, raw, ip, user_agent together)', () => {
    // an array literal of two or more column names that are all personal data is a personal-column
    // list; a query's output columns (personal ones among others) are not
    const personal = new Set(PERSONAL_DATA_COLUMNS);
    const lists = (text: string) =>
      [...text.matchAll(/\[((?:\s*'[a-z_]+',?)+)\s*\]/g)].map((m) =>
        [...m[1]!.matchAll(/'([a-z_]+)'/g)].map((n) => n[1]!),
      );
    const offenders = outsideCatalog()
      .filter(({ text }) =>
        lists(text).some((names) => names.length >= 2 && names.every((n) => personal.has(n))),
      )
      .map(({ file }) => file);
    expect(offenders).toEqual([]);
  });

  it('the catalog builds on the lake column types only, and its privacy rules on nothing', () => {
    for (const file of sourceFiles(path.join(SRC, 'catalog'))) {
      const imports = [...readFileSync(file, 'utf8').matchAll(/from '([^']+)'/g)].map((m) => m[1]!);
      for (const target of imports) {
        const resolved = path.relative(SRC, path.resolve(path.dirname(file), target));
        expect(
          resolved.startsWith('catalog/') ||
            ['lake/table/columns.js', 'lake/table/delta-table.js'].includes(resolved),
          `${path.relative(ROOT, file)} imports ${target}`,
        ).toBe(true);
      }
    }
    const privacy = readFileSync(path.join(SRC, 'catalog', 'column-privacy.ts'), 'utf8');
    expect(privacy).not.toMatch(/^import /m);
  });
});

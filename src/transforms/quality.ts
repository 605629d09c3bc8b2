import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/config-schema.js';
import { SQL_DIR } from '../engine/sql-files.js';
import type { AddFile } from '../lake/log/actions.js';
import type { Lake } from '../lake/table/lake.js';

/**
 * Data quality checks (sql/checks/*.sql), each one query returning `checked` and `failing` row
 * counts over the latest tables. Error checks must pass; every check counts toward the quality
 * ratio (1 - failing / checked over all checks), which must stay above the SLO.
 */
export interface CheckResult {
  readonly name: string;
  readonly severity: 'error' | 'warn';
  readonly description: string;
  readonly checked: number;
  readonly failing: number;
  readonly passed: boolean;
}

export interface QualityReport {
  readonly checks: readonly CheckResult[];
  readonly qualityRatio: number;
  readonly minQualityRatio: number;
  readonly passed: boolean;
  /** `build` when only the rows this build wrote were checked, `all` for whole tables. */
  readonly scope: 'build' | 'all';
}

interface CheckDefinition {
  readonly name: string;
  readonly severity: 'error' | 'warn';
  readonly tables: readonly string[];
  /**
   * `-- neighbours: <table>(<column>)`: the check also reads the view `<table>_neighbours`, the
   * other files of the table sharing a `<column>` partition value with the files checked (none when
   * the table is checked whole): what new rows could collide with, e.g. an event id landed before.
   */
  readonly neighbours?: { readonly table: string; readonly column: string };
  readonly description: string;
  readonly sql: string;
}

export function loadChecks(dir = path.join(SQL_DIR, 'checks')): CheckDefinition[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((file) => {
      const sql = readFileSync(path.join(dir, file), 'utf8');
      const header = (key: string) => new RegExp(`^--\\s*${key}:\\s*(.*)$`, 'm').exec(sql)?.[1]?.trim() ?? '';
      const description = sql
        .split('\n')
        .filter((l) => l.startsWith('--') && !/^--\s*(check|severity|tables|neighbours):/.test(l))
        .map((l) => l.replace(/^--\s*/, ''))
        .join(' ');
      const severity = header('severity') === 'error' ? 'error' : 'warn';
      const neighbours = /^([a-z_][a-z0-9_]*)\(([a-z_][a-z0-9_]*)\)$/.exec(header('neighbours'));
      return {
        name: header('check') || path.basename(file, '.sql'),
        severity,
        tables: header('tables').split(/,\s*/).filter(Boolean),
        ...(neighbours ? { neighbours: { table: neighbours[1]!, column: neighbours[2]! } } : {}),
        description,
        sql,
      };
    });
}

/**
 * Runs every check whose tables exist. With `scope`, a table named in it is checked only over the
 * given files (what an incremental build just wrote): the marts' keys include their partition
 * columns, so new rows cannot collide with rows of untouched partitions.
 */
export async function runQualityChecks(
  lake: Lake,
  config: Config['marts'],
  scope?: ReadonlyMap<string, readonly AddFile[]>,
): Promise<QualityReport> {
  const checks = loadChecks();
  const available = new Set(await lake.tableNames());
  const registered = new Set<string>();
  const results: CheckResult[] = [];
  for (const check of checks) {
    if (!check.tables.every((t) => available.has(t))) continue;
    for (const table of check.tables) {
      if (!registered.has(table)) {
        const files = scope?.get(table);
        await lake.table(table).register(table, {}, files ? () => files : undefined);
        registered.add(table);
      }
    }
    if (check.neighbours && !registered.has(`${check.neighbours.table}_neighbours`)) {
      const { table, column } = check.neighbours;
      const files = scope?.get(table) ?? [];
      const values = new Set(files.map((f) => f.partitionValues[column] ?? null));
      const checked = new Set(files.map((f) => f.path));
      await lake
        .table(table)
        .register(`${table}_neighbours`, {}, (snapshot) =>
          scope?.has(table)
            ? snapshot.files.filter(
                (f) => values.has(f.partitionValues[column] ?? null) && !checked.has(f.path),
              )
            : [],
        );
      registered.add(`${table}_neighbours`);
    }
    const [row] = await lake.db.all<{ checked: string | null; failing: string | null }>(check.sql);
    const checked = Number(row?.checked ?? 0);
    const failing = Number(row?.failing ?? 0);
    results.push({
      name: check.name,
      severity: check.severity,
      description: check.description,
      checked,
      failing,
      passed: failing === 0,
    });
  }
  const checked = results.reduce((sum, r) => sum + r.checked, 0);
  const failing = results.reduce((sum, r) => sum + r.failing, 0);
  const qualityRatio = checked === 0 ? 1 : 1 - failing / checked;
  const errorsPass = results.every((r) => r.severity !== 'error' || r.passed);
  return {
    checks: results,
    qualityRatio,
    minQualityRatio: config.minQualityRatio,
    passed: errorsPass && qualityRatio >= config.minQualityRatio,
    scope: scope ? 'build' : 'all',
  };
}

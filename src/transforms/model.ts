import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { SQL_DIR } from '../engine/sql-files.js';

/**
 * A SQL model: one file under sql/staging, sql/intermediate or sql/marts, dbt style, with a header
 * of `-- key: value` lines (model, materialized, depends_on, partition_by, unique_key, grain).
 */
export interface Model {
  readonly name: string;
  readonly layer: 'staging' | 'intermediate' | 'marts' | 'scope';
  readonly materialized: 'temp' | 'delta';
  readonly dependsOn: readonly string[];
  /** Partition columns, outermost first (a date, optionally an hour within it). */
  readonly partitionBy: readonly string[];
  readonly uniqueKey: readonly string[];
  /** For a partitioned mart: the scope table naming the partitions an incremental build replaces. */
  readonly scope: string | undefined;
  readonly grain: string;
  readonly sql: string;
  /** Named parameters the SQL binds ($name). */
  readonly parameters: readonly string[];
  readonly file: string;
}

export const MODEL_LAYERS = ['staging', 'intermediate', 'marts'] as const;

export function parseModel(
  file: string,
  text: string,
  layer: Model['layer'] = path.basename(path.dirname(file)) as Model['layer'],
): Model {
  const header = new Map<string, string>();
  const grainLines: string[] = [];
  for (const line of text.split('\n')) {
    const match = /^--\s*([a-z_]+):\s*(.*)$/.exec(line);
    if (match) header.set(match[1]!, match[2]!.trim());
    if (/^--\s*grain:/.test(line)) grainLines.push(line.replace(/^--\s*grain:\s*/, ''));
  }
  const name = header.get('model') ?? path.basename(file, '.sql');
  if (name !== path.basename(file, '.sql'))
    throw new Error(`${file}: model name "${name}" must match the file name`);
  const list = (key: string) =>
    (header.get(key) ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const materialized = header.get('materialized') ?? (layer === 'marts' ? 'delta' : 'temp');
  if (materialized !== 'temp' && materialized !== 'delta')
    throw new Error(`${file}: materialized must be temp or delta`);
  return {
    name,
    layer,
    materialized,
    dependsOn: list('depends_on'),
    partitionBy: list('partition_by'),
    uniqueKey: list('unique_key'),
    scope: header.get('scope'),
    grain: grainLines.join(' '),
    sql: text,
    parameters: [...new Set([...stripComments(text).matchAll(/\$([a-z_][a-z0-9_]*)/g)].map((m) => m[1]!))],
    file,
  };
}

/** Every model under sql/, in an order where each comes after the models it depends on. */
export function loadModels(sqlDir: string = SQL_DIR): Model[] {
  const models: Model[] = [];
  for (const layer of MODEL_LAYERS) {
    const dir = path.join(sqlDir, layer);
    for (const file of readdirSync(dir)
      .filter((f) => f.endsWith('.sql'))
      .sort()) {
      const full = path.join(dir, file);
      models.push(parseModel(full, readFileSync(full, 'utf8')));
    }
  }
  return orderByDependencies(models);
}

/**
 * The scope models of a build mode (sql/scope/*.sql and sql/scope/<mode>/*.sql), in dependency
 * order: what plan.ts runs to say what the build recomputes.
 */
export function loadScopeModels(mode: 'full' | 'incremental', sqlDir: string = SQL_DIR): Model[] {
  const models: Model[] = [];
  for (const dir of [path.join(sqlDir, 'scope'), path.join(sqlDir, 'scope', mode)]) {
    for (const file of readdirSync(dir)
      .filter((f) => f.endsWith('.sql'))
      .sort()) {
      const full = path.join(dir, file);
      models.push(parseModel(full, readFileSync(full, 'utf8'), 'scope'));
    }
  }
  return orderByDependencies(models);
}

export function orderByDependencies(models: readonly Model[]): Model[] {
  const byName = new Map(models.map((m) => [m.name, m]));
  const ordered: Model[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (model: Model, trail: readonly string[]) => {
    const seen = state.get(model.name);
    if (seen === 'done') return;
    if (seen === 'visiting')
      throw new Error(`models depend on each other in a cycle: ${[...trail, model.name].join(' -> ')}`);
    state.set(model.name, 'visiting');
    for (const dep of model.dependsOn) {
      const upstream = byName.get(dep);
      if (upstream) visit(upstream, [...trail, model.name]);
    }
    state.set(model.name, 'done');
    ordered.push(model);
  };
  for (const model of models) visit(model, []);
  return ordered;
}

/** The names a model depends on that are not models: inputs the build must provide. */
export function externalInputs(models: readonly Model[]): string[] {
  const names = new Set(models.map((m) => m.name));
  return [...new Set(models.flatMap((m) => m.dependsOn).filter((d) => !names.has(d)))].sort();
}

function stripComments(sql: string): string {
  return sql
    .split('\n')
    .map((line) => line.replace(/--.*$/, ''))
    .join('\n');
}

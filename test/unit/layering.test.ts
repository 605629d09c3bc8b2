import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAst } from 'rolldown/parseAst';
import { describe, expect, it } from 'vitest';

/**
 * Imports only point downward. The layers of src/, top to bottom (README, Layout): a module may
 * import modules of its own layer or of a layer below, never above. Folders are matched by the
 * longest prefix, so `lake/log` is its own layer under `lake/table`.
 */
const LAYERS: readonly { readonly name: string; readonly folders: readonly string[] }[] = [
  // oclif commands and what only they use: base command, shared flags, rendering, progress
  { name: 'commands', folders: ['commands', 'cli'] },
  // pipeline stages; a stage may use the stages listed after it, never those before
  { name: 'orchestration', folders: ['ops', 'demo'] }, // run the stages as one; record and report runs
  { name: 'stream', folders: ['stream'] }, // micro-batch: reuses ingest's reading/staging, the marts' rates
  { name: 'transforms', folders: ['transforms'] }, // marts from what ingest landed
  { name: 'ingest', folders: ['ingest'] },
  { name: 'governance', folders: ['governance'] }, // GDPR erasure, pseudonyms, audit, lineage, Avro registry
  { name: 'sinks and tools', folders: ['warehouse', 'query', 'generate'] },
  { name: 'catalog', folders: ['catalog'] }, // the lake's table definitions (issue 16)
  // the lake: operations over the table API over the log kernel
  { name: 'lake operations', folders: ['lake/operations'] },
  { name: 'lake table API', folders: ['lake/table'] },
  { name: 'lake log kernel', folders: ['lake/log'] },
  { name: 'storage and engine', folders: ['storage', 'engine'] },
  // ground floor: imports nothing above it. The catalog's column privacy rules (arch-catalog) are
  // plain data that the lake's statistics and checkpoints apply, so they sit here, not with the catalog.
  { name: 'ground floor', folders: ['runtime', 'util', 'config', 'errors.ts', 'catalog/column-privacy.ts'] },
];

/**
 * Upward imports that still exist, each removed by another branch of issue 16; the lead empties
 * this list as those branches are merged. Nothing may be added to it.
 */
const ALLOWED: readonly string[] = [];

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** The layer index of a path relative to src/ (lower is higher up), or undefined when unassigned. */
function layerOf(relative: string): number | undefined {
  let best: { index: number; length: number } | undefined;
  LAYERS.forEach((layer, index) => {
    for (const folder of layer.folders) {
      const matches = relative === folder || relative.startsWith(`${folder}/`);
      if (matches && (!best || folder.length > best.length)) best = { index, length: folder.length };
    }
  });
  return best?.index;
}

/** The module specifiers a TypeScript file imports: static, type-only, re-exports and dynamic `import()`. */
function specifiers(code: string, file: string): string[] {
  const found: string[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const child of node) visit(child);
      return;
    }
    if (!node || typeof node !== 'object') return;
    const { type, source } = node as { type?: string; source?: { type?: string; value?: unknown } };
    const carriesSource =
      type === 'ImportDeclaration' ||
      type === 'ExportNamedDeclaration' ||
      type === 'ExportAllDeclaration' ||
      type === 'ImportExpression';
    if (carriesSource && source?.type === 'Literal' && typeof source.value === 'string')
      found.push(source.value);
    for (const child of Object.values(node)) if (child && typeof child === 'object') visit(child);
  };
  visit(parseAst(code, { lang: 'ts' }, file).body);
  return found;
}

/** Every relative import of every src/ file, as src-relative paths. */
function importEdges(): { from: string; to: string }[] {
  const edges: { from: string; to: string }[] = [];
  for (const file of sourceFiles(SRC)) {
    for (const specifier of specifiers(readFileSync(file, 'utf8'), file)) {
      if (!specifier.startsWith('.')) continue;
      const target = path.resolve(path.dirname(file), specifier).replace(/\.js$/, '.ts');
      edges.push({ from: path.relative(SRC, file), to: path.relative(SRC, target) });
    }
  }
  return edges;
}

/** Imports from a layer to a layer above it, as `from -> to`. */
function upwardImports(edges: readonly { from: string; to: string }[]): string[] {
  return edges
    .filter(({ from, to }) => layerOf(to)! < layerOf(from)!)
    .map(({ from, to }) => `${from} -> ${to}`)
    .sort();
}

describe('layering of src/', () => {
  const edges = importEdges();

  it('reads the imports (the parser sees static, type-only and dynamic imports)', () => {
    expect(edges.length).toBeGreaterThan(300);
    expect(edges).toContainEqual({ from: 'lake/table/delta-table.ts', to: 'lake/log/delta-log.ts' });
    expect(edges).toContainEqual({ from: 'commands/clv/backtest.ts', to: 'transforms/clv/backtest.ts' });
  });

  it('puts every file of src/ in a layer', () => {
    const files = sourceFiles(SRC).map((file) => path.relative(SRC, file));
    expect(files.filter((file) => layerOf(file) === undefined)).toEqual([]);
  });

  it('has no upward import beyond the ones other branches remove', () => {
    expect(upwardImports(edges).filter((edge) => !ALLOWED.includes(edge))).toEqual([]);
  });

  it('lists only upward imports that still exist (remove the ones fixed)', () => {
    const upward = new Set(upwardImports(edges));
    expect(ALLOWED.filter((edge) => !upward.has(edge))).toEqual([]);
  });

  it('keeps run state (runtime/) to commands and pipeline stages: the lake, storage and engine never learn who calls them', () => {
    const catalog = LAYERS.findIndex((layer) => layer.name === 'catalog');
    const users = edges.filter(({ from, to }) => to.startsWith('runtime/') && layerOf(from)! >= catalog);
    expect(users).toEqual([]);
  });

  it('finds an upward import when there is one', () => {
    expect(
      upwardImports([
        { from: 'lake/log/delta-log.ts', to: 'runtime/run-context.ts' },
        { from: 'lake/log/delta-log.ts', to: 'ops/run-context.ts' },
        { from: 'lake/log/checkpoint.ts', to: 'lake/table/file-stats.ts' },
        { from: 'warehouse/load.ts', to: 'transforms/model.ts' },
        { from: 'commands/load.ts', to: 'warehouse/load.ts' },
      ]),
    ).toEqual([
      'lake/log/checkpoint.ts -> lake/table/file-stats.ts',
      'lake/log/delta-log.ts -> ops/run-context.ts',
      'warehouse/load.ts -> transforms/model.ts',
    ]);
  });
});

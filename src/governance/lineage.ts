import type { Action, CommitInfo } from '../lake/log/actions.js';
import { fileKey } from '../lake/log/snapshot.js';
import type { Lake } from '../lake/table/lake.js';

/** One commit that contributed live data to a table version. */
export interface LineageCommit {
  readonly version: number;
  readonly operation: string;
  readonly timestamp: string | null;
  readonly runId: string | null;
}

/** Where a table version's live rows came from: its commits, their source files and input tables. */
export interface LineageNode {
  readonly table: string;
  readonly version: number;
  readonly commits: readonly LineageCommit[];
  /** Source files landed by ingest (path or s3:// URI). */
  readonly sources: readonly string[];
  readonly inputs: readonly LineageNode[];
  /** Set when part of the chain cannot be followed (log cleaned up, depth limit, table gone). */
  readonly note?: string;
}

interface TableInput {
  readonly table: string;
  readonly version: number;
}

const MAX_DEPTH = 6;

/**
 * The chain from a table version back to source files: the commits that added its live files
 * (following compactions and deletes back to the commits whose rows they carry), the inputs those
 * commits name in their commitInfo (tables at versions, or ingested source files), recursively.
 */
export async function lineageOf(
  lake: Lake,
  table: string,
  version?: number,
  depth = 0,
): Promise<LineageNode> {
  const deltaTable = lake.table(table);
  if (!(await deltaTable.exists())) {
    return { table, version: version ?? -1, commits: [], sources: [], inputs: [], note: 'table not found' };
  }
  const listing = await deltaTable.log.list();
  const target = version ?? Math.max(...listing.commits.keys());
  const versions = [...listing.commits.keys()].filter((v) => v <= target).sort((a, b) => a - b);
  // origin: the data-changing commits whose rows a live file carries
  const origins = new Map<string, Set<number>>();
  const infos = new Map<number, CommitInfo | undefined>();
  for (const v of versions) {
    const actions: Action[] = await deltaTable.log.readCommit(v);
    const info = actions.find((a): a is { commitInfo: CommitInfo } => 'commitInfo' in a)?.commitInfo;
    infos.set(v, info);
    const namesInputs = Boolean(info && (Array.isArray(info.inputs) || Array.isArray(info.sources)));
    const inherited = new Set<number>();
    for (const action of actions) {
      if (!('remove' in action)) continue;
      const key = fileKey(action.remove.path);
      for (const origin of origins.get(key) ?? []) inherited.add(origin);
      origins.delete(key);
    }
    for (const action of actions) {
      if (!('add' in action)) continue;
      // a rearrangement (compaction, delete, restore) carries the rows of the files it replaced
      const from = new Set<number>(action.add.dataChange && namesInputs ? [] : inherited);
      if (action.add.dataChange) from.add(v);
      origins.set(fileKey(action.add.path), from);
    }
  }
  const firstLogged = versions[0] ?? 0;
  const contributing = new Set<number>();
  for (const set of origins.values()) for (const v of set) contributing.add(v);

  const sources = new Set<string>();
  const inputs = new Map<string, number>();
  const commits: LineageCommit[] = [];
  for (const v of [...contributing].sort((a, b) => a - b)) {
    const info = infos.get(v);
    commits.push({
      version: v,
      operation: info?.operation ?? 'unknown',
      timestamp: info?.timestamp ? new Date(info.timestamp).toISOString() : null,
      runId: typeof info?.runId === 'string' ? info.runId : null,
    });
    for (const source of (info?.sources as string[] | undefined) ?? []) sources.add(source);
    for (const input of (info?.inputs as TableInput[] | undefined) ?? []) {
      if (typeof input?.table !== 'string' || typeof input.version !== 'number') continue;
      inputs.set(input.table, Math.max(inputs.get(input.table) ?? -1, input.version));
    }
  }
  const notes: string[] = [];
  if (firstLogged > 0) notes.push(`log before version ${firstLogged} cleaned up: older origins not shown`);
  const upstream: LineageNode[] = [];
  for (const [name, v] of [...inputs.entries()].sort()) {
    if (depth + 1 >= MAX_DEPTH) {
      notes.push('depth limit reached');
      break;
    }
    upstream.push(await lineageOf(lake, name, v, depth + 1));
  }
  return {
    table,
    version: target,
    commits,
    sources: [...sources].sort(),
    inputs: upstream,
    ...(notes.length > 0 ? { note: notes.join('; ') } : {}),
  };
}

/** The chain as an indented tree, one line per table version and source file; repeats abridged. */
export function renderLineage(node: LineageNode, indent = '', seen = new Set<string>()): string[] {
  const id = `${node.table}@${node.version}`;
  if (seen.has(id)) return [`${indent}${id}  (as above)`];
  seen.add(id);
  const ops = new Map<string, number[]>();
  for (const c of node.commits) ops.set(c.operation, [...(ops.get(c.operation) ?? []), c.version]);
  const summary = [...ops.entries()].map(([op, vs]) => `${op} v${vs.join(',')}`).join('; ');
  const lines = [`${indent}${id}${summary ? `  (${summary})` : ''}${node.note ? `  [${node.note}]` : ''}`];
  for (const source of node.sources) lines.push(`${indent}  <- ${source}`);
  for (const input of node.inputs) lines.push(...renderLineage(input, `${indent}  `, seen));
  return lines;
}

import type { Action, PartitionValues } from './actions.js';
import { fileKey } from './snapshot.js';

/**
 * What a commit read and touched, so a losing writer can tell whether the winner's commit changes
 * its result. Blind appends conflict only on schema/protocol changes and on their own txn ids.
 */
export type ConflictScope =
  | { readonly kind: 'append' }
  /** Rearranges existing files (compaction): conflicts only when its removed files went away. */
  | { readonly kind: 'compact' }
  /** Read (and may replace) files in the partitions matched; `undefined` partitions = whole table. */
  | { readonly kind: 'rewrite'; readonly partitions?: readonly PartitionValues[] };

interface CommitLike {
  readonly actions: readonly Action[];
  readonly scope: ConflictScope;
}

/** Returns a description of the conflict, or undefined when the commit can go on top of `winning`. */
export function detectConflict(ours: CommitLike, winning: readonly Action[]): string | undefined {
  const ourTxns = new Set<string>();
  const ourRemoves = new Set<string>();
  for (const action of ours.actions) {
    if ('txn' in action) ourTxns.add(action.txn.appId);
    if ('remove' in action) ourRemoves.add(fileKey(action.remove.path));
  }
  for (const action of winning) {
    if ('metaData' in action) return 'the table schema or properties changed';
    if ('protocol' in action) return 'the table protocol changed';
    if ('txn' in action && ourTxns.has(action.txn.appId)) {
      return `application transaction ${action.txn.appId} was committed concurrently`;
    }
    if ('remove' in action && ourRemoves.has(fileKey(action.remove.path))) {
      return `file ${action.remove.path} was removed concurrently`;
    }
    if ('add' in action && action.add.dataChange && ours.scope.kind === 'rewrite') {
      const { partitions } = ours.scope;
      if (!partitions || partitions.some((p) => matchesPartition(action.add.partitionValues, p))) {
        return `data was added concurrently to a partition this operation read (${action.add.path})`;
      }
    }
  }
  return undefined;
}

/** True when every key of `filter` has the same value in `values` (null matches null). */
export function matchesPartition(values: PartitionValues, filter: PartitionValues): boolean {
  return Object.entries(filter).every(([key, expected]) => (values[key] ?? null) === (expected ?? null));
}

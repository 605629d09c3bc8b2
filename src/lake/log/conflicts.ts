import type { Action, PartitionValues } from './actions.js';
import { fileKey } from './snapshot.js';

/**
 * What a commit read and touched, so a losing writer can tell whether the winner's commit changes
 * its result. Blind appends conflict only on schema/protocol changes and on their own txn ids.
 */
export type ConflictScope =
  | {
      readonly kind: 'append';
      /**
       * The read predicate of an append that is not blind: the partitions whose data it read (an
       * ingest drops events already in the days it lands). Data a concurrent commit added there
       * was not seen, so the append conflicts (CONCURRENT_APPEND) and must be recomputed.
       */
      readonly readPartitions?: readonly PartitionValues[];
    }
  /** Rearranges existing files (compaction): conflicts only when its removed files went away. */
  | { readonly kind: 'compact' }
  /** Read (and may replace) files in the partitions matched; `undefined` partitions = whole table. */
  | { readonly kind: 'rewrite'; readonly partitions?: readonly PartitionValues[] };

interface CommitLike {
  readonly actions: readonly Action[];
  readonly scope: ConflictScope;
}

export interface Conflict {
  /** CONCURRENT_APPEND: data was added where this commit read; the rest: COMMIT_CONFLICT. */
  readonly code: 'CONCURRENT_APPEND' | 'COMMIT_CONFLICT';
  readonly message: string;
}

/** Returns a description of the conflict, or undefined when the commit can go on top of `winning`. */
export function detectConflict(ours: CommitLike, winning: readonly Action[]): string | undefined {
  return findConflict(ours, winning)?.message;
}

/** The conflict between our commit and a concurrent winning one, if any. */
export function findConflict(ours: CommitLike, winning: readonly Action[]): Conflict | undefined {
  const conflict = (message: string): Conflict => ({ code: 'COMMIT_CONFLICT', message });
  const ourTxns = new Set<string>();
  const ourRemoves = new Set<string>();
  for (const action of ours.actions) {
    if ('txn' in action) ourTxns.add(action.txn.appId);
    if ('remove' in action) ourRemoves.add(fileKey(action.remove.path));
  }
  for (const action of winning) {
    if ('metaData' in action) return conflict('the table schema or properties changed');
    if ('protocol' in action) return conflict('the table protocol changed');
    if ('txn' in action && ourTxns.has(action.txn.appId)) {
      return conflict(`application transaction ${action.txn.appId} was committed concurrently`);
    }
    if ('remove' in action && ourRemoves.has(fileKey(action.remove.path))) {
      return conflict(`file ${action.remove.path} was removed concurrently`);
    }
    if (
      'add' in action &&
      action.add.dataChange &&
      readsPartitionOf(ours.scope, action.add.partitionValues)
    ) {
      return {
        code: 'CONCURRENT_APPEND',
        message: `data was added concurrently to a partition this operation read (${action.add.path})`,
      };
    }
  }
  return undefined;
}

/** Does the scope's read predicate cover a file with these partition values? */
function readsPartitionOf(scope: ConflictScope, values: PartitionValues): boolean {
  if (scope.kind === 'rewrite') {
    return !scope.partitions || scope.partitions.some((p) => matchesPartition(values, p));
  }
  if (scope.kind === 'append' && scope.readPartitions) {
    return scope.readPartitions.some((p) => matchesPartition(values, p));
  }
  return false;
}

/** True when every key of `filter` has the same value in `values` (null matches null). */
export function matchesPartition(values: PartitionValues, filter: PartitionValues): boolean {
  return Object.entries(filter).every(([key, expected]) => (values[key] ?? null) === (expected ?? null));
}

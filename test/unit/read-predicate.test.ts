import { describe, expect, it } from 'vitest';
import { findConflict } from '../../src/lake/log/conflicts.js';
import { isAbandoned, STALE_AFTER_MS } from '../../src/storage/staging.js';

const add = (path: string, partitionValues: Record<string, string | null>, dataChange = true) => ({
  add: { path, partitionValues, size: 1, modificationTime: 0, dataChange },
});

describe('the read predicate of an append (ingest dedupe days)', () => {
  const ours = {
    actions: [add('mine', { dt: '2026-11-20', hour: '10' })],
    scope: { kind: 'append' as const, readPartitions: [{ dt: '2026-11-20' }] },
  };

  it('conflicts with data added concurrently to a day it read, in any hour', () => {
    expect(findConflict(ours, [add('theirs', { dt: '2026-11-20', hour: '23' })])).toMatchObject({
      code: 'CONCURRENT_APPEND',
    });
  });

  it('passes data added to other days, compaction (dataChange false), and has no predicate when blind', () => {
    expect(findConflict(ours, [add('theirs', { dt: '2026-11-21', hour: '10' })])).toBeUndefined();
    expect(findConflict(ours, [add('compacted', { dt: '2026-11-20', hour: '10' }, false)])).toBeUndefined();
    const blind = { actions: ours.actions, scope: { kind: 'append' as const } };
    expect(findConflict(blind, [add('theirs', { dt: '2026-11-20', hour: '10' })])).toBeUndefined();
  });

  it('keeps other conflicts as COMMIT_CONFLICT', () => {
    const txn = { txn: { appId: 'file-1', version: 0 } };
    expect(findConflict({ ...ours, actions: [txn] }, [txn])).toMatchObject({ code: 'COMMIT_CONFLICT' });
  });
});

describe('abandoned staging names', () => {
  const now = Date.now();
  it('on another host: only by age; unknown names: only by age', () => {
    expect(isAbandoned('write-00000000-1-abc', now, now)).toBe(false);
    expect(isAbandoned('write-00000000-1-abc', now - STALE_AFTER_MS - 1, now)).toBe(true);
    expect(isAbandoned('something-else', now, now)).toBe(false);
  });
});

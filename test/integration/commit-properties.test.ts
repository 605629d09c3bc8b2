import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DuckDb } from '../../src/engine/duckdb.js';
import type { CommitInfo } from '../../src/lake/log/actions.js';
import { DeltaLog } from '../../src/lake/log/delta-log.js';
import { checkpointFileName, LOG_DIR } from '../../src/lake/log/log-files.js';
import { optimizeTable } from '../../src/lake/operations/optimize.js';
import { restoreTable } from '../../src/lake/operations/restore.js';
import { appendRows } from '../../src/lake/table/append-rows.js';
import { Lake } from '../../src/lake/table/lake.js';
import { currentRun } from '../../src/runtime/run-context.js';
import { LocalStore } from '../../src/storage/local-store.js';

const DEFINITION = {
  columns: [
    { name: 'id', type: 'string' as const },
    { name: 'user_id', type: 'string' as const },
  ],
};

/** The commitInfo of every version of a table, oldest first. */
async function commitInfos(lake: Lake, name: string): Promise<CommitInfo[]> {
  const history = await lake.table(name).log.history();
  return history.reverse().map((entry) => entry.commitInfo!);
}

describe('commit metadata comes from the caller (CommitProperties), not from process state', () => {
  let db: DuckDb;
  let lake: Lake;
  beforeEach(async () => {
    db = await DuckDb.open();
    lake = new Lake(new LocalStore(mkdtempSync(path.join(os.tmpdir(), 'commit-props-'))), db);
  });
  afterEach(() => db.close());

  it('stamps the run id and fields the caller gives on creation, append, optimize and restore', async () => {
    const run = { runId: 'run-caller-1' };
    await appendRows(lake, 't', DEFINITION, [{ id: 'a', user_id: 'u1' }], { commitProperties: run });
    await appendRows(lake, 't', DEFINITION, [{ id: 'b', user_id: 'u2' }], {
      parameters: { why: 'test' },
      commitProperties: { runId: 'run-caller-2', sources: ['x.ndjson'] },
    });
    await optimizeTable(lake, 't', { commitProperties: { runId: 'run-optimize' } });
    await restoreTable(lake, 't', 1, { runId: 'run-restore' });
    const infos = await commitInfos(lake, 't');
    expect(infos.map((i) => [i.operation, i.runId])).toEqual([
      ['CREATE TABLE', 'run-caller-1'],
      ['WRITE', 'run-caller-1'],
      ['WRITE', 'run-caller-2'],
      ['OPTIMIZE', 'run-optimize'],
      ['RESTORE', 'run-restore'],
    ]);
    expect(infos[2]).toMatchObject({ sources: ['x.ndjson'], operationParameters: { why: 'test' } });
  });

  it('stamps no run id the caller did not give: the log does not read the run state', async () => {
    currentRun.start('run-of-the-process');
    await appendRows(lake, 't', DEFINITION, [{ id: 'a', user_id: 'u1' }]);
    const infos = await commitInfos(lake, 't');
    expect(infos).toHaveLength(2);
    for (const info of infos) {
      expect(info.runId).toBeUndefined();
      expect(info.engineInfo).toMatch(/^shopstream\//);
    }
  });

  it('writes any further commitInfo field the caller gives (as delta-rs userMetadata)', async () => {
    const table = lake.table('t');
    const snapshot = await table.ensure(DEFINITION, { runId: 'r' });
    await table.log.commit({
      readVersion: snapshot.version,
      actions: [],
      operation: 'SET TBLPROPERTIES',
      scope: { kind: 'rewrite' },
      properties: { runId: 'r2', userMetadata: 'hello' },
    });
    const [, last] = await commitInfos(lake, 't');
    expect(last).toMatchObject({ operation: 'SET TBLPROPERTIES', runId: 'r2', userMetadata: 'hello' });
  });

  it("applies the table API's min/max policy when the log writes a checkpoint; the bare kernel has none", async () => {
    const table = lake.table('t');
    const snapshot = await table.ensure(DEFINITION);
    // an add written before user_id lost its statistics
    const stats = JSON.stringify({
      numRecords: 1,
      minValues: { id: 'a', user_id: 'u1' },
      maxValues: { id: 'a', user_id: 'u1' },
      nullCount: { id: 0, user_id: 0 },
    });
    await table.log.commit({
      readVersion: snapshot.version,
      actions: [
        {
          add: {
            path: 'old.parquet',
            partitionValues: {},
            size: 1,
            modificationTime: 0,
            dataChange: true,
            stats,
          },
        },
      ],
      operation: 'WRITE',
      scope: { kind: 'append' },
    });
    const checkpointMinValues = async (log: DeltaLog) => {
      const version = await log.checkpoint();
      const local = await lake.store.localPath(`${table.tableKey}/${LOG_DIR}/${checkpointFileName(version)}`);
      const [row] = await db.all<{ stats: string }>(
        'SELECT add.stats AS stats FROM read_parquet($1) WHERE add.path IS NOT NULL',
        [local],
      );
      return JSON.parse(row!.stats).minValues as Record<string, unknown>;
    };
    // the bare kernel first (the second checkpoint replays from it)
    expect(await checkpointMinValues(new DeltaLog(lake.store, table.tableKey, db))).toEqual({
      id: 'a',
      user_id: 'u1',
    });
    expect(await checkpointMinValues(table.log)).toEqual({ id: 'a' });
  });
});

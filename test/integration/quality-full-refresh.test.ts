import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/config-schema.js';
import type { DuckDb } from '../../src/engine/duckdb.js';
import { type AddFile, recordsIn } from '../../src/lake/log/actions.js';
import { restoreTable } from '../../src/lake/operations/restore.js';
import type { Lake } from '../../src/lake/table/lake.js';
import { type BuildSummary, buildMarts } from '../../src/transforms/build-marts.js';
import { EventLake } from '../helpers/event-lake.js';
import { buildFixture, toLine } from '../helpers/marts-fixture.js';

const config = ConfigSchema.parse({}).marts;
const NOW = new Date('2026-11-24T00:00:00Z');

/**
 * What the quality checks of a full build read of raw_events: the files new since the marts were
 * last built (the earlier builds checked the rest), or the whole table on a first build; the marts
 * always whole. A duplicate event landed behind ingest's back must still fail the build.
 */
describe('quality checks of a full build', () => {
  let t: EventLake;
  let lake: Lake;
  let db: DuckDb;

  beforeEach(async () => {
    t = await EventLake.open('quality-full');
    ({ lake, db } = t);
  });
  afterEach(() => t.close());

  const events = buildFixture();
  const land = async () => {
    const file = path.join(t.dir, 'events.ndjson');
    writeFileSync(file, `${events.map(toLine).join('\n')}\n`);
    await t.ingestFile(file, NOW, 1);
  };
  /** One landed event a second time, through the lake API (a blind append, as racing ingests did). */
  const landDuplicate = async (): Promise<readonly AddFile[]> => {
    const raw = lake.table('raw_events');
    await raw.register('raw_events');
    await db.run('CREATE OR REPLACE TEMP TABLE __dup AS SELECT * FROM raw_events ORDER BY event_id LIMIT 1');
    return (await raw.write({ relation: '__dup', mode: 'append', operation: 'WRITE' })).added;
  };
  const check = (summary: BuildSummary, name: string) => summary.quality.checks.find((c) => c.name === name);
  const landed = async () => {
    await lake.table('raw_events').register('raw_events');
    const [row] = await db.all<{ n: string }>('SELECT count(*) AS n FROM raw_events');
    return Number(row!.n);
  };

  it('a first full build checks raw_events whole and finds a duplicate landed before it', async () => {
    await land();
    await landDuplicate();
    const first = await buildMarts(lake, { config, fullRefresh: true });
    expect(first.quality.scope).toBe('all');
    expect(check(first, 'unique_raw_event_id')).toMatchObject({
      checked: await landed(),
      failing: 1,
      passed: false,
    });
    expect(first.quality.passed).toBe(false);
  });

  it('a full refresh checks the raw files landed since the last build, and still catches a duplicate there', async () => {
    await land();
    const total = await landed();
    const first = await buildMarts(lake, { config });
    expect(check(first, 'unique_raw_event_id')).toMatchObject({ checked: total, failing: 0 });

    // nothing landed since: the raw files were all checked by the build before; the marts whole
    const again = await buildMarts(lake, { config, fullRefresh: true });
    expect(again.mode).toBe('full');
    expect(again.quality.scope).toBe('build');
    expect(check(again, 'unique_raw_event_id')).toMatchObject({ checked: 0, failing: 0, passed: true });
    expect(check(again, 'accepted_event_types')).toMatchObject({ checked: 0 });
    const sessions = recordsIn((await lake.table('sessions').snapshot()).files);
    expect(check(again, 'unique_session_id')).toMatchObject({ checked: sessions, failing: 0 });

    // a duplicate of an event of an earlier file, in a new file: checked against the rest of its day
    await landDuplicate();
    const refreshed = await buildMarts(lake, { config, fullRefresh: true });
    expect(check(refreshed, 'unique_raw_event_id')).toMatchObject({ checked: 1, failing: 1, passed: false });
    expect(refreshed.quality.passed).toBe(false);

    // an up-to-date rerun checks whole tables, as before
    const rerun = await buildMarts(lake, { config });
    expect(rerun.mode).toBe('up-to-date');
    expect(check(rerun, 'unique_raw_event_id')).toMatchObject({ checked: total + 1, failing: 1 });
  });

  it('a file removed since the last build (a restore) is not read by the checks, though still on disk', async () => {
    await land();
    const before = (await lake.table('raw_events').snapshot()).version;
    await buildMarts(lake, { config });
    await landDuplicate();
    await buildMarts(lake, { config });
    // the duplicate's file leaves the table and stays on disk until a vacuum
    await restoreTable(lake, 'raw_events', before);
    for (const fullRefresh of [false, true]) {
      const build = await buildMarts(lake, { config, fullRefresh });
      expect(check(build, 'unique_raw_event_id')).toMatchObject({ checked: 0, failing: 0, passed: true });
    }
  });
});

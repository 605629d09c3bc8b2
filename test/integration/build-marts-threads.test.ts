import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/config-schema.js';
import { buildMarts } from '../../src/transforms/build-marts.js';
import { EventLake } from '../helpers/event-lake.js';

// A small incremental build runs on one DuckDB thread (less CPU for its many small queries); the
// session's threads are put back when the build ends, whatever it did.
const config = ConfigSchema.parse({}).marts;
const NOW = new Date('2026-11-24T00:00:00Z');

describe('build-marts and the session DuckDB threads', () => {
  let t: EventLake;

  beforeEach(async () => {
    t = await EventLake.open('build-marts-threads');
    await t.db.run('SET threads = 3');
  });
  afterEach(() => t.close());

  const threads = async () => (await t.db.all<{ n: string }>("SELECT current_setting('threads') AS n"))[0]?.n;

  it('gives the session its threads back after a full, an incremental and an up-to-date build', async () => {
    await t.land([{ user: 'u1', at: '2026-11-20T10:00:00Z' }], NOW);
    expect((await buildMarts(t.lake, { config })).mode).toBe('full');
    expect(await threads()).toBe('3');
    await t.land([{ user: 'u2', at: '2026-11-20T11:00:00Z' }], NOW);
    // during the incremental build (its first model), one thread
    let during: Promise<unknown> | undefined;
    const summary = await buildMarts(t.lake, {
      config,
      onProgress: ({ index }) => {
        if (index === 0) during = threads();
      },
    });
    expect(summary.mode).toBe('incremental');
    expect(await during).toBe('1');
    expect(await threads()).toBe('3');
    expect((await buildMarts(t.lake, { config })).mode).toBe('up-to-date');
    expect(await threads()).toBe('3');
  });
});

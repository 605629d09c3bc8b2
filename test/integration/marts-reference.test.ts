import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/config-schema.js';
import { DuckDb } from '../../src/engine/duckdb.js';
import { writeClickstream } from '../../src/generate/clickstream-generator.js';
import { ingest } from '../../src/ingest/ingest.js';
import { Lake } from '../../src/lake/table/lake.js';
import { LocalStore } from '../../src/storage/local-store.js';
import { buildMarts } from '../../src/transforms/build-marts.js';
import { tempDir } from '../helpers/cli.js';

// bench/marts.mjs times build-marts against a hand-written script of the same six marts
// (bench/marts-reference.sql). That comparison only means something while both compute the same
// rows: generated events (bots, bursts, big carts, multi-IP sessions, late and duplicate events)
// through a full build and then an incremental one, each compared row for row with the reference.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const config = ConfigSchema.parse({}).marts;
const NOW = new Date('2026-11-24T00:00:00Z');

describe('bench reference of the marts', () => {
  let dir: string;
  let db: DuckDb;
  let lake: Lake;
  beforeEach(async () => {
    dir = tempDir('marts-reference');
    db = await DuckDb.open();
    lake = new Lake(new LocalStore(path.join(dir, 'lake')), db);
  });
  afterEach(() => db.close());

  const land = async (file: string) =>
    ingest(lake, {
      sources: [file],
      maxBadRatio: 1,
      maxFutureHours: 24,
      minEventDate: '2000-01-01',
      now: NOW,
    });

  it('computes the same rows as build-marts, full and incremental', async () => {
    type Differences = Record<string, { rows: number; lakeOnly: number; referenceOnly: number }>;
    const reference = await import(path.join(root, 'bench/marts-reference.mjs'));
    const compare = async (name: string): Promise<Differences> => {
      const out = path.join(dir, name);
      await reference.buildReference(path.join(dir, 'lake'), out);
      return reference.compareWithLake(path.join(dir, 'lake'), out);
    };
    const same = (rows: number) => ({ rows, lakeOnly: 0, referenceOnly: 0 });

    const days = path.join(dir, 'days.ndjson');
    await writeClickstream(days, {
      events: 30_000,
      seed: 11,
      start: new Date('2026-11-20T00:00:00Z'),
      days: 2,
    });
    await land(days);
    expect((await buildMarts(lake, { fullRefresh: true, config })).mode).toBe('full');
    const full = await compare('full');
    for (const [mart, diff] of Object.entries(full)) expect(diff, mart).toEqual(same(diff.rows));
    expect(full.fraud_flags?.rows).toBeGreaterThan(0);

    // one more hour, overlapping the last sessions: the incremental build still equals the reference
    const hour = path.join(dir, 'hour.ndjson');
    await writeClickstream(hour, {
      events: 800,
      seed: 12,
      start: new Date('2026-11-21T23:30:00Z'),
      days: 1 / 24,
    });
    await land(hour);
    expect((await buildMarts(lake, { config })).mode).toBe('incremental');
    const incremental = await compare('incremental');
    for (const [mart, diff] of Object.entries(incremental)) expect(diff, mart).toEqual(same(diff.rows));
  });
});

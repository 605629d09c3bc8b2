import { describe, expect, it } from 'vitest';
import type { DuckDb } from '../../src/engine/duckdb.js';
import { type BatchLine, EventNormalizer } from '../../src/stream/normalize.js';

/**
 * The micro-batch normalizer's per-batch fixed cost (issue 14): DuckDB plans a statement again when
 * it binds parameters or when the catalog changed since it was planned, and planning the
 * 300-line staging + live query cost more than staging thousands of lines. A batch must therefore
 * change no table definition and the live query must take no parameter; and a plan made once, at
 * open, on empty tables must still see what later batches put in them (the carried carts).
 */
const LIMITS = { maxFutureHours: 24, minEventDate: '2020-01-01' };
const NOW = new Date('2026-11-20T12:00:00Z');

const batch = (first: number, cartValues: number[]): BatchLine[] =>
  cartValues.map((cart_value, i) => ({
    source: 'stdin',
    line: first + i,
    raw: JSON.stringify({
      event_id: `e${first + i}`,
      event_type: 'add_to_cart',
      user_id: 'u1',
      timestamp: new Date(Date.parse('2026-11-20T10:00:00Z') + (first + i) * 1000).toISOString(),
      properties: { cart_value },
    }),
    arrivedAt: 0,
  }));

const tableIds = async (db: DuckDb) =>
  (
    await db.all<{ table_name: string; table_oid: string }>(
      "SELECT table_name, table_oid FROM duckdb_tables() WHERE table_name LIKE '\\_\\_live%' ESCAPE '\\' ORDER BY 1",
    )
  ).map((t) => `${t.table_name}#${t.table_oid}`);

describe('micro-batch normalizer: planned once', () => {
  it('a batch re-creates no table and the live query binds no parameter', async () => {
    const normalizer = await EventNormalizer.open(LIMITS);
    try {
      const internals = normalizer as unknown as {
        db: DuckDb;
        statements: { live: { parameterCount: number } };
      };
      const before = await tableIds(internals.db);
      expect(before.length).toBeGreaterThan(0);
      await normalizer.normalize(batch(1, [10, 30]), NOW);
      await normalizer.normalize(batch(3, [50]), NOW);
      await normalizer.pruneCarts(Date.parse('2026-11-20T09:00:00Z'));
      expect(await tableIds(internals.db)).toEqual(before);
      expect(internals.statements.live.parameterCount).toBe(0);
    } finally {
      normalizer.close();
    }
  });

  it('the plan made at open sees the cart states later batches carry (no empty-table shortcut)', async () => {
    const normalizer = await EventNormalizer.open(LIMITS);
    try {
      const first = await normalizer.normalize(batch(1, [10, 30]), NOW);
      expect(first.events.map((e) => e.value)).toEqual([10, 20]);
      // the previous cart (30) comes from the carried states, a table empty when the plan was made
      const second = await normalizer.normalize(batch(3, [50, 45]), NOW);
      expect(second.events.map((e) => e.value)).toEqual([20, 0]);
      expect(second.carts['USD:u1']?.[0]).toBe(45);
    } finally {
      normalizer.close();
    }
  });

  it('staging joins nothing: the literal-word pre-filter stays a comparison, not twelve mark joins', async () => {
    const normalizer = await EventNormalizer.open(LIMITS);
    try {
      const { db, stagingSql } = normalizer as unknown as { db: DuckDb; stagingSql: string };
      const plan = await db.all<{ explain_value: string }>(`EXPLAIN SELECT * FROM (${stagingSql})`, {
        ingested_at: NOW.toISOString(),
        min_event_time: '2020-01-01 00:00:00+00',
        max_event_time: NOW.toISOString(),
      });
      expect(plan.map((row) => row.explain_value).join('\n')).not.toMatch(/JOIN/);
    } finally {
      normalizer.close();
    }
  });

  it('normalize and pruneCarts may overlap (the loop prunes while it stages the next batch)', async () => {
    const normalizer = await EventNormalizer.open(LIMITS);
    try {
      const lines = Array.from({ length: 40 }, (_, b) => batch(1 + b * 500, Array(500).fill(10)));
      const cutoff = Date.parse('2026-11-20T09:00:00Z');
      const results = await Promise.all(
        lines.flatMap((l) => [normalizer.normalize(l, NOW), normalizer.pruneCarts(cutoff)]),
      );
      const counts = results.filter((r) => r !== undefined).map((r) => r.events.length);
      expect(counts).toEqual(Array(40).fill(500));
    } finally {
      normalizer.close();
    }
  });
});

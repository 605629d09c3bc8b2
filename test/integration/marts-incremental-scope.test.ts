import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/config-schema.js';
import type { DuckDb } from '../../src/engine/duckdb.js';
import type { Lake } from '../../src/lake/table/lake.js';
import { buildMarts } from '../../src/transforms/build-marts.js';
import { EventLake, type TestEvent } from '../helpers/event-lake.js';

// The incremental scope (sql/scope/incremental) reads only the sessions files whose statistics
// reach a changed event within the timeout, and replaces only the partitions the scope models name.
// Each case lands a history, builds, lands a batch whose effect reaches far from the new hour, builds
// incrementally, and must equal a full rebuild of the same lake.
const config = ConfigSchema.parse({}).marts;
const NOW = new Date('2026-11-24T00:00:00Z');

type Event = TestEvent;

describe('incremental scope', () => {
  let t: EventLake;
  let db: DuckDb;
  let lake: Lake;

  beforeEach(async () => {
    t = await EventLake.open('marts-scope');
    ({ db, lake } = t);
  });
  afterEach(() => t.close());

  const land = (events: readonly Event[]) => t.land(events, NOW);
  const dump = () => t.dumpMarts();
  const sessionsOf = async (user: string) => {
    await lake.table('sessions').register('sessions');
    return db.all<{ start_time: string; event_count: string }>(
      `SELECT CAST(start_time AS VARCHAR) AS start_time, CAST(event_count AS VARCHAR) AS event_count
       FROM sessions WHERE user_key = pseudonym($user) ORDER BY start_time`,
      { user },
    );
  };
  const incrementalEqualsFull = async (history: readonly Event[], batchEvents: readonly Event[]) => {
    // other users keep every hour of the day busy, so the sessions table has many files to skip
    const crowd = Array.from({ length: 40 }, (_, i) => ({
      user: `crowd_${i % 5}`,
      at: new Date(Date.parse('2026-11-20T00:05:00Z') + i * 45 * 60_000).toISOString(),
    }));
    await land([...history, ...crowd]);
    expect((await buildMarts(lake, { config })).mode).toBe('full');
    await land(batchEvents);
    expect((await buildMarts(lake, { config })).mode).toBe('incremental');
    const incremental = await dump();
    expect((await buildMarts(lake, { config, fullRefresh: true })).mode).toBe('full');
    expect(await dump()).toEqual(incremental);
  };

  it('extends a session that started ten hours before the new hour (its file starts far back)', async () => {
    // one event every 20 minutes from 02:00 to 12:00: one session starting at 02:00
    const long = Array.from({ length: 31 }, (_, i) => ({
      user: 'u_long',
      at: new Date(Date.parse('2026-11-20T02:00:00Z') + i * 20 * 60_000).toISOString(),
    }));
    await incrementalEqualsFull(long, [{ user: 'u_long', at: '2026-11-20T12:25:00Z' }]);
    expect(await sessionsOf('u_long')).toEqual([{ start_time: '2026-11-20 02:00:00+00', event_count: '32' }]);
  });

  it('a late event for yesterday joins two sessions into one', async () => {
    await incrementalEqualsFull(
      [
        { user: 'u_late', at: '2026-11-20T08:00:00Z' },
        { user: 'u_late', at: '2026-11-20T08:40:00Z' },
        { user: 'u_late', at: '2026-11-21T09:00:00Z' },
      ],
      [
        { user: 'u_late', at: '2026-11-20T08:20:00Z' },
        { user: 'u_late', at: '2026-11-21T09:10:00Z' },
      ],
    );
    expect(await sessionsOf('u_late')).toEqual([
      { start_time: '2026-11-20 08:00:00+00', event_count: '3' },
      { start_time: '2026-11-21 09:00:00+00', event_count: '2' },
    ]);
  });

  it('a session spanning the new hour and midnight, with a purchase, stays one session and one order', async () => {
    await incrementalEqualsFull(
      [
        { user: 'u_span', at: '2026-11-20T23:40:00Z' },
        {
          user: 'u_span',
          at: '2026-11-20T23:55:00Z',
          type: 'add_to_cart',
          properties: { product_id: 'p1', quantity: 1, price: 30, cart_value: 30 },
        },
      ],
      [
        {
          user: 'u_span',
          at: '2026-11-21T00:10:00Z',
          type: 'purchase',
          properties: { order_id: 'o1', amount: 30 },
        },
        { user: 'u_span', at: '2026-11-21T00:30:00Z' },
      ],
    );
    expect(await sessionsOf('u_span')).toEqual([{ start_time: '2026-11-20 23:40:00+00', event_count: '4' }]);
  });

  it('the end of observation is the date of the last event, also when its statistic rounds up past midnight', async () => {
    // Delta statistics keep milliseconds, rounding a maximum up: 23:59:59.9995 becomes 00:00:00.000
    // of the next day, so the plan must not take the date from it.
    await land([
      {
        user: 'u_end',
        at: '2026-11-20T10:00:00Z',
        type: 'purchase',
        properties: { order_id: 'o1', amount: 10 },
      },
      { user: 'u_end', at: '2026-11-20T23:59:59.999500Z' },
    ]);
    await buildMarts(lake, { config });
    const [last] = await db.all<{ day: string }>(
      'SELECT CAST(day AS VARCHAR) AS day FROM raw_events_last_day',
    );
    expect(last?.day).toBe('2026-11-20');
    await land([{ user: 'u_end', at: '2026-11-21T08:00:00.250Z' }]);
    await buildMarts(lake, { config });
    const [next] = await db.all<{ day: string }>(
      'SELECT CAST(day AS VARCHAR) AS day FROM raw_events_last_day',
    );
    expect(next?.day).toBe('2026-11-21');
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/config-schema.js';
import { buildMarts } from '../../src/transforms/build-marts.js';
import { EventLake, type TestEvent } from '../helpers/event-lake.js';

// scope_session_ranges widens a touched user's range (earliest to latest changed event) only by the
// sessions within the timeout of the earliest or the latest changed event: a session a changed event
// in between reaches lies inside the range or reaches an end too. Each case lands a user's sessions,
// builds, lands changed events around them, builds incrementally and must equal a full rebuild.
const config = ConfigSchema.parse({}).marts; // session timeout 30 minutes
const NOW = new Date('2026-11-24T00:00:00Z');
const at = (user: string, time: string): TestEvent => ({ user, at: `2026-11-20T${time}:00Z` });

describe('scope_session_ranges: the sessions an incremental build recomputes', () => {
  let t: EventLake;

  beforeEach(async () => {
    t = await EventLake.open('scope-session-ranges');
  });
  afterEach(() => t.close());

  const incrementalEqualsFull = async (history: readonly TestEvent[], batch: readonly TestEvent[]) => {
    await t.land(history, NOW);
    expect((await buildMarts(t.lake, { config })).mode).toBe('full');
    await t.land(batch, NOW);
    expect((await buildMarts(t.lake, { config })).mode).toBe('incremental');
    const incremental = await t.dumpMarts();
    expect((await buildMarts(t.lake, { config, fullRefresh: true })).mode).toBe('full');
    expect(incremental).toEqual(await t.dumpMarts());
    return incremental.sessions!.length;
  };

  it('a session just after the latest changed event joins it (reached from the range end)', async () => {
    // u1: a session 10:20-10:50; new events at 09:00 and 10:05, 15 minutes before it
    const sessions = await incrementalEqualsFull(
      [at('u1', '10:20'), at('u1', '10:50'), at('u2', '12:00')],
      [at('u1', '09:00'), at('u1', '10:05')],
    );
    expect(sessions).toBe(3); // u1 09:00, u1 10:05-10:50, u2
  });

  it('a session just before the earliest changed event joins it (reached from the range start)', async () => {
    // u1: a session 08:20-08:45; new events at 09:00, 15 minutes after it, and 11:00
    const sessions = await incrementalEqualsFull(
      [at('u1', '08:20'), at('u1', '08:45'), at('u2', '12:00')],
      [at('u1', '09:00'), at('u1', '11:00')],
    );
    expect(sessions).toBe(3); // u1 08:20-09:00, u1 11:00, u2
  });

  it('a session reached only from a changed event in between lies inside the range', async () => {
    // u1: sessions 09:40-09:50 and 12:10; new events at 09:00, 09:30 (joins 09:40) and 12:30 (joins 12:10)
    const sessions = await incrementalEqualsFull(
      [at('u1', '09:40'), at('u1', '09:50'), at('u1', '12:10'), at('u2', '12:00')],
      [at('u1', '09:00'), at('u1', '09:30'), at('u1', '12:30')],
    );
    expect(sessions).toBe(3); // u1 09:00-09:50, u1 12:10-12:30, u2
  });
});

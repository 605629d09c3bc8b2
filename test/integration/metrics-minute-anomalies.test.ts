import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/config-schema.js';
import { buildMarts } from '../../src/transforms/build-marts.js';
import { CHROME, EventLake, type TestEvent } from '../helpers/event-lake.js';

const config = ConfigSchema.parse({}).marts;
const NOW = new Date('2026-11-24T00:00:00Z');
const BOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';

/**
 * metrics_minute counts a minute's anomalous events as those anomalous by themselves (bot agent,
 * big cart, big quantity) plus the events of its flagged user-minutes (from fraud_user_minute),
 * minus the events that are both: each event once, however many reasons it has.
 */
describe('metrics_minute anomalous events', () => {
  let t: EventLake;
  beforeEach(async () => {
    t = await EventLake.open('metrics-minute');
  });
  afterEach(() => t.close());

  it('counts each event once, whether anomalous by itself, in a flagged minute, or both', async () => {
    const events: TestEvent[] = [];
    const add = (user: string, ua: string, second: number, properties: Record<string, unknown> = {}) => {
      const at = new Date(Date.parse('2026-11-20T10:00:00Z') + second * 1000).toISOString();
      events.push({
        user,
        at,
        ua,
        properties,
        type: 'cart_value' in properties ? 'add_to_cart' : 'page_view',
      });
    };
    // 10:00 - a bot over the events-per-minute limit (each event both), a busy human (flagged
    // minute only), a cart over 10,000 (by itself only), a quiet user (neither)
    for (let i = 0; i < 101; i++) add('u_bot', BOT, i % 60);
    for (let i = 0; i < 101; i++) add('u_busy', CHROME, i % 60);
    add('u_big', CHROME, 5, { cart_value: 20000, price: 20000, quantity: 1, product_id: 'p' });
    for (let i = 0; i < 3; i++) add('u_quiet', CHROME, i);
    // 10:01 - the quiet user again, and the bot once (anomalous by itself, minute not flagged)
    add('u_quiet', CHROME, 61);
    add('u_bot', BOT, 62);
    await t.land(events, NOW);

    await buildMarts(t.lake, { config });
    await t.lake.table('metrics_minute').register('metrics_minute');
    const rows = await t.db.all<Record<string, unknown>>(
      `SELECT strftime(minute, '%H:%M') AS m, events, unique_users, anomalous_events, anomaly_rate
       FROM metrics_minute ORDER BY minute`,
    );
    expect(rows).toEqual([
      { m: '10:00', events: '206', unique_users: '4', anomalous_events: '203', anomaly_rate: 203 / 206 },
      { m: '10:01', events: '2', unique_users: '2', anomalous_events: '1', anomaly_rate: 0.5 },
    ]);
  });
});

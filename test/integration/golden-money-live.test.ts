import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Config, ConfigSchema } from '../../src/config/config-schema.js';
import { DuckDb } from '../../src/engine/duckdb.js';
import { Lake } from '../../src/lake/table/lake.js';
import { LocalStore } from '../../src/storage/local-store.js';
import { type EmittedAlert, runMicrobatch } from '../../src/stream/microbatch.js';
import { EventNormalizer } from '../../src/stream/normalize.js';
import { buildMarts } from '../../src/transforms/build-marts.js';
import { tempDir } from '../helpers/cli.js';

/**
 * One money definition: the live value_per_minute rule and fraud_user_minute.total_value agree value
 * by value (the marts' value at risk in the reporting currency) on cart sequences (10 then 30 is
 * worth 30), purchases (which empty the cart), mixed currencies (with and without a rates file) and a
 * cart state carried across a batch boundary and a restart of the micro-batch.
 */
type Ev = { id: string; type: string; user: string; at: string } & Record<string, unknown>;
const ev = (id: string, type: string, user: string, at: string, props: Record<string, unknown> = {}): Ev => ({
  id,
  type,
  user,
  at: `2026-11-20T${at}Z`,
  ...props,
});

// first batch (first run)
const FIRST: Ev[] = [
  ev('s1', 'add_to_cart', 'u_seq', '10:00:05', { cart_value: 10 }),
  ev('s2', 'add_to_cart', 'u_seq', '10:00:20', { cart_value: 30 }), // raises 10 -> 30: +20
  ev('c1', 'add_to_cart', 'u_cross', '10:00:50', { cart_value: 50 }),
  ev('b1', 'add_to_cart', 'u_buy', '10:00:10', { cart_value: 40 }),
  ev('b2', 'purchase', 'u_buy', '10:00:30', { amount: 40, cart_value: 40 }), // empties the cart
  ev('b3', 'add_to_cart', 'u_buy', '10:00:40', { cart_value: 25 }), // from 0: +25
  ev('m1', 'add_to_cart', 'u_mix', '10:00:10', { cart_value: 100, currency: 'EUR' }),
  ev('m2', 'add_to_cart', 'u_mix', '10:00:15', { cart_value: 20, currency: 'USD' }), // its own currency's cart
  ev('m3', 'add_to_cart', 'u_mix', '10:00:20', { cart_value: 150, currency: 'EUR' }), // EUR +50
  ev('p1', 'add_to_cart', 'u_pxq', '10:00:30', { price: 5, quantity: 2 }), // no cart total: 10
];
// second batch (after a restart): the carts of the first carry on
const SECOND: Ev[] = [
  ev('c2', 'add_to_cart', 'u_cross', '10:01:10', { cart_value: 80 }), // 50 -> 80 across the boundary: +30
  ev('c3', 'add_to_cart', 'u_cross', '10:01:20', { cart_value: 70 }), // lower: 0
  ev('s3', 'add_to_cart', 'u_seq', '10:40:00', { cart_value: 45 }), // 40 min later: a new cart, 45
  ev('w1', 'page_view', 'u_wm', '10:50:00'), // moves the watermark past 10:41: every window is due
];

const line = (e: Ev) => {
  const { id, type, user, at, ...properties } = e;
  return JSON.stringify({ event_id: id, event_type: type, user_id: user, timestamp: at, properties });
};

async function liveAndMarts(rates: string | undefined) {
  const dir = tempDir('golden-money');
  const landing = path.join(dir, 'landing');
  mkdirSync(landing);
  const config: Config = ConfigSchema.parse({
    marts: {
      // every minute with money is flagged on both sides: the values compare one by one
      fraud: {
        maxValuePerMinute: 0.001,
        maxEventsPerMinute: 1000,
        maxQuantity: 1000,
        maxCartValue: 1e9,
        multiIpThreshold: 100,
      },
      currency: { default: 'USD', ...(rates ? { ratesFile: rates } : {}) },
    },
  });
  const alerts: EmittedAlert[] = [];
  const db = await DuckDb.open();
  const lake = new Lake(new LocalStore(path.join(dir, 'lake')), db);
  try {
    const run = () =>
      runMicrobatch(lake, {
        from: landing,
        once: true,
        intervalMs: 0,
        land: true,
        landEveryMs: 0,
        config,
        emit: (alert) => {
          alerts.push(alert);
        },
      });
    writeFileSync(path.join(landing, '1.ndjson'), `${FIRST.map(line).join('\n')}\n`);
    await run();
    writeFileSync(path.join(landing, '2.ndjson'), `${SECOND.map(line).join('\n')}\n`);
    await run(); // a new run: the cart states come back from the saved state
    await buildMarts(lake, { config: config.marts, pseudonymSecret: 'golden-money-test-secret' });
    for (const name of await lake.tableNames()) await lake.table(name).register(name);
    const minutes = await db.all<{ key: string; total_value: number }>(
      `SELECT user_id || ' ' || strftime(minute, '%H:%M') AS key, CAST(total_value AS DOUBLE) AS total_value
       FROM fraud_user_minute WHERE is_flagged ORDER BY key`,
    );
    // the live rule's latest version per user and window
    const live = new Map<string, number>();
    for (const a of alerts.filter((x) => x.rule === 'value_per_minute').sort((x, y) => x.version - y.version))
      live.set(`${a.userId} ${a.windowStart!.slice(11, 16)}`, Number(a.evidence.total_value));
    return {
      live: Object.fromEntries([...live].sort(([x], [y]) => x.localeCompare(y))),
      marts: Object.fromEntries(minutes.map((m) => [m.key, m.total_value])),
    };
  } finally {
    db.close();
  }
}

describe('golden money: live value_per_minute = fraud_user_minute.total_value', () => {
  it('without rates: only reporting-currency money counts', async () => {
    const { live, marts } = await liveAndMarts(undefined);
    const expected = {
      'u_buy 10:00': 105, // +40, purchase 40, +25 after the purchase emptied the cart
      'u_cross 10:00': 50,
      'u_cross 10:01': 30, // carried across the batch boundary and the restart
      'u_mix 10:00': 20, // the EUR carts are unconverted: not counted
      'u_pxq 10:00': 10,
      'u_seq 10:00': 30, // 10 then 30 => 30
      'u_seq 10:40': 45,
    };
    expect(marts).toEqual(expected);
    expect(live).toEqual(expected);
  }, 600_000);

  it('with a rates file: converted with the marts’ rate', async () => {
    const rates = path.join(tempDir('golden-rates'), 'rates.csv');
    writeFileSync(rates, 'date,currency,rate\n2026-11-19,EUR,1.1\n');
    const { live, marts } = await liveAndMarts(rates);
    const expected = {
      'u_buy 10:00': 105,
      'u_cross 10:00': 50,
      'u_cross 10:01': 30,
      'u_mix 10:00': 185, // (100 + 50) EUR x 1.1 + 20 USD
      'u_pxq 10:00': 10,
      'u_seq 10:00': 30,
      'u_seq 10:40': 45,
    };
    expect(marts).toEqual(expected);
    expect(live).toEqual(expected);
  }, 600_000);

  it('carries the latest cart state from batch to batch; an out-of-order older event does not replace it', async () => {
    const normalizer = await EventNormalizer.open(
      { maxFutureHours: 24 * 365 * 10, minEventDate: '2000-01-01' },
      { sessionTimeoutMinutes: 30, currency: { default: 'USD' } },
    );
    const values = async (...events: Ev[]) =>
      (
        await normalizer.normalize(
          events.map((e, i) => ({ source: 't', line: i + 1, raw: line(e), arrivedAt: 0 })),
        )
      ).events.map((e) => [e.eventId, e.value]);
    try {
      expect(
        await values(
          ev('a1', 'add_to_cart', 'u', '10:00:00', { cart_value: 10 }),
          ev('b1', 'add_to_cart', 'w', '10:00:00', { cart_value: 5 }),
        ),
      ).toEqual([
        ['a1', 10],
        ['b1', 5],
      ]);
      expect(await values(ev('a2', 'add_to_cart', 'u', '10:00:10', { cart_value: 30 }))).toEqual([
        ['a2', 20],
      ]);
      // older than the carried state: valued without it (the live path cannot revalue what it sent)
      expect(await values(ev('a0', 'add_to_cart', 'u', '09:59:00', { cart_value: 50 }))).toEqual([
        ['a0', 50],
      ]);
      expect(
        await values(
          ev('a3', 'add_to_cart', 'u', '10:00:20', { cart_value: 35 }),
          ev('b2', 'add_to_cart', 'w', '10:00:20', { cart_value: 7 }),
        ),
      ).toEqual([
        ['a3', 5], // from 30, not from the older 50
        ['b2', 2],
      ]);
    } finally {
      normalizer.close();
    }
  });
});

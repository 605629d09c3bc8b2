import type { FixtureEvent } from './marts-fixture.js';

/**
 * Purchase histories for the CLV model, deterministic: 120 ordinary customers who buy as a
 * Poisson process and may drop out after each purchase (the BG/NBD story), over 90 days from
 * 2026-08-01; plus `u_fast` (2 orders 1.1 days apart: the old extrapolation made millions of it),
 * `u_fraud` (big carts: flagged high_cart_value, the top spender), `u_bot` (a crawler's user
 * agent), `u_euro` (buys in EUR) and `u_mixed` (buys in USD and in JPY).
 */
export const CLV_START = Date.parse('2026-08-01T00:00:00Z');
export const CLV_DAYS = 90;
const DAY = 86_400_000;
const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';
const BOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';

export function buildClvFixture(customers = 120): FixtureEvent[] {
  let seed = 12345;
  const random = () => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const events: FixtureEvent[] = [];
  let n = 0;
  const purchase = (
    user: string,
    at: number,
    amount: number,
    options: { currency?: string; userAgent?: string } = {},
  ) => {
    const order = `o${++n}`;
    for (const [type, offset, properties] of [
      ['product_view', -120_000, { product_id: 'p1', price: amount }],
      ['add_to_cart', -60_000, { product_id: 'p1', quantity: 1, price: amount, cart_value: amount }],
      ['purchase', 0, { order_id: order, amount, cart_value: amount, currency: options.currency ?? 'USD' }],
    ] as const) {
      const t = at + offset;
      events.push({
        event_id: `c${String(events.length + 1).padStart(6, '0')}`,
        event_type: type,
        user_id: user,
        timestamp: new Date(t).toISOString(),
        received_at: new Date(t + 1000).toISOString(),
        ip: `10.1.${n % 250}.1`,
        user_agent: options.userAgent ?? CHROME,
        page_url: `/${type}`,
        properties: { ...properties },
        arrivalDelayMin: 1 / 60,
      });
    }
  };
  const end = CLV_START + CLV_DAYS * DAY;
  for (let c = 0; c < customers; c++) {
    const user = `u_c${String(c).padStart(3, '0')}`;
    const rate = 0.02 + random() * 0.15; // purchases per day while alive
    const dropout = random() * 0.4;
    const spend = 20 + random() * 80;
    // whole days at 10:xx: few raw_events hour partitions, so the test stays quick
    let t = CLV_START + Math.floor(random() * 40) * DAY + 10 * 3_600_000 + (c % 50) * 60_000;
    while (t < end) {
      purchase(user, t, Math.round(spend * (0.6 + random() * 0.8) * 100) / 100);
      if (random() < dropout) break;
      t += Math.max(1, Math.round(-Math.log(1 - random()) / rate)) * DAY;
    }
  }
  const late = end - 5 * DAY + 10 * 3_600_000;
  purchase('u_fast', late, 150);
  purchase('u_fast', late + 1.1 * DAY, 150);
  for (let i = 0; i < 5; i++) purchase('u_fraud', CLV_START + (10 + i * 15) * DAY + 10 * 3_600_000, 15_000);
  for (let i = 0; i < 4; i++)
    purchase('u_bot', CLV_START + (5 + i * 20) * DAY + 10 * 3_600_000, 300, { userAgent: BOT });
  for (let i = 0; i < 3; i++)
    purchase('u_euro', CLV_START + (20 + i * 20) * DAY + 10 * 3_600_000, 80, { currency: 'EUR' });
  purchase('u_mixed', CLV_START + 30 * DAY + 10 * 3_600_000, 50);
  purchase('u_mixed', CLV_START + 50 * DAY + 10 * 3_600_000, 5000, { currency: 'JPY' });
  return events.sort((a, b) => a.timestamp.localeCompare(b.timestamp));
}

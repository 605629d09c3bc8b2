/**
 * A small clickstream that exercises every mart rule: a session crossing midnight, late and
 * duplicate events, a bot, each fraud rule, one-order and many-order customers, ordinary funnels.
 * Deterministic. `arrival` orders the batches in which events reach the lake.
 */
export interface FixtureEvent {
  event_id: string;
  event_type: string;
  user_id: string;
  timestamp: string;
  received_at: string;
  ip: string;
  user_agent: string;
  page_url: string;
  properties: Record<string, unknown>;
  /** Not sent: minutes after the event that it reaches the lake. */
  arrivalDelayMin: number;
}

const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';
const IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1';
const BOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';

export function buildFixture(): FixtureEvent[] {
  const events: FixtureEvent[] = [];
  let n = 0;
  const add = (
    user: string,
    iso: string,
    type: string,
    properties: Record<string, unknown> = {},
    extra: Partial<Pick<FixtureEvent, 'ip' | 'user_agent' | 'arrivalDelayMin'>> = {},
  ) => {
    const delay = extra.arrivalDelayMin ?? 0.01;
    const t = Date.parse(iso);
    events.push({
      event_id: `e${String(++n).padStart(5, '0')}`,
      event_type: type,
      user_id: user,
      timestamp: new Date(t).toISOString(),
      received_at: new Date(t + delay * 60_000).toISOString(),
      ip: extra.ip ?? `10.0.${user.length}.${user.charCodeAt(user.length - 1) % 200}`,
      user_agent: extra.user_agent ?? CHROME,
      page_url: `/${type}`,
      properties,
      arrivalDelayMin: delay,
    });
  };
  // A session across midnight (gaps of 8 and 12 minutes), then a new one after 50 minutes.
  add('u_cross', '2026-11-20T23:50:00Z', 'page_view');
  add('u_cross', '2026-11-20T23:58:00Z', 'product_view', { product_id: 'p1', price: 20 });
  add('u_cross', '2026-11-21T00:10:00Z', 'add_to_cart', {
    product_id: 'p1',
    quantity: 1,
    price: 20,
    cart_value: 20,
  });
  add('u_cross', '2026-11-21T01:00:00Z', 'page_view');
  // A late event: it belongs before midnight and bridges nothing (gap 10 min), but arrives 3 hours late.
  add('u_cross', '2026-11-20T23:40:00Z', 'page_view', {}, { arrivalDelayMin: 180 });
  // A late event that bridges the two sessions above into one (00:10 -> 00:35 -> 01:00).
  add(
    'u_cross',
    '2026-11-21T00:35:00Z',
    'product_view',
    { product_id: 'p2', price: 5 },
    { arrivalDelayMin: 240 },
  );
  // Many-order customer across days; one-order customer.
  for (const [day, amount, order] of [
    ['18', 100, 'o1'],
    ['20', 50, 'o2'],
    ['21', 30, 'o3'],
  ] as const) {
    add('u_multi', `2026-11-${day}T09:00:00Z`, 'product_view', { product_id: 'p3', price: amount });
    add('u_multi', `2026-11-${day}T09:02:00Z`, 'add_to_cart', {
      product_id: 'p3',
      quantity: 1,
      price: amount,
      cart_value: amount,
    });
    add('u_multi', `2026-11-${day}T09:05:00Z`, 'checkout', { cart_value: amount });
    add('u_multi', `2026-11-${day}T09:06:00Z`, 'purchase', { order_id: order, amount, currency: 'USD' });
  }
  add(
    'u_one',
    '2026-11-20T14:00:00Z',
    'product_view',
    { product_id: 'p4', price: 42.5 },
    { user_agent: IPHONE },
  );
  add('u_one', '2026-11-20T14:03:00Z', 'purchase', { order_id: 'o9', amount: 42.5 }, { user_agent: IPHONE });
  // A bot.
  for (let i = 0; i < 5; i++) add('u_bot', `2026-11-20T03:0${i}:00Z`, 'page_view', {}, { user_agent: BOT });
  // > 100 events in one minute.
  for (let i = 0; i < 120; i++)
    add(
      'u_burst',
      `2026-11-21T12:00:${String(i % 60).padStart(2, '0')}.${String(i).padStart(3, '0')}Z`,
      'page_view',
    );
  // Quantity over 50; cart over $10,000; value over $50,000 in one minute.
  add('u_qty', '2026-11-21T08:00:00Z', 'add_to_cart', {
    product_id: 'p5',
    quantity: 60,
    price: 2,
    cart_value: 120,
  });
  add('u_cart', '2026-11-21T08:30:00Z', 'add_to_cart', {
    product_id: 'p6',
    quantity: 1,
    price: 15000,
    cart_value: 15000,
  });
  add('u_value', '2026-11-21T16:00:05Z', 'purchase', { order_id: 'o20', amount: 30000 });
  add('u_value', '2026-11-21T16:00:35Z', 'purchase', { order_id: 'o21', amount: 30000 });
  // Three IPs in one session within 10 minutes.
  for (const [i, ip] of ['1.1.1.1', '2.2.2.2', '3.3.3.3'].entries())
    add('u_ips', `2026-11-21T10:0${i * 3}:00Z`, 'page_view', {}, { ip });
  // Ordinary funnels: 20 users, 40% reach the cart, some buy.
  for (let u = 0; u < 20; u++) {
    const user = `u_n${u}`;
    const base = Date.parse('2026-11-20T10:00:00Z') + u * 37 * 60_000;
    const at = (m: number) => new Date(base + m * 60_000).toISOString();
    add(user, at(0), 'page_view', {}, u % 3 === 0 ? { user_agent: IPHONE } : {});
    add(user, at(1), 'product_view', { product_id: `p${u % 4}`, price: 10 + u });
    if (u % 5 < 2)
      add(user, at(3), 'add_to_cart', {
        product_id: `p${u % 4}`,
        quantity: 1,
        price: 10 + u,
        cart_value: 10 + u,
      });
    if (u % 5 === 0) {
      add(user, at(5), 'checkout', { cart_value: 10 + u });
      add(user, at(6), 'purchase', { order_id: `on${u}`, amount: 10 + u });
    }
  }
  return events;
}

export function toLine(event: FixtureEvent): string {
  const { arrivalDelayMin: _delay, ...sent } = event;
  return JSON.stringify(sent);
}

/** A deterministic shuffle (mulberry32). */
export function shuffle<T>(items: readonly T[], seed: number): T[] {
  let a = seed >>> 0;
  const random = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

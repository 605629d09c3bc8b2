import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { Random } from './random.js';

export interface GenerateOptions {
  /** Lines to write: every event, duplicate and malformed line counts. */
  readonly events: number;
  readonly seed?: number;
  readonly start?: Date;
  readonly days?: number;
  readonly users?: number;
  readonly malformedRate?: number;
  readonly duplicateRate?: number;
  readonly lateRate?: number;
}

export interface GenerateSummary {
  readonly lines: number;
  readonly bytes: number;
  readonly users: number;
  readonly sessions: number;
  readonly byType: Readonly<Record<string, number>>;
  readonly injected: {
    readonly botSessions: number;
    readonly burstSessions: number;
    readonly highCarts: number;
    readonly highQuantities: number;
    readonly multiIpSessions: number;
    readonly late: number;
    readonly duplicates: number;
    readonly malformed: number;
  };
}

const BROWSERS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0',
  'Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1',
];
const BOTS = [
  'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  'python-requests/2.31.0',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36',
  'curl/8.4.0',
];
const CATEGORIES = ['shoes', 'bags', 'watches', 'jewelry', 'electronics', 'books', 'toys', 'beauty'];
const PRODUCTS = 5000;

/** Writes a synthetic clickstream as NDJSON (gzip when the path ends in .gz). Deterministic per seed. */
export async function writeClickstream(
  file: string,
  options: GenerateOptions,
  onProgress?: (linesDone: number, total: number) => void,
): Promise<GenerateSummary> {
  const out = new PassThrough();
  const target = createWriteStream(file);
  const done = file.endsWith('.gz') ? pipeline(out, createGzip({ level: 1 }), target) : pipeline(out, target);
  let bytes = 0;
  const summary = await generateClickstream(options, async (chunk) => {
    bytes += Buffer.byteLength(chunk);
    if (!out.write(chunk)) await once(out, 'drain');
    onProgress?.(summaryLines, options.events);
  });
  out.end();
  await done;
  return { ...summary, bytes };
}

let summaryLines = 0;

/** Produces the clickstream in chunks of about 1 MB. */
export async function generateClickstream(
  options: GenerateOptions,
  sink: (chunk: string) => void | Promise<void>,
): Promise<Omit<GenerateSummary, 'bytes'>> {
  const total = options.events;
  const rng = new Random(options.seed ?? 42);
  const start = (options.start ?? new Date('2026-11-01T00:00:00Z')).getTime();
  const spanMs = (options.days ?? 2) * 86_400_000;
  const userCount = options.users ?? Math.max(50, Math.min(2_000_000, Math.round(total / 40)));
  const malformedRate = options.malformedRate ?? 0.001;
  const duplicateRate = options.duplicateRate ?? 0.002;
  const lateRate = options.lateRate ?? 0.01;
  const expectedSessions = Math.max(1, total / 9);
  const meanSessionGap = spanMs / expectedSessions;

  // ids carry the seed, so files generated with different seeds never share event or order ids
  const run = `${(options.seed ?? 42).toString(36)}_`;
  const byType: Record<string, number> = {};
  const injected = {
    botSessions: 0,
    burstSessions: 0,
    highCarts: 0,
    highQuantities: 0,
    multiIpSessions: 0,
    late: 0,
    duplicates: 0,
    malformed: 0,
  };
  let lines = 0;
  let sessions = 0;
  let buffer = '';
  let eventSeq = 0;
  let orderSeq = 0;
  // Lines held back (late arrivals, re-sent duplicates), keyed by the line count at which they go out.
  const delayed = new Map<number, string[]>();
  const hold = (due: number, line: string) => delayed.set(due, [...(delayed.get(due) ?? []), line]);
  summaryLines = 0;

  const flush = async (force: boolean) => {
    if (buffer.length >= 1 << 20 || (force && buffer.length > 0)) {
      const chunk = buffer;
      buffer = '';
      summaryLines = lines;
      await sink(chunk);
    }
  };
  const emitLine = (line: string): void => {
    if (lines >= total) return;
    buffer += line;
    lines++;
    const due = delayed.get(lines);
    if (due) {
      delayed.delete(lines);
      for (const held of due) emitLine(held);
    }
  };
  const emitEvent = (line: string, late: boolean) => {
    if (late) {
      injected.late++;
      hold(lines + rng.int(500, 5000), line);
      return;
    }
    emitLine(line);
    if (lines < total && rng.chance(duplicateRate)) {
      injected.duplicates++;
      hold(lines + rng.int(10, 2000), line);
    }
  };
  const malformed = () => {
    injected.malformed++;
    const id = `evt_${run}${(++eventSeq).toString(36)}`;
    const kind = rng.int(0, 3);
    if (kind === 0) return `{"event_id":"${id}","event_type":"page_view","user_id":"usr_1","timest\n`;
    if (kind === 1)
      return `{"event_id":"${id}","event_type":"page_view","timestamp":"2026-11-01T00:00:00Z"}\n`;
    if (kind === 2)
      return `{"event_id":"${id}","event_type":"page_view","user_id":"usr_2","timestamp":"not-a-date"}\n`;
    return `{"event_id":"${id}","event_type":"add_to_cart","user_id":"usr_3","timestamp":"2026-11-01T00:00:00Z","properties":{"quantity":"lots"}}\n`;
  };

  let clock = start;
  while (lines < total) {
    clock += rng.exponential(meanSessionGap);
    if (clock >= start + spanMs) clock = start + rng.next() * spanMs;
    sessions++;
    const userIndex = rng.zipf(userCount, Math.max(1, Math.round(userCount / 20)));
    const user = `usr_${userIndex.toString(36).padStart(4, '0')}`;
    const sessionId = `s_${run}${sessions.toString(36)}`;
    const roll = rng.next();
    const isBot = roll < 0.01;
    const isBurst = !isBot && roll < 0.0105;
    const multiIp = !isBot && !isBurst && rng.chance(0.002);
    if (isBot) injected.botSessions++;
    if (isBurst) injected.burstSessions++;
    if (multiIp) injected.multiIpSessions++;
    const ua = isBot ? rng.pick(BOTS) : BROWSERS[rng.zipf(BROWSERS.length)]!;
    // a user keeps a home IP (a mobile user sometimes roams to another)
    const baseIp = rng.chance(0.9)
      ? homeIp(userIndex)
      : `${rng.int(11, 223)}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
    let t = clock;
    let cart = 0;

    const event = (type: string, props: string, stepMeanMs: number) => {
      t += isBurst ? rng.int(50, 400) : rng.exponential(stepMeanMs);
      const id = `evt_${run}${(++eventSeq).toString(36)}`;
      const late = !isBot && !isBurst && rng.chance(lateRate);
      const arrival = t + (late ? rng.int(3_600_000, 6 * 3_600_000) : rng.int(20, 900));
      const ip = multiIp ? `10.${rng.int(0, 3)}.${rng.int(0, 9)}.${rng.int(1, 9)}` : baseIp;
      byType[type] = (byType[type] ?? 0) + 1;
      const line = `{"event_id":"${id}","event_type":"${type}","user_id":"${user}","session_id":"${sessionId}","timestamp":"${new Date(t).toISOString()}","received_at":"${new Date(arrival).toISOString()}","ip":"${ip}","user_agent":"${ua}","page_url":"/${type === 'purchase' ? 'checkout/complete' : type.replace('_', '/')}"${props}}\n`;
      if (lines < total && rng.chance(malformedRate)) emitLine(malformed());
      if (lines < total) emitEvent(line, late);
    };

    if (isBot) {
      const n = rng.int(20, 200);
      for (let i = 0; i < n && lines < total; i++) event('page_view', '', 2_000);
    } else if (isBurst) {
      const n = rng.int(120, 200);
      for (let i = 0; i < n && lines < total; i++) event('product_view', productProps(rng), 300);
    } else {
      for (let i = rng.int(1, 3); i > 0 && lines < total; i--)
        event(rng.chance(0.15) ? 'search' : 'page_view', '', 40_000);
      if (rng.chance(0.85)) {
        let viewed = '';
        for (let i = rng.int(1, 4); i > 0 && lines < total; i--) {
          viewed = productProps(rng);
          event('product_view', viewed, 45_000);
        }
        if (rng.chance(0.4)) {
          const high = rng.chance(0.001);
          const bulk = rng.chance(0.001);
          if (high) injected.highCarts++;
          if (bulk) injected.highQuantities++;
          const quantity = bulk ? rng.int(51, 200) : rng.int(1, 3);
          const price = high ? rng.int(10_000, 90_000) : rng.int(5, 400) + 0.99;
          cart += quantity * price;
          event(
            'add_to_cart',
            `,"properties":{"product_id":"p_${rng.zipf(PRODUCTS)}","category":"${rng.pick(CATEGORIES)}","quantity":${quantity},"price":${price.toFixed(2)},"cart_value":${cart.toFixed(2)},"currency":"USD"}`,
            60_000,
          );
          if (rng.chance(0.08)) event('remove_from_cart', '', 30_000);
          if (rng.chance(0.45)) {
            event('checkout', `,"properties":{"cart_value":${cart.toFixed(2)},"currency":"USD"}`, 90_000);
            if (rng.chance(0.85)) {
              const order = `ord_${run}${(++orderSeq).toString(36)}`;
              event(
                'purchase',
                `,"properties":{"order_id":"${order}","amount":${cart.toFixed(2)},"cart_value":${cart.toFixed(2)},"currency":"USD"}`,
                60_000,
              );
            }
          }
        }
      }
    }
    await flush(false);
  }
  for (const due of [...delayed.keys()].sort((a, b) => a - b))
    for (const line of delayed.get(due)!) emitLine(line);
  await flush(true);
  return { lines, users: userCount, sessions, byType, injected };
}

function homeIp(userIndex: number): string {
  const h = Math.imul(userIndex + 1, 2654435761) >>> 0;
  return `${11 + (h % 200)}.${(h >>> 8) & 255}.${(h >>> 16) & 255}.${1 + ((h >>> 24) % 254)}`;
}

function productProps(rng: Random): string {
  return `,"properties":{"product_id":"p_${rng.zipf(PRODUCTS)}","category":"${rng.pick(CATEGORIES)}","price":${(rng.int(5, 400) + 0.99).toFixed(2)},"currency":"USD"}`;
}

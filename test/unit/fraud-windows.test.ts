import { describe, expect, it } from 'vitest';
import { FraudWindows, type StreamEvent } from '../../src/stream/fraud-windows.js';

const RULES = {
  maxEventsPerMinute: 100,
  maxValuePerMinute: 50_000,
  maxQuantity: 50,
  maxCartValue: 10_000,
  multiIpThreshold: 3,
};
const T0 = Date.parse('2026-11-20T10:00:00Z');
let n = 0;
const ev = (user: string, offsetMs: number, extra: Partial<StreamEvent> = {}): StreamEvent => ({
  eventId: `e${++n}`,
  userId: user,
  eventTime: T0 + offsetMs,
  eventType: 'page_view',
  ip: '10.0.0.1',
  value: 0,
  quantity: null,
  cartValue: null,
  currency: null,
  userAgent: null,
  isBot: false,
  arrivedAt: 0,
  ...extra,
});
const burst = (user: string, count: number, minuteOffset = 0) =>
  Array.from({ length: count }, (_, i) => ev(user, minuteOffset * 60_000 + (i * 59_000) / count));
const MIN = 60_000;

describe('event-time fraud windows', () => {
  it('emits a window once the watermark (max event time - 5 min) passes its end, despite disorder', () => {
    const windows = new FraudWindows(RULES);
    const shuffled = [...burst('u', 101)].reverse();
    expect(windows.process(shuffled).alerts).toEqual([]); // watermark 09:55: not due
    const { alerts, watermark } = windows.process([ev('other', 6 * MIN + 1)]);
    expect(watermark).toBe(T0 + MIN + 1);
    expect(alerts).toEqual([
      expect.objectContaining({
        userId: 'u',
        rule: 'events_per_minute',
        version: 1,
        isFinal: false,
        windowStart: '2026-11-20T10:00:00.000Z',
        evidence: { events: 101, total_value: 0, distinct_ips: 1 },
      }),
    ]);
  });

  it('re-emits with a higher version for late events within the lateness, then closes; later events are late', () => {
    const windows = new FraudWindows(RULES);
    windows.process([...burst('u', 101), ev('other', 6 * MIN + 1)]);
    const late = windows.process([ev('u', 30_000), ev('other', 10 * MIN)]);
    expect(late.alerts).toEqual([
      expect.objectContaining({
        version: 2,
        isFinal: false,
        evidence: expect.objectContaining({ events: 102 }),
      }),
    ]);
    const closing = windows.process([ev('other', 21 * MIN)]); // watermark 10:16 >= end 10:01 + 15 min
    expect(closing.alerts).toEqual([expect.objectContaining({ version: 3, isFinal: true })]);
    const tooLate = windows.process([ev('u', 45_000)]);
    expect(tooLate.late.map((e) => e.userId)).toEqual(['u']);
    expect(tooLate.alerts).toEqual([]);
    expect(windows.snapshot().lateCount).toBe(1);
  });

  it('never moves the watermark back and keeps quiet windows quiet', () => {
    const windows = new FraudWindows(RULES);
    const a = windows.process([ev('u', 10 * MIN)]).watermark;
    const b = windows.process([ev('u', 2 * MIN)]).watermark;
    expect(b).toBe(a);
    expect(windows.process([ev('u', 40 * MIN)]).alerts).toEqual([]);
  });

  it('value and IP rules per window; per-event rules at once', () => {
    const windows = new FraudWindows(RULES);
    const immediate = windows.process([
      ev('v', 0, { value: 30_000 }),
      ev('v', 1000, { value: 30_000, cartValue: 30_000 }),
      ev('i', 0, { ip: 'a' }),
      ev('i', 1, { ip: 'b' }),
      ev('i', 2, { ip: 'c' }),
      ev('b', 3, { isBot: true }),
      ev('q', 4, { quantity: 60 }),
    ]).alerts;
    expect(immediate.map((a) => `${a.rule}:${a.userId}`).sort()).toEqual([
      'bot_user_agent:b',
      'high_cart_value:v',
      'high_quantity:q',
    ]);
    const windowed = windows.process([ev('x', 7 * MIN)]).alerts;
    expect(windowed.map((a) => `${a.rule}:${a.userId}`).sort()).toEqual([
      'multiple_ips:i',
      'value_per_minute:v',
    ]);
  });

  it('resumes from its saved state without re-emitting a version', () => {
    const first = new FraudWindows(RULES);
    first.process([...burst('u', 101), ev('other', 6 * MIN + 1)]);
    const saved = JSON.parse(JSON.stringify(first.snapshot()));
    const resumed = new FraudWindows(RULES, undefined, saved);
    expect(resumed.process([ev('other', 7 * MIN)]).alerts).toEqual([]);
    expect(resumed.process([ev('u', 1000)]).alerts).toEqual([expect.objectContaining({ version: 2 })]);
  });
});

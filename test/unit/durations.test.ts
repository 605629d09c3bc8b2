import { describe, expect, it } from 'vitest';
import { parseCliDurationMs, parseDeltaIntervalMs, parseSecondsMs } from '../../src/util/durations.js';
import { mapLimit } from '../../src/util/map-limit.js';

const H = 3_600_000;

describe('duration grammars (src/util/durations.ts): one parser each', () => {
  it('Delta table properties: `interval 7 days`, `168 hours`, seconds to weeks', () => {
    expect(parseDeltaIntervalMs('interval 7 days')).toBe(168 * H);
    expect(parseDeltaIntervalMs('interval 30 days')).toBe(720 * H);
    expect(parseDeltaIntervalMs('168 hours')).toBe(168 * H);
    expect(parseDeltaIntervalMs('INTERVAL 1 WEEK')).toBe(168 * H);
    expect(parseDeltaIntervalMs(' 90 seconds ')).toBe(90_000);
    expect(parseDeltaIntervalMs('interval 2 minute')).toBe(120_000);
    for (const bad of [undefined, '', '7d', '1.5 days', 'interval days', 'forever'])
      expect(parseDeltaIntervalMs(bad)).toBeUndefined();
  });

  it('command-line spans: `30m`, `24h`, `7d`, fractions; a bare number only where the flag has a unit', () => {
    expect(parseCliDurationMs('30m')).toBe(H / 2);
    expect(parseCliDurationMs('24h')).toBe(24 * H);
    expect(parseCliDurationMs('7d')).toBe(168 * H);
    expect(parseCliDurationMs('1.5h')).toBe(1.5 * H);
    expect(parseCliDurationMs('24')).toBeUndefined(); // slo --since needs a unit
    expect(parseCliDurationMs('168', { bareUnit: 'h' })).toBe(168 * H); // vacuum --retain 168
    expect(parseCliDurationMs('336h', { bareUnit: 'h' })).toBe(336 * H);
    expect(parseCliDurationMs('0h', { bareUnit: 'h' })).toBe(0);
    for (const bad of ['', 'h', '-1h', '7 days', '1w', '1e3h'])
      expect(parseCliDurationMs(bad)).toBeUndefined();
  });

  it('seconds: `--interval 0.2` is 200 ms; below the minimum or not a number is refused', () => {
    expect(parseSecondsMs('1')).toBe(1000);
    expect(parseSecondsMs('0.2', { minSeconds: 0.01 })).toBe(200);
    expect(parseSecondsMs('0.001', { minSeconds: 0.01 })).toBeUndefined();
    expect(parseSecondsMs('soon')).toBeUndefined();
    expect(parseSecondsMs('Infinity')).toBeUndefined();
  });
});

describe('mapLimit (src/util/map-limit.ts)', () => {
  it('keeps input order and never runs more than the limit at once', async () => {
    let running = 0;
    let peak = 0;
    const out = await mapLimit([5, 1, 4, 2, 3], 2, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setImmediate(resolve));
      running--;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30]);
    expect(peak).toBe(2);
    expect(await mapLimit([], 4, async () => 1)).toEqual([]);
  });
});

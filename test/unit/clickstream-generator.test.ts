import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateClickstream, writeClickstream } from '../../src/generate/clickstream-generator.js';
import { tempDir } from '../helpers/cli.js';

async function generate(events: number, seed: number): Promise<string> {
  let text = '';
  await generateClickstream({ events, seed }, (chunk) => {
    text += chunk;
  });
  return text;
}

describe('clickstream generator', () => {
  it('is deterministic per seed and writes exactly the requested number of lines', async () => {
    const a = await generate(30_000, 7);
    expect(await generate(30_000, 7)).toBe(a);
    expect(await generate(30_000, 8)).not.toBe(a);
    expect(a.endsWith('\n')).toBe(true);
    expect(a.split('\n').length - 1).toBe(30_000);
  });

  it('writes realistic events with every injected anomaly', async () => {
    const lines = (await generate(50_000, 3)).trim().split('\n');
    const parsed: Record<string, unknown>[] = [];
    let malformed = 0;
    for (const line of lines) {
      try {
        const event = JSON.parse(line) as Record<string, unknown>;
        if (!event.user_id || Number.isNaN(Date.parse(String(event.timestamp)))) malformed++;
        else parsed.push(event);
      } catch {
        malformed++;
      }
    }
    expect(malformed).toBeGreaterThan(0);
    expect(malformed / lines.length).toBeLessThan(0.01);
    const ids = parsed.map((e) => e.event_id);
    expect(new Set(ids).size).toBeLessThan(ids.length); // duplicates re-sent
    expect(parsed.some((e) => /bot|python-requests|HeadlessChrome|curl/i.test(String(e.user_agent)))).toBe(
      true,
    );
    const late = parsed.filter(
      (e) => Date.parse(String(e.received_at)) - Date.parse(String(e.timestamp)) > 3_600_000,
    );
    expect(late.length / parsed.length).toBeGreaterThan(0.002);
    const perMinute = new Map<string, number>();
    for (const e of parsed) {
      const key = `${e.user_id}|${String(e.timestamp).slice(0, 16)}`;
      perMinute.set(key, (perMinute.get(key) ?? 0) + 1);
    }
    expect(Math.max(...perMinute.values())).toBeGreaterThan(100);
    const props = (e: Record<string, unknown>) => (e.properties ?? {}) as Record<string, number>;
    expect(parsed.some((e) => props(e).quantity! > 50 || props(e).cart_value! > 10_000)).toBe(true);
    // funnel: carts per product-viewing session, roughly the seed's 40%
    const sessions = (type: string) =>
      new Set(parsed.filter((e) => e.event_type === type).map((e) => e.session_id)).size;
    const viewToCart = sessions('add_to_cart') / sessions('product_view');
    expect(viewToCart).toBeGreaterThan(0.3);
    expect(viewToCart).toBeLessThan(0.5);
    // events are roughly, not strictly, in time order
    let outOfOrder = 0;
    for (let i = 1; i < parsed.length; i++)
      if (String(parsed[i]!.timestamp) < String(parsed[i - 1]!.timestamp)) outOfOrder++;
    expect(outOfOrder).toBeGreaterThan(0);
  });

  it('writes gzip when the path ends in .gz', async () => {
    const file = path.join(tempDir('gen'), 'events.ndjson.gz');
    const summary = await writeClickstream(file, { events: 1000, seed: 1 });
    const bytes = readFileSync(file);
    expect(bytes[0]).toBe(0x1f);
    expect(bytes[1]).toBe(0x8b);
    expect(summary.lines).toBe(1000);
  });
});

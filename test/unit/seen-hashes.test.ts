import { describe, expect, it } from 'vitest';
import { SeenHashes, TABLE_SOURCE } from '../../src/ingest/seen-hashes.js';

// The seen set of ingest's deduplication: 52-bit hashes as numbers, each with the source that
// added it; it grows past its first size, forgets a dropped source, and keeps the table's events.

describe('SeenHashes', () => {
  it('answers the owner of a present hash and adds an absent one, across growth', () => {
    const seen = new SeenHashes();
    const hashes = Array.from({ length: 200_000 }, (_, i) => (i * 2_654_435_761 + 7) % 2 ** 52);
    for (const [i, h] of hashes.entries()) expect(seen.addIfAbsent(h, i % 3)).toBeUndefined();
    expect(seen.size).toBe(hashes.length);
    for (const [i, h] of hashes.entries()) expect(seen.addIfAbsent(h, 9)).toBe(i % 3);
    // the largest and smallest hashes are exact
    expect(seen.addIfAbsent(2 ** 52 - 1, 1)).toBeUndefined();
    expect(seen.addIfAbsent(2 ** 52 - 2, 2)).toBeUndefined();
    expect(seen.addIfAbsent(2 ** 52 - 1, 5)).toBe(1);
    expect(seen.addIfAbsent(0, 4)).toBeUndefined();
    expect(seen.addIfAbsent(0, 5)).toBe(4);
  });

  it('forgets the hashes of a dropped source, except those handed to the table', () => {
    const seen = new SeenHashes();
    for (let h = 0; h < 1_000; h++) seen.addIfAbsent(h, h % 2);
    seen.setOwner(1, TABLE_SOURCE);
    seen.removeOwner(1);
    expect(seen.size).toBe(501);
    expect(seen.addIfAbsent(1, 7)).toBe(TABLE_SOURCE);
    expect(seen.addIfAbsent(3, 7)).toBeUndefined();
    expect(seen.addIfAbsent(4, 7)).toBe(0);
  });
});

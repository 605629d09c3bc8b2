import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DuckDb } from '../../src/engine/duckdb.js';
import { installPrivacyMacros, PseudonymKey } from '../../src/governance/pseudonym.js';

describe('pseudonymized user keys', () => {
  const ids = ['u_1', 'usr_suspicious', 'ünïcødé', ''];
  for (const secret of ['sixteen-chars-ok', 'x'.repeat(64), `long-${'k'.repeat(200)}`]) {
    it(`SQL pseudonym() is HMAC-SHA256 for a ${secret.length}-byte secret`, async () => {
      const key = new PseudonymKey(Buffer.from(secret), 'config');
      const db = await DuckDb.open();
      try {
        await installPrivacyMacros(db, key);
        for (const id of ids) {
          const [row] = await db.all<{ k: string }>('SELECT pseudonym($id) AS k', { id });
          const expected = createHmac('sha256', secret).update(id).digest('hex').slice(0, 32);
          expect(row!.k).toBe(expected);
          expect(key.userKey(id)).toBe(expected);
        }
      } finally {
        db.close();
      }
    });
  }

  it('never serializes the secret and refuses short ones', () => {
    const key = new PseudonymKey(Buffer.from('a-secret-of-16-bytes'), 'config');
    expect(JSON.stringify({ key })).not.toContain('a-secret');
    expect(() => new PseudonymKey(Buffer.from('short'), 'config')).toThrow(/at least 16/);
  });

  it('truncate_ip keeps an IPv4 /24 and an IPv6 /48', async () => {
    const db = await DuckDb.open();
    try {
      await installPrivacyMacros(db, new PseudonymKey(Buffer.from('0123456789abcdef'), 'config'));
      const rows = await db.all<{ ip: string | null; t: string | null }>(
        "SELECT ip, truncate_ip(ip) AS t FROM (VALUES ('203.0.113.77'), ('2001:db8:85a3:8d3:1319:8a2e:370:7348'), (NULL), ('garbage')) AS v(ip) ORDER BY ip NULLS LAST",
      );
      expect(rows).toEqual([
        { ip: '2001:db8:85a3:8d3:1319:8a2e:370:7348', t: '2001:db8:85a3::/48' },
        { ip: '203.0.113.77', t: '203.0.113.0/24' },
        { ip: 'garbage', t: 'invalid' },
        { ip: null, t: null },
      ]);
    } finally {
      db.close();
    }
  });
});

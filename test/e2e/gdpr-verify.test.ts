import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, tempDir } from '../helpers/cli.js';

const TARGET = 'usr_042';

describe('gdpr verify, signed receipts, status deadlines (CLI)', () => {
  it('verify exits 1 listing where the user is, forget prints a receipt that verifies with the configured key, then verify exits 0', () => {
    const dir = tempDir('gdpr-verify');
    const { privateKey } = generateKeyPairSync('ed25519');
    const keyFile = path.join(dir, 'gdpr-signing.pem');
    writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const env = {
      SHOPSTREAM_LAKE: path.join(dir, 'lake'),
      SHOPSTREAM_WAREHOUSE: path.join(dir, 'warehouse.duckdb'),
      SHOPSTREAM_GDPR_SIGNING_KEY_PATH: keyFile,
    };
    const run = (args: string[]) => cli(args, { env, cwd: dir });
    const events = path.join(dir, 'events.ndjson');
    const event = (user: string, id: string, extra = '') =>
      `{"event_id":"${id}","event_type":"page_view","user_id":"${user}","timestamp":"2026-11-21T10:00:00Z","page_url":"https://shop.example/?u=${user}"${extra}}`;
    writeFileSync(
      events,
      [
        event(TARGET, 'e1'),
        event('usr_043', 'e2'),
        // quarantined (bad price) with the id JSON-escaped
        '{"event_id":"e3","event_type":"add_to_cart","user_id":"\\u0075sr_042","timestamp":"2026-11-21T10:01:00Z","properties":{"price":-1}}',
      ].join('\n'),
    );
    expect(run(['ingest', events, '--max-bad-ratio', '1']).status).toBe(0);

    const found = run(['gdpr', 'verify', '--user', TARGET]);
    expect(found.status, found.stderr).toBe(1);
    expect(found.stdout).toMatch(/FOUND id\s+lake:raw_events\/dt=/);
    expect(found.stdout).toMatch(/FOUND id\s+lake:quarantine\//);

    const forget = run(['gdpr', 'forget', '--user', TARGET, '--json']);
    expect(forget.status, forget.stderr).toBe(0);
    const receipt = JSON.parse(forget.stdout);
    expect(receipt.verification.findings).toEqual([]);
    expect(receipt.tablesScanned).toEqual(expect.arrayContaining(['raw_events', 'quarantine', 'audit_log']));
    // the receipt verifies with the configured key's public half (node:crypto), and not when changed
    const { signature, ...body } = receipt;
    const publicKey = createPublicKey(privateKey);
    expect(signature.publicKey).toBe(publicKey.export({ type: 'spki', format: 'pem' }).toString());
    const check = (b: unknown) =>
      verify(null, Buffer.from(JSON.stringify(b)), publicKey, Buffer.from(signature.value, 'base64'));
    expect(check(body)).toBe(true);
    expect(check({ ...body, rowsDeleted: body.rowsDeleted - 1 })).toBe(false);

    const clean = run(['gdpr', 'verify', '--user', TARGET, '--json']);
    expect(clean.status, clean.stderr).toBe(0);
    expect(JSON.parse(clean.stdout).findings).toEqual([]);
    // another user is still there
    expect(run(['gdpr', 'verify', '--user', 'usr_043']).status).toBe(1);

    const status = run(['gdpr', 'status', '--user', TARGET, '--json']);
    expect(status.status, status.stderr).toBe(0);
    const [request] = JSON.parse(status.stdout);
    expect(request).toMatchObject({ status: 'completed', ageDays: 0, overdue: false });
    expect(Date.parse(request.deadline) - Date.parse(request.requestedAt)).toBe(30 * 86_400_000);
    expect(run(['gdpr', 'status']).stdout).toMatch(/deadline/);

    // a key that is not Ed25519 is a configuration error before anything is deleted
    const rsa = path.join(dir, 'rsa.pem');
    writeFileSync(
      rsa,
      generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }),
    );
    const wrongKey = cli(['gdpr', 'forget', '--user', 'usr_043'], {
      env: { ...env, SHOPSTREAM_GDPR_SIGNING_KEY_PATH: rsa },
      cwd: dir,
    });
    expect(wrongKey.status, wrongKey.stderr).toBe(78);
    expect(run(['gdpr', 'verify', '--user', 'usr_043']).status).toBe(1);
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalStore } from '../../src/storage/local-store.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { S3Store } from '../../src/storage/s3-store.js';
import { startTestS3, type TestS3 } from '../helpers/s3-server.mjs';

let s3: TestS3;
beforeAll(async () => {
  s3 = await startTestS3();
});
afterAll(async () => {
  await s3?.stop();
});

const stores: [string, () => ObjectStore][] = [
  ['local', () => new LocalStore(mkdtempSync(path.join(os.tmpdir(), 'contract-')))],
  [
    's3',
    () =>
      new S3Store(`s3://${s3.bucket}/contract-${Math.random().toString(36).slice(2)}`, {
        endpoint: s3.endpoint,
      }),
  ],
];

describe.each(stores)('ObjectStore contract: %s', (_name, make) => {
  it('puts, gets, range-gets, heads, lists (with special characters and pagination) and deletes', async () => {
    const store = make();
    await store.put('a/b=1/x y+z&.txt', 'hello world');
    expect(Buffer.from(await store.get('a/b=1/x y+z&.txt')).toString()).toBe('hello world');
    expect(Buffer.from(await store.getRange('a/b=1/x y+z&.txt', 6, 11)).toString()).toBe('world');
    expect(await store.head('a/b=1/x y+z&.txt')).toMatchObject({ size: 11 });
    expect(await store.head('a/missing')).toBeUndefined();
    for (let i = 0; i < 1005; i++) await store.put(`many/${String(i).padStart(4, '0')}`, String(i));
    const listed = await store.list('many/');
    expect(listed).toHaveLength(1005);
    expect((await store.list('a/')).map((o) => o.key)).toEqual(['a/b=1/x y+z&.txt']);
    expect((await store.listFolders('')).sort()).toEqual(['a', 'many']);
    await store.delete('a/b=1/x y+z&.txt');
    expect(await store.head('a/b=1/x y+z&.txt')).toBeUndefined();
  });

  it('put-if-absent lets exactly one of many concurrent writers win', async () => {
    const store = make();
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => store.putIfAbsent('log/00000000000000000001.json', `writer ${i}`)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results.indexOf(true);
    expect(Buffer.from(await store.get('log/00000000000000000001.json')).toString()).toBe(`writer ${winner}`);
    expect(await store.putIfAbsent('log/00000000000000000001.json', 'late')).toBe(false);
  });

  it('moves local files in (multipart for large ones) and gives DuckDB a local path back', async () => {
    const store = make();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'upload-'));
    const big = path.join(dir, 'big.bin');
    const bytes = Buffer.alloc(40 * 1024 * 1024, 7);
    writeFileSync(big, bytes);
    await store.putFile(big, 'data/big.bin');
    expect(await store.head('data/big.bin')).toMatchObject({ size: bytes.length });
    const local = await store.localPath('data/big.bin');
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(local).equals(bytes)).toBe(true);
  });
});

describe('S3 servers that ignore conditional writes', () => {
  it('are detected and refused, unless the user accepts a single writer', async () => {
    const unsafe = new S3Store(`s3://${s3.bucket}/probe-${Date.now()}`, { endpoint: s3.rawEndpoint });
    await expect(unsafe.putIfAbsent('x', 'a')).rejects.toMatchObject({
      code: 'S3_NO_CONDITIONAL_WRITES',
      exitCode: 78,
    });
    const accepted = new S3Store(`s3://${s3.bucket}/probe2-${Date.now()}`, {
      endpoint: s3.rawEndpoint,
      unsafeSingleWriter: true,
    });
    expect(await accepted.putIfAbsent('x', 'a')).toBe(true);
    expect(await accepted.putIfAbsent('x', 'b')).toBe(false);
  });
});

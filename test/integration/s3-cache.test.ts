import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve-config.js';
import { s3Options } from '../../src/lake/table/open-lake.js';
import { S3Store } from '../../src/storage/s3-store.js';
import { HOST_TAG } from '../../src/storage/staging.js';
import { tempDir } from '../helpers/cli.js';
import { startTestS3, type TestS3 } from '../helpers/s3-server.mjs';

let s3: TestS3;
beforeAll(async () => {
  s3 = await startTestS3();
});
afterAll(async () => {
  await s3?.stop();
});

const mode = (p: string) => statSync(p).mode & 0o777;
const KB = 1024;

describe('the S3 download cache and staging folder', () => {
  it('are private: 0700 folders, 0600 files, staging in the user cache folder (not $TMPDIR)', async () => {
    const cacheDir = path.join(tempDir('s3-cache'), 'cache');
    const store = new S3Store(`s3://${s3.bucket}/private-${Date.now()}`, { endpoint: s3.endpoint, cacheDir });
    await store.put('t/part-0.parquet', 'personal data');
    const local = await store.localPath('t/part-0.parquet');
    expect(local.startsWith(path.join(cacheDir, 's3', s3.bucket) + path.sep)).toBe(true);
    expect(mode(local)).toBe(0o600);
    expect(mode(path.dirname(local))).toBe(0o700);
    expect(mode(path.join(cacheDir, 's3'))).toBe(0o700);
    const staging = await store.stagingDir('write');
    expect(path.dirname(staging)).toBe(path.join(cacheDir, 'staging'));
    expect(mode(staging)).toBe(0o700);
    expect(mode(path.join(cacheDir, 'staging'))).toBe(0o700);
    expect(mode(cacheDir)).toBe(0o700);
    // a deleted object leaves no cached copy
    await store.delete('t/part-0.parquet');
    expect(existsSync(local)).toBe(false);
  });

  it('is bounded: least recently used files go first, never a file this process handed out', async () => {
    const cacheDir = path.join(tempDir('s3-lru'), 'cache');
    const prefix = `lru-${Date.now()}`;
    const options = { endpoint: s3.endpoint, cacheDir, cacheMaxBytes: 350 * KB };
    const first = new S3Store(`s3://${s3.bucket}/${prefix}`, options);
    for (let i = 0; i < 6; i++) await first.put(`t/f${i}.parquet`, Buffer.alloc(100 * KB, i));
    const locals: string[] = [];
    for (let i = 0; i < 5; i++) locals.push(await first.localPath(`t/f${i}.parquet`));
    // all five are in use by this process (DuckDB may read them): kept although over the bound
    expect(locals.every((f) => existsSync(f))).toBe(true);

    // later, another process: f0 was used least recently, then f1, ... f4
    const hoursAgo = (h: number) => new Date(Date.now() - h * 3600_000);
    for (const [i, file] of locals.entries()) utimesSync(file, hoursAgo(10 - i), hoursAgo(10 - i));
    // a half download of a killed process on this host
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    const partial = path.join(path.dirname(locals[0]!), `x.parquet.${HOST_TAG}-${dead}-abc123.part`);
    writeFileSync(partial, Buffer.alloc(10 * KB));

    const second = new S3Store(`s3://${s3.bucket}/${prefix}`, options);
    expect(await second.localPath('t/f0.parquet')).toBe(locals[0]); // a hit makes f0 the most recent
    await second.localPath('t/f5.parquet');
    const left = readdirSync(path.dirname(locals[0]!)).sort();
    // 6 x 100 KB over a 350 KB bound: f1, f2, f3 evicted (least recently used); f0 was just used
    expect(left.length).toBe(3);
    expect(existsSync(locals[0]!)).toBe(true);
    expect(existsSync(locals[4]!)).toBe(true);
    for (const i of [1, 2, 3]) expect(existsSync(locals[i]!)).toBe(false);
    expect(existsSync(partial)).toBe(false);
    // an evicted file is downloaded again when needed
    expect(existsSync(await second.localPath('t/f1.parquet'))).toBe(true);
  });

  it('its bound is configuration: s3.cacheMaxMB / SHOPSTREAM_S3_CACHE_MAX_MB, 5 GiB by default', () => {
    const byDefault = resolveConfig({}, {}, tempDir('s3-config'));
    expect(s3Options(byDefault).cacheMaxBytes).toBe(5 * 1024 ** 3);
    const fromEnv = resolveConfig({}, { SHOPSTREAM_S3_CACHE_MAX_MB: '64' }, tempDir('s3-config'));
    expect(s3Options(fromEnv).cacheMaxBytes).toBe(64 * 1024 * 1024);
  });
});

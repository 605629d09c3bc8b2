#!/usr/bin/env node
// bench/s3: uploads and ingest against the local S3-compatible test server (fauxqs behind the
// conditional-write proxy, on 127.0.0.1), in the same run:
//   - upload throughput of shopstream's S3 store (putFile: lib-storage multipart, 8 MB parts,
//     4 parts in flight) vs a plain @aws-sdk/lib-storage Upload with its defaults, same bytes;
//   - ingest events/s into an s3:// lake vs a local lake, same generated file.
// Usage: node bench/s3.mjs [--mb 256] [--events 1000000] [--runs 3]. Needs `npm run build`.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  copyFileSync,
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { S3Store } from '../dist/storage/s3-store.js';
import { startTestS3, TEST_CREDENTIALS } from '../test/helpers/s3-server.mjs';
import { appendResults, arg, bin, machine, median, root } from './lib.mjs';

const run = promisify(execFile);
const mb = Number(arg('mb', '256'));
const events = Number(arg('events', '1000000'));
const runs = Number(arg('runs', '3'));

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const s3 = await startTestS3('bench');
const work = mkdtempSync(path.join(os.tmpdir(), 'bench-s3-'));
const blob = path.join(work, 'blob.bin');
writeFileSync(blob, randomBytes(mb * 1024 * 1024));

const ours = [];
const plain = [];
const client = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1' });
for (let r = 0; r < runs; r++) {
  const copy = path.join(work, `copy-${r}.bin`);
  copyFileSync(blob, copy);
  const store = new S3Store(`s3://bench/ours-${r}`, { endpoint: s3.endpoint });
  let started = performance.now();
  await store.putFile(copy, 'blob.bin');
  ours.push(performance.now() - started);
  started = performance.now();
  await new Upload({
    client,
    params: { Bucket: 'bench', Key: `plain-${r}/blob.bin`, Body: createReadStream(blob) },
  }).done();
  plain.push(performance.now() - started);
  process.stderr.write(
    `upload run ${r + 1}: shopstream ${ours.at(-1).toFixed(0)} ms, plain SDK ${plain.at(-1).toFixed(0)} ms\n`,
  );
}

const dataDir = path.join(root, 'bench/data');
mkdirSync(dataDir, { recursive: true });
const file = path.join(dataDir, `events-${events}.ndjson`);
if (!existsSync(file))
  await run(process.execPath, [bin, 'generate', '--events', String(events), '--out', file, '--seed', '1']);
const env = { ...process.env, ...TEST_CREDENTIALS, AWS_ENDPOINT_URL_S3: s3.endpoint, CI: 'true' };
const ingestTimes = { local: [], s3: [] };
for (let r = 0; r < runs; r++) {
  for (const kind of ['local', 's3']) {
    const lake =
      kind === 'local' ? mkdtempSync(path.join(os.tmpdir(), 'bench-s3-local-')) : `s3://bench/lake-${r}`;
    const { stdout } = await run(
      process.execPath,
      [bin, 'ingest', file, '--lake', lake, '--json', '--max-bad-ratio', '1'],
      { env, maxBuffer: 1 << 26 },
    );
    ingestTimes[kind].push(JSON.parse(stdout).durationMs);
    if (kind === 'local') rmSync(lake, { recursive: true, force: true });
  }
  process.stderr.write(
    `ingest run ${r + 1}: local ${ingestTimes.local.at(-1)} ms, s3 ${ingestTimes.s3.at(-1)} ms\n`,
  );
}
client.destroy();
await s3.stop();
rmSync(work, { recursive: true, force: true });

const mbps = (ms) => (mb / (ms / 1000)).toFixed(0);
const eps = (ms) => Math.round(events / (ms / 1000)).toLocaleString('en-US');
const lines = [
  '',
  `## s3 — ${new Date().toISOString().slice(0, 10)}`,
  '',
  `${machine()} Server: fauxqs (in memory) behind the conditional-write proxy on 127.0.0.1, so these measure the client side and loopback, not AWS. Median of ${runs} runs.`,
  '',
  '| measure | shopstream | reference | ratio |',
  '|---|---|---|---|',
  `| upload ${mb} MiB (MB/s) | ${mbps(median(ours))} MB/s (S3 store putFile) | ${mbps(median(plain))} MB/s (plain lib-storage Upload, defaults) | ${(median(plain) / median(ours)).toFixed(2)} |`,
  `| ingest ${events.toLocaleString('en-US')} events | ${eps(median(ingestTimes.s3))}/s into s3:// | ${eps(median(ingestTimes.local))}/s into a local lake | ${(median(ingestTimes.local) / median(ingestTimes.s3)).toFixed(2)} |`,
];
appendResults(lines);

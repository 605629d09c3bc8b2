import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, cliAsync, fixture, tempDir } from '../helpers/cli.js';
import { startTestRedis, type TestRedis } from '../helpers/redis-server.js';
import { startTestS3, TEST_CREDENTIALS, type TestS3 } from '../helpers/s3-server.mjs';
import { type SnowflakeEmulator, startSnowflakeEmulator } from '../helpers/snowflake-emulator.mjs';

/** The secret every credential below contains; it must appear in nothing shopstream emits or stores. */
const MARKER = 'S3cr3tMark3r';
// a Redis password with a raw @ and / (not percent-encoded), as people paste them
const REDIS_PASSWORD = `p@ss/${MARKER}`;
const SNOWFLAKE_PASSWORD = `sf-${MARKER}`;
// every step starts processes and servers: generous, never a race against the clock
const TIMEOUT = 900_000;

let redis: TestRedis;
let s3: TestS3;
let snowflake: SnowflakeEmulator;
let pushgateway: {
  url: string;
  requests: { url: string; authorization: string | undefined }[];
  stop(): Promise<void>;
};

async function startPushgateway(): Promise<typeof pushgateway> {
  const requests: { url: string; authorization: string | undefined }[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    requests.push({ url: req.url ?? '', authorization: req.headers.authorization });
    req.resume();
    req.on('end', () => res.writeHead(200).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A port nothing listens on: connections are refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? filesUnder(full) : [full];
  });
}

/** Raw bytes of a file, and for Parquet its decoded rows too (compressed pages hide text from grep). */
async function contentsOf(files: readonly string[]): Promise<string> {
  const parts = files.map((f) => readFileSync(f, 'latin1'));
  const parquet = files.filter((f) => f.endsWith('.parquet'));
  if (parquet.length > 0) {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    for (const file of parquet) {
      const reader = await connection.runAndReadAll('SELECT * FROM read_parquet($1)', [file]);
      parts.push(JSON.stringify(reader.getRowObjectsJson()));
    }
    connection.closeSync();
    instance.closeSync();
  }
  return parts.join('\n');
}

async function downloadPrefix(bucket: string, prefix: string, into: string): Promise<string[]> {
  const client = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1' });
  const files: string[] = [];
  try {
    const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    for (const object of listed.Contents ?? []) {
      const body = await client.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key! }));
      const file = path.join(into, object.Key!.replaceAll('/', '__'));
      writeFileSync(file, Buffer.from(await body.Body!.transformToByteArray()));
      files.push(file);
    }
  } finally {
    client.destroy();
  }
  return files;
}

beforeAll(async () => {
  redis = await startTestRedis({ password: REDIS_PASSWORD });
  s3 = await startTestS3('secrets');
  snowflake = await startSnowflakeEmulator({ password: SNOWFLAKE_PASSWORD });
  pushgateway = await startPushgateway();
}, TIMEOUT);
afterAll(async () => {
  await Promise.all([redis?.stop(), s3?.stop(), snowflake?.stop(), pushgateway?.stop()]);
});

describe('credentials never leave shopstream in clear', () => {
  it(
    'no output, audit_log row, lake file or metrics file holds a password given in a URL, env or config',
    async () => {
      const dir = tempDir('secrets');
      const lake = path.join(dir, 'lake');
      const metrics = path.join(dir, 'metrics.prom');
      const redisPort = new URL(redis.url).port;
      const redisUrl = `redis://:${REDIS_PASSWORD}@127.0.0.1:${redisPort}`;
      const deadPort = await closedPort();
      const gatewayWithPassword = pushgateway.url.replace('http://', `http://metrics:${MARKER}@`);
      const outputs: { label: string; result: CliResult }[] = [];
      const run = async (label: string, args: string[], env: Record<string, string> = {}) => {
        const result = await cliAsync(args, { env, cwd: dir });
        outputs.push({ label, result });
        return result;
      };

      // --pushgateway with a password: sent as Basic auth, never in a warning or the URL
      const ingest = await run('ingest --pushgateway', [
        'ingest',
        fixture('demo', 'events.ndjson'),
        '--lake',
        lake,
        '--metrics-file',
        metrics,
        '--pushgateway',
        gatewayWithPassword,
        '--json',
      ]);
      expect(ingest.status, ingest.stderr).toBe(0);
      const pushed = pushgateway.requests.at(-1)!;
      expect(pushed.url).toBe('/metrics/job/shopstream/command/ingest');
      expect(Buffer.from(pushed.authorization!.replace(/^Basic /, ''), 'base64').toString()).toBe(
        `metrics:${MARKER}`,
      );
      const unreachableGateway = `http://metrics:${MARKER}@127.0.0.1:${deadPort}/`;
      const warned = await run('table list, unreachable --pushgateway', [
        'table',
        'list',
        '--lake',
        lake,
        '--pushgateway',
        unreachableGateway,
      ]);
      expect(warned.status).toBe(0);
      expect(warned.stderr).toContain('cannot reach the Pushgateway at http://127.0.0.1');

      // microbatch --redis-url whose password holds a raw @ and /: it connects (it used to exit 69/70)
      const landing = path.join(dir, 'landing');
      mkdirSync(landing);
      copyFileSync(fixture('demo', 'events.ndjson'), path.join(landing, 'events.ndjson'));
      const microbatch = await run('microbatch --redis-url', [
        'microbatch',
        '--from',
        landing,
        '--once',
        '--no-land',
        '--lake',
        lake,
        '--alerts',
        path.join(dir, 'alerts.ndjson'),
        '--redis-url',
        redisUrl,
        '--metrics-file',
        metrics,
        '--json',
      ]);
      expect(microbatch.status, microbatch.stderr).toBe(0);
      const wrongHost = await run('microbatch, unreachable --redis-url', [
        'microbatch',
        '--from',
        landing,
        '--once',
        '--no-land',
        '--lake',
        lake,
        '--redis-url',
        `redis://:${REDIS_PASSWORD}@127.0.0.1:${deadPort}`,
        '--json',
      ]);
      expect(wrongHost.status).toBe(69);
      expect(wrongHost.stderr).toContain(`redis://***@127.0.0.1:${deadPort}`);

      // gdpr forget / run with --redis-url (audited commands): right and wrong passwords
      const requests = path.join(dir, 'forget.txt');
      writeFileSync(requests, 'usr_001\n');
      const forget = await run('gdpr forget --redis-url', [
        'gdpr',
        'forget',
        '--file',
        requests,
        '--lake',
        lake,
        '--redis-url',
        redisUrl,
        '--json',
      ]);
      expect(forget.status, forget.stderr).toBe(0);
      const wrongPassword = await run('gdpr forget, wrong password', [
        'gdpr',
        'forget',
        '--file',
        requests,
        '--lake',
        lake,
        '--redis-url',
        `redis://:x/${MARKER}@wrong@127.0.0.1:${redisPort}`,
      ]);
      expect(wrongPassword.status).toBe(69);
      writeFileSync(requests, 'usr_002\n');
      const pipeline = await run(
        'run --redis-url (env), unreachable',
        ['run', '--no-load', '--gdpr-file', requests, '--lake', lake, '--json'],
        { SHOPSTREAM_REDIS_URL: `redis://:${REDIS_PASSWORD}@127.0.0.1:${deadPort}/0` },
      );
      expect(pipeline.status).not.toBe(0);
      expect(pipeline.status).not.toBe(70);
      const pipelineText = await run('run --redis-url, unreachable, text', [
        'run',
        '--no-load',
        '--gdpr-file',
        requests,
        '--lake',
        lake,
        '--redis-url',
        `redis://user:${REDIS_PASSWORD}@127.0.0.1:${deadPort}?password=${MARKER}`,
      ]);
      expect(pipelineText.status).not.toBe(0);

      // Snowflake password from the config file, and from the environment
      const config = path.join(dir, 'snowflake.config.json');
      writeFileSync(
        config,
        JSON.stringify({
          lake,
          warehouse: {
            kind: 'snowflake',
            snowflake: {
              account: snowflake.account,
              user: snowflake.user,
              password: SNOWFLAKE_PASSWORD,
              accessUrl: snowflake.accessUrl,
            },
          },
        }),
      );
      const sfEnv = { SNOWFLAKE_DISABLE_PLATFORM_DETECTION: 'true' };
      const load = await run(
        'load, Snowflake password in config',
        ['load', '--config', config, '--json'],
        sfEnv,
      );
      expect(load.status, load.stderr).toBe(0);
      const badLoad = await run('load, wrong Snowflake password in env', ['load', '--lake', lake, '--json'], {
        ...sfEnv,
        SHOPSTREAM_WAREHOUSE_KIND: 'snowflake',
        SNOWFLAKE_ACCOUNT: snowflake.account,
        SNOWFLAKE_USER: snowflake.user,
        SNOWFLAKE_PASSWORD: `wrong-${MARKER}`,
        SNOWFLAKE_ACCESS_URL: snowflake.accessUrl,
      });
      expect(badLoad.status).not.toBe(0);

      // --s3-endpoint carrying credentials (an s3:// lake)
      const s3Lake = `s3://${s3.bucket}/lake`;
      const endpointWithPassword = s3.endpoint.replace('http://', `http://AKIAUSER:${MARKER}@`);
      await run(
        'ingest --s3-endpoint with credentials',
        [
          'ingest',
          fixture('demo', 'events.ndjson'),
          '--lake',
          s3Lake,
          '--s3-endpoint',
          endpointWithPassword,
          '--json',
        ],
        { ...TEST_CREDENTIALS },
      );
      await run(
        'ingest --s3-endpoint with credentials and a signature',
        [
          'ingest',
          fixture('demo', 'events.ndjson'),
          '--lake',
          s3Lake,
          '--s3-endpoint',
          `http://127.0.0.1:${deadPort}/?X-Amz-Signature=${MARKER}&token=${MARKER}`,
          '--json',
        ],
        { ...TEST_CREDENTIALS },
      );

      for (const { label, result } of outputs) {
        expect(result.stdout, `${label}: stdout`).not.toContain(MARKER);
        expect(result.stderr, `${label}: stderr`).not.toContain(MARKER);
        expect(result.stderr, `${label}: stderr`).not.toMatch(/this is a bug in shopstream/);
      }
      const lakeFiles = filesUnder(lake);
      expect(lakeFiles.some((f) => f.includes(`${path.sep}audit_log${path.sep}`))).toBe(true);
      const stored = await contentsOf([...lakeFiles, metrics]);
      expect(stored).toContain('gdpr forget'); // the audit rows were read
      expect(stored).not.toContain(MARKER);
      const s3Files = await downloadPrefix(s3.bucket, 'lake/', tempDir('secrets-s3'));
      expect(await contentsOf(s3Files)).not.toContain(MARKER);
    },
    TIMEOUT,
  );
});

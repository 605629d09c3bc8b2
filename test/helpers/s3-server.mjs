import http from 'node:http';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { startFauxqs } from 'fauxqs';

/**
 * A real S3-compatible server on 127.0.0.1 for tests: fauxqs (from the npm registry), behind a small
 * proxy that gives conditional PutObject (`If-None-Match: *`) the semantics real S3 has — fauxqs,
 * like every local S3 server measured here, ignores the condition (../shared/docs/s3-test-servers.md).
 * The proxy serializes conditional puts per key and answers 412 when the key exists; everything else
 * passes through untouched. The product never special-cases it.
 */
export const TEST_CREDENTIALS = {
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_REGION: 'us-east-1',
};

/** @returns {Promise<{endpoint: string, rawEndpoint: string, bucket: string, stop(): Promise<void>}>} */
export async function startTestS3(bucket = 'lake') {
  Object.assign(process.env, TEST_CREDENTIALS);
  const server = await startFauxqs({ port: 0, logger: false, host: '127.0.0.1' });
  const upstream = `http://127.0.0.1:${server.port}`;
  const client = new S3Client({ endpoint: upstream, forcePathStyle: true, region: 'us-east-1' });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  client.destroy();

  const locks = new Map();
  const proxy = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', upstream);
    const conditional =
      req.method === 'PUT' && req.headers['if-none-match'] === '*' && !url.searchParams.has('uploadId');
    if (!conditional) {
      forward(req, res, upstream);
      return;
    }
    const key = url.pathname;
    const previous = locks.get(key) ?? Promise.resolve();
    let release;
    const mine = new Promise((resolve) => (release = resolve));
    locks.set(
      key,
      previous.then(() => mine),
    );
    void previous.then(async () => {
      const exists = await new Promise((resolve) => {
        const head = http.request(`${upstream}${url.pathname}`, { method: 'HEAD' }, (r) => {
          r.resume();
          resolve(r.statusCode === 200);
        });
        head.on('error', () => resolve(false));
        head.end();
      });
      if (exists) {
        req.resume();
        res.writeHead(412, { 'content-type': 'application/xml' });
        res.end(
          '<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>',
        );
        release();
        return;
      }
      forward(req, res, upstream, release);
    });
  });
  await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const address = proxy.address();
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    rawEndpoint: upstream,
    bucket,
    async stop() {
      await new Promise((resolve) => proxy.close(() => resolve()));
      await server.stop();
    },
  };
}

function forward(req, res, upstream, done) {
  const target = new URL(req.url ?? '/', upstream);
  // the proxy already answered 100-continue to the client; upstream gets the body straight away
  const { expect: _expect, ...headers } = req.headers;
  const out = http.request(target, { method: req.method, headers }, (up) => {
    res.writeHead(up.statusCode ?? 502, up.headers);
    up.pipe(res);
    up.on('end', () => done?.());
  });
  out.on('error', (error) => {
    res.writeHead(502);
    res.end(String(error));
    done?.();
  });
  req.pipe(out);
}

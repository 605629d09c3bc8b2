import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliAsync, fixture, ROOT } from '../helpers/cli.js';
import { startTestS3, TEST_CREDENTIALS, type TestS3 } from '../helpers/s3-server.mjs';

let s3: TestS3;
let env: Record<string, string>;
beforeAll(async () => {
  s3 = await startTestS3();
  env = { ...TEST_CREDENTIALS, AWS_ENDPOINT_URL_S3: s3.endpoint };
});
afterAll(async () => {
  await s3?.stop();
});

const run = (args: string[]) => cliAsync(args, { env });

describe('the whole pipeline on an s3:// lake', () => {
  it('demo gives the seed scenario results', async () => {
    const result = await run(['demo', '--lake', `s3://${s3.bucket}/demo`, '--json']);
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      eventsProcessed: 8,
      anomaliesDetected: 1,
      fraudValueFlagged: 79999,
      viewToCartRate: 0.4,
    });
  });

  it('ingest, build-marts, query, time travel and table commands work the same as on disk', async () => {
    const lake = `s3://${s3.bucket}/pipeline`;
    const ingest = await run([
      'ingest',
      fixture('demo', 'events.ndjson'),
      fixture('ingest', 'events.csv'),
      '--lake',
      lake,
      '--json',
      '--max-bad-ratio',
      '0.5',
    ]);
    expect(ingest.status, ingest.stderr).toBe(0);
    expect(JSON.parse(ingest.stdout)).toMatchObject({ read: 12, written: 11, quarantined: 1 });
    expect(
      JSON.parse((await run(['ingest', fixture('demo', 'events.ndjson'), '--lake', lake, '--json'])).stdout),
    ).toMatchObject({ written: 0 });
    const build = await run(['build-marts', '--lake', lake, '--json']);
    expect(build.status, build.stderr).toBe(0);
    expect(JSON.parse(build.stdout).mode).toBe('full');
    expect(JSON.parse((await run(['build-marts', '--lake', lake, '--json'])).stdout).mode).toBe('up-to-date');
    const query = JSON.parse(
      (
        await run([
          'query',
          "SELECT count(*)::INT AS n FROM sessions WHERE 'high_cart_value' IN suspicious_reasons",
          '--lake',
          lake,
          '--json',
        ])
      ).stdout,
    );
    expect(query.rows).toEqual([{ n: 1 }]);
    expect(
      JSON.parse(
        (
          await run([
            'query',
            'SELECT count(*)::INT AS n FROM raw_events',
            '--as-of',
            '0',
            '--lake',
            lake,
            '--json',
          ])
        ).stdout,
      ).rows,
    ).toEqual([{ n: 0 }]);
    const tables = JSON.parse((await run(['table', 'list', '--lake', lake, '--json'])).stdout).map(
      (t: { name: string }) => t.name,
    );
    expect(tables).toEqual([
      'audit_log',
      'conversion_daily',
      'customer_ltv',
      'customer_purchases',
      'fraud_flags',
      'fraud_user_minute',
      'metrics_minute',
      'pipeline_runs',
      'quarantine',
      'raw_events',
      'sessions',
    ]);
    expect(
      JSON.parse((await run(['table', 'show', 'raw_events', '--lake', lake, '--json'])).stdout),
    ).toMatchObject({ rows: 11, location: `${lake}/raw_events` });
    const history = JSON.parse(
      (await run(['table', 'history', 'raw_events', '--lake', lake, '--json'])).stdout,
    );
    expect(history.map((h: { version: number }) => h.version)).toEqual([1, 0]);
    for (const command of [['optimize'], ['checkpoint'], ['vacuum', '--dry-run'], ['restore', '--to', '1']]) {
      const result = await run([
        'table',
        command[0]!,
        'raw_events',
        ...command.slice(1),
        '--lake',
        lake,
        '--json',
      ]);
      expect(result.status, `${command.join(' ')}: ${result.stderr}`).toBe(0);
    }
    const count = await run(['query', 'SELECT count(*)::INT AS n FROM raw_events', '--lake', lake, '--json']);
    expect(JSON.parse(count.stdout).rows).toEqual([{ n: 11 }]);
    const forget = await run([
      'gdpr',
      'forget',
      '--user',
      'usr_suspicious',
      '--no-warehouse',
      '--lake',
      lake,
      '--json',
    ]);
    expect(forget.status, forget.stderr).toBe(0);
    const receipt = JSON.parse(forget.stdout);
    const rawDeleted = receipt.tables.find((t: { table: string }) => t.table === 'raw_events').rowsDeleted;
    expect(rawDeleted).toBeGreaterThan(0);
    const left = await run([
      'query',
      "SELECT (SELECT count(*) FROM raw_events WHERE user_id = 'usr_suspicious')::INT AS raw, (SELECT count(*) FROM raw_events)::INT AS n",
      '--lake',
      lake,
      '--json',
    ]);
    expect(JSON.parse(left.stdout).rows).toEqual([{ raw: 0, n: 11 - rawDeleted }]);
    const status = JSON.parse((await run(['gdpr', 'status', '--lake', lake, '--json'])).stdout);
    expect(status).toEqual([
      expect.objectContaining({ status: 'completed', rowsDeleted: receipt.rowsDeleted }),
    ]);
  });

  it('ingests s3:// sources: a prefix, a glob, with the object URI as lineage', async () => {
    const { readFileSync } = await import('node:fs');
    const { S3Store } = await import('../../src/storage/s3-store.js');
    const landing = new S3Store(`s3://${s3.bucket}/landing`, { endpoint: s3.endpoint });
    await landing.put('2026/11/20/events.ndjson', readFileSync(fixture('demo', 'events.ndjson')));
    await landing.put('2026/11/21/orders.csv', readFileSync(fixture('ingest', 'events.csv')));
    await landing.put('2026/11/21/readme.txt', 'not events');
    const lake = `s3://${s3.bucket}/from-s3`;
    const glob = await run([
      'ingest',
      `s3://${s3.bucket}/landing/**/*.csv`,
      '--lake',
      lake,
      '--json',
      '--max-bad-ratio',
      '0.5',
    ]);
    expect(glob.status, glob.stderr).toBe(0);
    expect(JSON.parse(glob.stdout)).toMatchObject({ files: { total: 1 }, read: 4, written: 3 });
    const prefix = await run([
      'ingest',
      `s3://${s3.bucket}/landing/`,
      '--lake',
      lake,
      '--json',
      '--max-bad-ratio',
      '0.5',
    ]);
    expect(JSON.parse(prefix.stdout)).toMatchObject({
      files: { total: 2, alreadyIngested: 1, ingested: 1 },
      written: 8,
    });
    const sources = JSON.parse(
      (
        await run([
          'query',
          'SELECT DISTINCT source_file FROM raw_events ORDER BY 1',
          '--lake',
          lake,
          '--json',
        ])
      ).stdout,
    ).rows.map((r: { source_file: string }) => r.source_file);
    expect(sources).toEqual([
      `s3://${s3.bucket}/landing/2026/11/20/events.ndjson`,
      `s3://${s3.bucket}/landing/2026/11/21/orders.csv`,
    ]);
    const missing = await run(['ingest', `s3://${s3.bucket}/nothing-here/`, '--lake', lake]);
    expect(missing.status).toBe(65);
    expect(missing.stderr).toContain('nothing-here');
  });

  it('refuses a server that ignores conditional writes unless --unsafe-single-writer', async () => {
    const raw = { ...env, AWS_ENDPOINT_URL_S3: s3.rawEndpoint };
    const refused = await cliAsync(
      ['ingest', fixture('demo', 'events.ndjson'), '--lake', `s3://${s3.bucket}/unsafe`],
      { env: raw },
    );
    expect(refused.status).toBe(78);
    expect(refused.stderr).toMatch(/conditional writes/);
    const accepted = await cliAsync(
      [
        'ingest',
        fixture('demo', 'events.ndjson'),
        '--lake',
        `s3://${s3.bucket}/unsafe`,
        '--unsafe-single-writer',
      ],
      { env: raw },
    );
    expect(accepted.status, accepted.stderr).toBe(0);
  });

  it('two writers on two processes racing appends: one commit per version, no lost append', async () => {
    const lake = `s3://${s3.bucket}/race`;
    const worker = (mode: string, name: string, count: number) =>
      new Promise<string>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          [path.join(ROOT, 'test/helpers/lake-worker.mjs'), lake, mode, name, String(count)],
          {
            env: { ...process.env, ...env },
          },
        );
        let out = '';
        let err = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (err += d));
        child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(err))));
      });
    await worker('ensure', 'x', 0);
    const [a, b] = await Promise.all([worker('append', 'a', 12), worker('append', 'b', 12)]);
    const versions = `${a}${b}`
      .trim()
      .split('\n')
      .map(Number)
      .sort((x, y) => x - y);
    expect(versions).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    const rows = JSON.parse(
      (
        await run([
          'query',
          'SELECT worker, count(*)::INT AS n FROM race GROUP BY 1 ORDER BY 1',
          '--lake',
          lake,
          '--json',
        ])
      ).stdout,
    ).rows;
    expect(rows).toEqual([
      { worker: 'a', n: 12 },
      { worker: 'b', n: 12 },
    ]);
  });
});

describe('micro-batch on S3', () => {
  it('polls an s3:// landing prefix, taking each object once, with its state in an s3:// lake', async () => {
    const { S3Store } = await import('../../src/storage/s3-store.js');
    const landing = new S3Store(`s3://${s3.bucket}/mb-landing`, { endpoint: s3.endpoint });
    const t0 = Date.parse('2026-11-20T10:00:00Z');
    const lines = Array.from({ length: 101 }, (_, i) =>
      JSON.stringify({
        event_id: `s3mb${i}`,
        event_type: 'page_view',
        user_id: 'x',
        timestamp: new Date(t0 + i * 500).toISOString(),
      }),
    );
    lines.push(
      JSON.stringify({
        event_id: 's3mb-late',
        event_type: 'page_view',
        user_id: 'y',
        timestamp: new Date(t0 + 6 * 60_000 + 1).toISOString(),
      }),
    );
    await landing.put('part-1.ndjson', `${lines.join('\n')}\n`);
    const args = [
      'microbatch',
      '--from',
      `s3://${s3.bucket}/mb-landing/`,
      '--once',
      '--no-land',
      '--lake',
      `s3://${s3.bucket}/mb-lake`,
      '--json',
    ];
    // alerts on stdout: the --json summary is the last line of stderr
    const summary = (stderr: string) => JSON.parse(stderr.trim().split('\n').at(-1)!);
    const first = await run(args);
    expect(first.status, first.stderr).toBe(0);
    expect(
      first.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).rule),
    ).toEqual(['events_per_minute']);
    expect(summary(first.stderr)).toMatchObject({
      filesPicked: 1,
      events: 102,
      alerts: 1,
    });
    const second = await run(args);
    expect(summary(second.stderr)).toMatchObject({
      filesPicked: 0,
      events: 0,
    });
  });
});

import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { BIN, cliAsync, tempDir } from '../helpers/cli.js';
import { startTestRedis } from '../helpers/redis-server.js';

const T0 = Date.parse('2026-11-20T10:00:00Z');
let n = 0;
const line = (user: string, offsetMs: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    event_id: `m${++n}`,
    event_type: 'page_view',
    user_id: user,
    timestamp: new Date(T0 + offsetMs).toISOString(),
    ip: '10.0.0.1',
    ...extra,
  });
const burst = (user: string, count: number) =>
  Array.from({ length: count }, (_, i) => line(user, (i * 59_000) / count));
const alertsIn = (file: string) =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map(
      (l) =>
        JSON.parse(l) as { alertId: string; rule: string; userId: string; version: number; isFinal: boolean },
    );

describe('shopstream microbatch', () => {
  it('takes each landing file once, emits windows as the watermark passes, re-emits late updates, lands events', async () => {
    const dir = tempDir('mb');
    const landing = path.join(dir, 'landing');
    mkdirSync(landing);
    const lake = path.join(dir, 'lake');
    const alerts = path.join(dir, 'alerts.ndjson');
    const run = () =>
      cliAsync([
        'microbatch',
        '--from',
        landing,
        '--once',
        '--alerts',
        alerts,
        '--land-every',
        '0',
        '--lake',
        lake,
        '--json',
      ]);

    writeFileSync(
      path.join(landing, '1.ndjson'),
      `${[...burst('u', 101), line('other', 6 * 60_000 + 1), line('c', 1000, { properties: { cart_value: 20000 }, event_type: 'add_to_cart' })].join('\n')}\n`,
    );
    const first = await run();
    expect(first.status, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ filesPicked: 1, events: 103, alerts: 2 });
    expect(
      alertsIn(alerts)
        .map((a) => `${a.rule}:${a.userId}:v${a.version}`)
        .sort(),
    ).toEqual(['events_per_minute:u:v1', 'high_cart_value:c:v1']);

    const again = await run();
    expect(JSON.parse(again.stdout)).toMatchObject({ filesPicked: 0, events: 0 });

    writeFileSync(path.join(landing, '2.ndjson'), `${line('u', 30_000)}\n${line('other', 9 * 60_000)}\n`);
    await run();
    expect(
      alertsIn(alerts)
        .filter((a) => a.userId === 'u')
        .map((a) => a.version),
    ).toEqual([1, 2]);

    // the watermark moves per batch: passing end + lateness closes the window for good
    writeFileSync(path.join(landing, '3.ndjson'), `${line('other', 30 * 60_000)}\n`);
    await run();
    const final = alertsIn(alerts).filter((a) => a.userId === 'u');
    expect(final.at(-1)).toMatchObject({ version: 3, isFinal: true });
    writeFileSync(path.join(landing, '4.ndjson'), `${line('u', 40_000)}\n`);
    const tooLate = JSON.parse((await run()).stdout);
    expect(tooLate.late).toBe(1);
    expect(alertsIn(alerts).filter((a) => a.userId === 'u')).toHaveLength(3);

    const count = await cliAsync([
      'query',
      'SELECT count(*)::INT AS n FROM raw_events',
      '--lake',
      lake,
      '--json',
    ]);
    expect(JSON.parse(count.stdout).rows).toEqual([{ n: 103 + 2 + 1 + 1 }]);
    const late = await cliAsync([
      'query',
      'SELECT user_id, count(*)::INT AS n FROM late_events GROUP BY 1',
      '--lake',
      lake,
      '--json',
    ]);
    expect(JSON.parse(late.stdout).rows).toEqual([{ user_id: 'u', n: 1 }]);
    const metrics = await cliAsync([
      'query',
      'SELECT count(*)::INT AS batches, sum(events)::INT AS events, sum(late_events)::INT AS late FROM metrics_microbatch',
      '--lake',
      lake,
      '--json',
    ]);
    expect(JSON.parse(metrics.stdout).rows).toEqual([{ batches: 5, events: 103 + 2 + 1 + 1, late: 1 }]);
  });

  it('after kill -9 a restart loses no window and emits no duplicate version', async () => {
    const dir = tempDir('mb-kill');
    const landing = path.join(dir, 'landing');
    mkdirSync(landing);
    const lake = path.join(dir, 'lake');
    const alerts = path.join(dir, 'alerts.ndjson');
    writeFileSync(
      path.join(landing, '1.ndjson'),
      `${[...burst('k', 150), line('other', 6 * 60_000 + 1)].join('\n')}\n`,
    );
    const child = spawn(
      process.execPath,
      [BIN, 'microbatch', '--from', landing, '--alerts', alerts, '--no-land', '--lake', lake],
      { stdio: 'ignore' },
    );
    // wait for the first alert (or the process to end), however long a loaded machine takes
    let exited = false;
    child.once('exit', () => {
      exited = true;
    });
    while (!exited) {
      const text = (() => {
        try {
          return readFileSync(alerts, 'utf8');
        } catch {
          return '';
        }
      })();
      if (text.includes('events_per_minute')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(exited, 'microbatch ended before its first alert').toBe(false);
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    writeFileSync(path.join(landing, '2.ndjson'), `${line('k', 1000)}\n${line('other', 7 * 60_000)}\n`);
    const restarted = await cliAsync([
      'microbatch',
      '--from',
      landing,
      '--once',
      '--alerts',
      alerts,
      '--no-land',
      '--lake',
      lake,
      '--json',
    ]);
    expect(restarted.status, restarted.stderr).toBe(0);
    const versions = alertsIn(alerts)
      .filter((a) => a.userId === 'k')
      .map((a) => a.version);
    expect(versions).toEqual([1, 2]);
    expect(new Set(alertsIn(alerts).map((a) => a.alertId)).size).toBe(alertsIn(alerts).length);
  });

  it('publishes alerts to Redis and sets a per-user flag key with a TTL', async () => {
    const redisServer = await startTestRedis();
    const subscriber = new Redis(redisServer.url);
    const reader = new Redis(redisServer.url);
    try {
      const received: string[] = [];
      await subscriber.subscribe('shopstream:fraud-alerts');
      const firstMessage = new Promise<void>((resolve) =>
        subscriber.on('message', (_channel, message) => {
          received.push(message);
          resolve();
        }),
      );
      const dir = tempDir('mb-redis');
      const landing = path.join(dir, 'landing');
      mkdirSync(landing);
      writeFileSync(
        path.join(landing, '1.ndjson'),
        `${[...burst('r', 120), line('other', 6 * 60_000 + 1)].join('\n')}\n`,
      );
      const result = await cliAsync([
        'microbatch',
        '--from',
        landing,
        '--once',
        '--no-land',
        '--alerts',
        path.join(dir, 'a.ndjson'),
        '--redis-url',
        redisServer.url,
        '--flag-ttl',
        '120',
        '--lake',
        path.join(dir, 'lake'),
      ]);
      expect(result.status, result.stderr).toBe(0);
      await firstMessage; // pub/sub delivery is asynchronous: wait for it, not for a fixed time
      expect(received.map((m) => JSON.parse(m).rule)).toEqual(['events_per_minute']);
      const flag = JSON.parse((await reader.get('shopstream:fraud:user:r'))!);
      expect(flag).toMatchObject({ rule: 'events_per_minute' });
      const ttl = await reader.ttl('shopstream:fraud:user:r');
      // set with --flag-ttl 120; how much of it is left depends on the machine's speed
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(120);
      const down = await cliAsync([
        'microbatch',
        '--from',
        landing,
        '--once',
        '--redis-url',
        'redis://127.0.0.1:1',
        '--lake',
        path.join(dir, 'lake'),
      ]);
      expect(down.status).toBe(69);
    } finally {
      subscriber.disconnect();
      reader.disconnect();
      await redisServer.stop();
    }
  });

  it('reads NDJSON from stdin until EOF with --once', async () => {
    const dir = tempDir('mb-stdin');
    const child = spawn(process.execPath, [
      BIN,
      'microbatch',
      '--from',
      '-',
      '--once',
      '--no-land',
      '--lake',
      path.join(dir, 'lake'),
    ]);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stdin.end(`${[...burst('s', 120), line('other', 6 * 60_000 + 1)].join('\n')}\n`);
    const code = await new Promise((r) => child.on('exit', r));
    expect(code).toBe(0);
    expect(out).toContain('"rule":"events_per_minute"');
  });
});

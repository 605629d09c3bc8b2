import { spawn } from 'node:child_process';
import { createReadStream, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userFlagKey } from '../../src/stream/redis-sink.js';
import { BIN, cliAsync, tempDir } from '../helpers/cli.js';
import { startTestRedis, type TestRedis } from '../helpers/redis-server.js';

const T0 = Date.parse('2026-11-20T10:00:00Z');
const BOT_UA = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
const event = (id: string, user: string, offsetMs: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    event_id: id,
    event_type: 'page_view',
    user_id: user,
    timestamp: new Date(T0 + offsetMs).toISOString(),
    ip: '10.0.0.1',
    ...extra,
  });
/** n events over an hour for 1,000 users, one bot user among them. */
const backlog = (n: number) => {
  const lines: string[] = [];
  for (let i = 0; i < n; i++)
    lines.push(
      event(
        `b${i}`,
        `u${i % 1000}`,
        Math.floor((i * 3_600_000) / n),
        i % 1000 === 7 ? { user_agent: BOT_UA } : {},
      ),
    );
  return `${lines.join('\n')}\n`;
};

interface LiveAlert {
  alertId: string;
  rule: string;
  userId: string;
  windowStart: string | null;
  evidence: Record<string, unknown>;
  eventId: string | null;
  arrivedAt: string;
  emittedAt: string;
  latencyMs: number;
}

/** Runs the CLI with `input` piped to stdin (a file streamed in, or text); stdout and stderr as text. */
function runWithStdin(args: string[], input: { file?: string; text?: string }) {
  return new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: tempDir('mb-live-cwd') });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ status: code ?? -1, stdout, stderr }));
    if (input.file) createReadStream(input.file).pipe(child.stdin);
    else child.stdin.end(input.text ?? '');
  });
}

const summaryOf = (stderr: string) =>
  JSON.parse(
    stderr
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{"batches"'))
      .at(-1) ?? 'null',
  ) as { events: number; alerts: number; rejected: number } | null;

describe('microbatch live mode', () => {
  it('takes a 200,000-line backlog from stdin; --json keeps stdout pure NDJSON alerts', async () => {
    const dir = tempDir('mb-backlog-stdin');
    const file = path.join(dir, 'backlog.ndjson');
    writeFileSync(file, backlog(200_000));
    const run = await runWithStdin(
      ['microbatch', '--from', '-', '--no-land', '--lake', path.join(dir, 'lake'), '--json'],
      {
        file,
      },
    );
    expect(run.status, run.stderr).toBe(0);
    const summary = summaryOf(run.stderr);
    expect(summary).toMatchObject({ events: 200_000, rejected: 0 });
    // every stdout line is one alert: the summary went to stderr
    const lines = run.stdout.trim().split('\n');
    const alerts = lines.map((l) => JSON.parse(l) as LiveAlert);
    expect(alerts.every((a) => typeof a.alertId === 'string' && typeof a.rule === 'string')).toBe(true);
    expect(alerts).toHaveLength(summary!.alerts);
    // the bot user: one alert per minute window of the hour, not one per event
    const bot = alerts.filter((a) => a.rule === 'bot_user_agent');
    expect(bot).toHaveLength(60);
    expect(new Set(bot.map((a) => a.userId))).toEqual(new Set(['u7']));
  }, 180_000);

  it('takes a 200,000-line file from the landing directory', async () => {
    const dir = tempDir('mb-backlog-dir');
    const landing = path.join(dir, 'landing');
    mkdirSync(landing);
    writeFileSync(path.join(landing, 'big.ndjson'), backlog(200_000));
    const run = await cliAsync([
      'microbatch',
      '--from',
      landing,
      '--once',
      '--no-land',
      '--alerts',
      path.join(dir, 'alerts.ndjson'),
      '--lake',
      path.join(dir, 'lake'),
      '--json',
    ]);
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ filesPicked: 1, events: 200_000 });
  }, 180_000);

  it('bot_user_agent: one alert per user and window, the user agent in its evidence', async () => {
    const dir = tempDir('mb-bot');
    const lines = [
      ...Array.from({ length: 50 }, (_, i) => event(`x${i}`, 'bot', i * 1000, { user_agent: BOT_UA })),
      ...Array.from({ length: 10 }, (_, i) =>
        event(`y${i}`, 'bot', 60_000 + i * 1000, { user_agent: BOT_UA }),
      ),
      event('h1', 'human', 0, {
        user_agent: 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0',
      }),
    ];
    const run = await runWithStdin(
      ['microbatch', '--from', '-', '--no-land', '--lake', path.join(dir, 'lake')],
      {
        text: `${lines.join('\n')}\n`,
      },
    );
    expect(run.status, run.stderr).toBe(0);
    const alerts = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as LiveAlert);
    expect(alerts.map((a) => [a.rule, a.userId, a.windowStart, a.evidence.user_agent, a.eventId])).toEqual([
      ['bot_user_agent', 'bot', '2026-11-20T10:00:00.000Z', BOT_UA, 'x0'],
      ['bot_user_agent', 'bot', '2026-11-20T10:01:00.000Z', BOT_UA, 'y0'],
    ]);
  }, 120_000);

  describe('Redis', () => {
    let redis: TestRedis;
    beforeAll(async () => {
      redis = await startTestRedis();
    });
    afterAll(async () => {
      await redis?.stop();
    });

    it('the per-user flag keeps every active rule of the user, not just the last', async () => {
      const dir = tempDir('mb-redis');
      const lines = [
        event('r1', 'multi', 0, { user_agent: BOT_UA }),
        event('r2', 'multi', 1000, {
          event_type: 'add_to_cart',
          properties: { quantity: 80, cart_value: 25_000 },
        }),
        event('r3', 'other', 2000, { properties: { quantity: 70 } }),
      ];
      const run = await runWithStdin(
        [
          'microbatch',
          '--from',
          '-',
          '--no-land',
          '--lake',
          path.join(dir, 'lake'),
          '--redis-url',
          redis.url,
        ],
        { text: `${lines.join('\n')}\n` },
      );
      expect(run.status, run.stderr).toBe(0);
      const client = new Redis(redis.url);
      try {
        const flag = JSON.parse((await client.get(userFlagKey('multi'))) ?? 'null') as {
          userId: string;
          rules: Record<string, { alertId: string; expiresAt: number; evidence: Record<string, unknown> }>;
        };
        expect(flag.userId).toBe('multi');
        expect(Object.keys(flag.rules).sort()).toEqual([
          'bot_user_agent',
          'high_cart_value',
          'high_quantity',
        ]);
        expect(flag.rules.bot_user_agent?.evidence.user_agent).toBe(BOT_UA);
        expect(flag.rules.high_quantity?.evidence.quantity).toBe(80);
        expect(await client.pttl(userFlagKey('multi'))).toBeGreaterThan(0);
        const other = JSON.parse((await client.get(userFlagKey('other'))) ?? 'null');
        expect(Object.keys(other.rules)).toEqual(['high_quantity']);
      } finally {
        client.disconnect();
      }
    }, 120_000);
  });

  it('measures latency per event from its arrival on the pipe, the wait for the batch included', async () => {
    const dir = tempDir('mb-latency');
    // a long interval: an event waits for the next batch, and that wait must be in its latency
    const child = spawn(
      process.execPath,
      [
        BIN,
        'microbatch',
        '--from',
        '-',
        '--no-land',
        '--interval',
        '2',
        '--metrics',
        '--lake',
        path.join(dir, 'lake'),
      ],
      { cwd: dir },
    );
    const alerts: LiveAlert[] = [];
    const metrics: {
      events: number;
      batchLatencyMs: number;
      arrivalLagMs: number | null;
      alertLatencyMaxMs: number | null;
    }[] = [];
    createInterface({ input: child.stdout }).on('line', (l) => alerts.push(JSON.parse(l)));
    createInterface({ input: child.stderr }).on('line', (l) => {
      if (l.startsWith('{"metric"')) metrics.push(JSON.parse(l));
    });
    const writtenAt: number[] = [];
    for (let i = 0; i < 3; i++) {
      // wait until the previous event's alert is out, so each event waits for a batch of its own
      while (alerts.length < i) await new Promise((r) => setTimeout(r, 20));
      writtenAt.push(Date.now());
      child.stdin.write(`${event(`l${i}`, `lat${i}`, i * 1000, { properties: { quantity: 99 } })}\n`);
    }
    while (alerts.length < 3) await new Promise((r) => setTimeout(r, 20));
    child.stdin.end();
    await new Promise((r) => child.on('close', r));
    alerts.forEach((alert, i) => {
      expect(alert.eventId).toBe(`l${i}`);
      // arrival is stamped when the line is read off the pipe: not before it was written
      expect(Date.parse(alert.arrivedAt)).toBeGreaterThanOrEqual(writtenAt[i]!);
      expect(alert.latencyMs).toBe(Date.parse(alert.emittedAt) - Date.parse(alert.arrivedAt));
    });
    // per batch: from its oldest arrival (before the batch started) to its alerts out
    const withEvents = metrics.filter((m) => m.events > 0);
    expect(withEvents).toHaveLength(3);
    for (const m of withEvents) {
      expect(m.arrivalLagMs).toBeGreaterThanOrEqual(m.batchLatencyMs);
      expect(m.alertLatencyMaxMs).toBeLessThanOrEqual(m.arrivalLagMs!);
    }
  }, 120_000);

  it('spools under <lake>/_shopstream/microbatch/spool (owner-only), deletes what it landed, lands the arrival lag', async () => {
    const dir = tempDir('mb-spool');
    const lake = path.join(dir, 'lake');
    const run = await runWithStdin(['microbatch', '--from', '-', '--land-every', '0', '--lake', lake], {
      text: `${event('s1', 'sp', 0)}\n${event('s2', 'sp', 1000)}\nnot json\n`,
    });
    expect(run.status, run.stderr).toBe(0);
    const spool = path.join(lake, '_shopstream', 'microbatch', 'spool');
    expect(statSync(spool).mode & 0o777).toBe(0o700);
    expect(readdirSync(spool)).toEqual([]);
    const landed = await cliAsync([
      'query',
      'SELECT (SELECT count(*) FROM raw_events)::INT AS good, (SELECT count(*) FROM quarantine)::INT AS bad',
      '--lake',
      lake,
      '--json',
    ]);
    expect(JSON.parse(landed.stdout).rows).toEqual([{ good: 2, bad: 1 }]);
    // the landed batch metrics carry the arrival lag (what `slo` reads as latency), the wait included
    const metrics = await cliAsync([
      'query',
      'SELECT count(*)::INT AS n, bool_and(arrival_lag_ms >= batch_latency_ms) AS wait_included FROM metrics_microbatch WHERE events > 0',
      '--lake',
      lake,
      '--json',
    ]);
    expect(JSON.parse(metrics.stdout).rows).toEqual([{ n: 1, wait_included: true }]);
  }, 120_000);
});

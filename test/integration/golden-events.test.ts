import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDb } from '../../src/engine/duckdb.js';
import { loadSql } from '../../src/engine/sql-files.js';
import { ingest } from '../../src/ingest/ingest.js';
import { Lake } from '../../src/lake/table/lake.js';
import { LocalStore } from '../../src/storage/local-store.js';
import { type BatchLine, EventNormalizer } from '../../src/stream/normalize.js';
import { classifyUserAgents } from '../../src/transforms/bot-user-agents.js';
import { installCurrencyRates } from '../../src/transforms/currency-rates.js';
import { cliAsync, fixture, tempDir } from '../helpers/cli.js';

/**
 * One event model: fixtures/golden/events.ndjson through the batch path (ingest into a lake, read
 * raw_events and quarantine) and through the micro-batch normalizer must give the same values, field
 * by field, as fixtures/golden/events.expected.json, and refuse the same lines with the same reasons.
 */
const SOURCE = fixture('golden', 'events.ndjson');
const NOW = new Date('2026-11-24T12:00:00Z');
const LIMITS = { maxFutureHours: 24, minEventDate: '2000-01-01' };

interface ExpectedGood {
  line: number;
  event_id: string;
  event_type: string;
  user_id: string;
  event_time: string;
  received_at: string | null;
  ip: string | null;
  quantity: number | null;
  price: number | null;
  cart_value: number | null;
  amount: number | null;
  currency: string | null;
  value: number;
  is_bot: boolean;
}
type Expected = ExpectedGood | { line: number; quarantined: string };

// each entry names its case (for readers); the rest are the normalized values
const expected = (
  JSON.parse(readFileSync(fixture('golden', 'events.expected.json'), 'utf8')) as (Expected & {
    case: string;
  })[]
).map(({ case: _, ...e }) => e as Expected);
const good = expected.filter((e): e is ExpectedGood => 'event_id' in e);
const bad = expected.filter((e): e is { line: number; quarantined: string } => 'quarantined' in e);
const goldenLines = (source: string): BatchLine[] =>
  readFileSync(SOURCE, 'utf8')
    .split('\n')
    .slice(0, -1)
    .map((raw, i) => ({ source, line: i + 1, raw, arrivedAt: 0 }));
const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
const iso = (ms: unknown) => (ms === null || ms === undefined ? null : new Date(Number(ms)).toISOString());

describe('golden events: batch ingest and micro-batch agree value by value', () => {
  let db: DuckDb;
  let normalizer: EventNormalizer;
  let batchRows: Record<string, unknown>[];
  let batchBad: Record<string, unknown>[];

  beforeAll(async () => {
    const dir = tempDir('golden');
    db = await DuckDb.open();
    const lake = new Lake(new LocalStore(path.join(dir, 'lake')), db);
    await ingest(lake, { ...LIMITS, maxBadRatio: 1, sources: [SOURCE], now: NOW });
    for (const name of await lake.tableNames()) await lake.table(name).register(name);
    await db.run(loadSql('macros/event_value'));
    // value = the marts' own stg_events model over the landed events: the value at risk in the
    // reporting currency (USD, no rates file), 0 when unconverted, as fraud_user_minute sums it
    await installCurrencyRates(db, { default: 'USD' });
    await db.run('CREATE TEMP VIEW scoped_raw_events AS SELECT * FROM raw_events');
    await classifyUserAgents(db, 'scoped_raw_events');
    await db.run(
      `CREATE TEMP TABLE stg_user_agents AS ${loadSql('staging/stg_user_agents').replace(/^(\s*--.*\n)*/, '')}`,
    );
    await db.run(
      `CREATE TEMP TABLE stg_events AS ${loadSql('staging/stg_events').replace(/^(\s*--.*\n)*/, '')}`,
      {
        default_currency: 'USD',
        reporting_currency: 'USD',
        convert_currencies: 'false',
        session_timeout_minutes: '30',
      },
    );
    batchRows = await db.all(
      `SELECT r.*, epoch_ms(r.event_time) AS event_time_ms, epoch_ms(r.received_at) AS received_at_ms,
              coalesce(s.reporting_value, 0) AS value
       FROM raw_events AS r JOIN stg_events AS s USING (event_id) ORDER BY r.source_line`,
    );
    batchBad = await db.all(
      'SELECT source_file, source_line, error_field, error_reason FROM quarantine ORDER BY source_line',
    );
    normalizer = await EventNormalizer.open(LIMITS);
  }, 60_000);
  afterAll(() => {
    normalizer?.close();
    db?.close();
  });

  it('batch ingest lands the expected values', () => {
    expect(
      batchRows.map((r) => ({
        line: Number(r.source_line),
        event_id: r.event_id,
        event_type: r.event_type,
        user_id: r.user_id,
        event_time: iso(r.event_time_ms),
        received_at: iso(r.received_at_ms),
        ip: r.ip,
        quantity: num(r.quantity),
        price: num(r.price),
        cart_value: num(r.cart_value),
        amount: num(r.amount),
        currency: r.currency,
        value: Number(r.value),
      })),
    ).toEqual(good.map(({ is_bot: _, ...e }) => e));
    expect(batchBad.map((b) => ({ line: Number(b.source_line), quarantined: b.error_field }))).toEqual(bad);
  });

  it('the micro-batch normalizer gives the same events, values and refusals', async () => {
    const { events, rejected } = await normalizer.normalize(goldenLines(SOURCE), NOW);
    expect(
      events.map((e) => ({
        event_id: e.eventId,
        event_type: e.eventType,
        user_id: e.userId,
        event_time: new Date(e.eventTime).toISOString(),
        ip: e.ip,
        quantity: e.quantity,
        cart_value: e.cartValue,
        currency: e.currency,
        value: e.value,
        is_bot: e.isBot,
      })),
    ).toEqual(
      good.map((e) => ({
        event_id: e.event_id,
        event_type: e.event_type,
        user_id: e.user_id,
        event_time: e.event_time,
        ip: e.ip,
        quantity: e.quantity,
        cart_value: e.cart_value,
        currency: e.currency,
        value: e.value,
        is_bot: e.is_bot,
      })),
    );
    // the same lines refused, with the same field and the same reason text as the quarantine
    expect(
      rejected.map((r) => ({ line: r.line, field: r.field, reason: r.reason, source: r.source })),
    ).toEqual(
      batchBad.map((b) => ({
        line: Number(b.source_line),
        field: b.error_field,
        reason: b.error_reason,
        source: b.source_file,
      })),
    );
  });

  it('every staged column of every line equals what ingest landed', async () => {
    const staged = await normalizer.stage(goldenLines(SOURCE), NOW);
    const columns = [
      'event_id',
      'event_type',
      'user_id',
      'session_id',
      'event_time',
      'received_at',
      'ip',
      'user_agent',
      'page_url',
      'referrer',
      'product_id',
      'category',
      'quantity',
      'price',
      'cart_value',
      'order_id',
      'amount',
      'currency',
      'source_line',
    ];
    const pick = (row: Record<string, unknown>) =>
      Object.fromEntries(columns.map((c) => [c, row[c] === null ? null : String(row[c])]));
    expect(staged.filter((r) => r.error_field === null).map(pick)).toEqual(batchRows.map(pick));
  });

  it('live alerts carry the marts’ fraud values (price x quantity purchase = value_per_minute)', async () => {
    const dir = tempDir('golden-live');
    const landing = path.join(dir, 'landing');
    mkdirSync(landing);
    const lake = path.join(dir, 'lake');
    const alerts = path.join(dir, 'alerts.ndjson');
    writeFileSync(path.join(landing, '1.ndjson'), readFileSync(SOURCE));
    // moves the watermark past 10:01, so the 10:00 windows are due
    writeFileSync(
      path.join(landing, '2.ndjson'),
      `${JSON.stringify({ event_id: 'gw', event_type: 'page_view', user_id: 'u_wm', timestamp: '2026-11-20T10:06:30Z' })}\n`,
    );
    const run = await cliAsync([
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
    ]);
    expect(run.status, run.stderr).toBe(0);
    const live = readFileSync(alerts, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { rule: string; userId: string; evidence: Record<string, unknown> });
    expect(live.map((a) => `${a.rule}:${a.userId}`).sort()).toEqual([
      'bot_user_agent:u_bot',
      'high_quantity:u_bot',
      'value_per_minute:u_pxq',
    ]);
    expect(live.find((a) => a.rule === 'value_per_minute')?.evidence.total_value).toBe(60_000);

    // the marts over the same events (landed by the micro-batch itself) flag the same minute, same value
    const marts = await cliAsync(['build-marts', '--lake', lake, '--warn-only']);
    expect(marts.status, marts.stderr).toBe(0);
    const minute = await cliAsync([
      'query',
      'SELECT user_id, CAST(total_value AS DOUBLE) AS total_value, reasons FROM fraud_user_minute WHERE is_flagged',
      '--lake',
      lake,
      '--json',
    ]);
    expect(JSON.parse(minute.stdout).rows).toEqual([
      { user_id: 'u_pxq', total_value: 60_000, reasons: ['value_per_minute'] },
    ]);
    // and the micro-batch landed the golden file's good events and quarantined its bad lines
    const landed = await cliAsync([
      'query',
      'SELECT (SELECT count(*) FROM raw_events)::INT AS good, (SELECT count(*) FROM quarantine)::INT AS bad',
      '--lake',
      lake,
      '--json',
    ]);
    expect(JSON.parse(landed.stdout).rows).toEqual([{ good: good.length + 1, bad: bad.length }]);
  }, 180_000);
});

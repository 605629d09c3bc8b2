import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DuckDb } from '../../src/engine/duckdb.js';
import { ingest } from '../../src/ingest/ingest.js';
import { Lake } from '../../src/lake/table/lake.js';
import { LocalStore } from '../../src/storage/local-store.js';
import { fixture, tempDir } from '../helpers/cli.js';
import { testIngestOptions } from '../helpers/ingest-workspace.js';

const NOW = new Date('2026-11-24T12:00:00Z');
const base = testIngestOptions(NOW);

describe('ingest', () => {
  let dir: string;
  let db: DuckDb;
  let lake: Lake;

  beforeEach(async () => {
    dir = tempDir('ingest');
    db = await DuckDb.open();
    lake = new Lake(new LocalStore(path.join(dir, 'lake')), db);
  });
  afterEach(() => db.close());

  const rows = async (sql: string) => {
    for (const name of await lake.tableNames()) await lake.table(name).register(name);
    return db.all<Record<string, unknown>>(sql);
  };

  it('lands good records partitioned by event time and quarantines each bad one with file, line, field and reason', async () => {
    const source = fixture('ingest', 'mixed.ndjson');
    const summary = await ingest(lake, { ...base, sources: [source] });
    expect(summary).toMatchObject({ read: 11, written: 4, duplicates: 1, quarantined: 6 });
    expect(summary.qualityRatio).toBeCloseTo(5 / 11);

    const good = await rows(
      'SELECT event_id, CAST(dt AS VARCHAR) AS dt, hour, source_line FROM raw_events ORDER BY event_id',
    );
    expect(good).toEqual([
      { event_id: 'm1', dt: '2026-11-20', hour: 23, source_line: '1' },
      { event_id: 'm2', dt: '2026-11-21', hour: 0, source_line: '2' },
      { event_id: 'm3', dt: '2026-11-21', hour: 0, source_line: '3' },
      // +02:00 converted to UTC; a late event lands in its own older partition.
      { event_id: 'm9', dt: '2026-11-19', hour: 6, source_line: '12' },
    ]);

    const bad = await rows(
      'SELECT source_file, source_line, error_field, error_reason, raw FROM quarantine ORDER BY source_line',
    );
    const lines = readFileSync(source, 'utf8').split('\n');
    expect(bad.map((b) => [Number(b.source_line), b.error_field])).toEqual([
      [4, 'properties.quantity'],
      [5, 'user_id'],
      [6, 'timestamp'],
      [7, 'record'],
      [8, 'record'],
      [11, 'timestamp'],
    ]);
    for (const b of bad) {
      expect(b.source_file).toBe(source);
      expect(b.raw).toBe(lines[Number(b.source_line) - 1]);
      expect(String(b.error_reason).length).toBeGreaterThan(5);
    }
  });

  it('reads CSV and gzip sources and types their fields', async () => {
    const gz = path.join(dir, 'events.ndjson.gz');
    writeFileSync(gz, gzipSync(readFileSync(fixture('demo', 'events.ndjson'))));
    const summary = await ingest(lake, { ...base, sources: [fixture('ingest', 'events.csv'), gz] });
    expect(summary).toMatchObject({ read: 12, written: 11, quarantined: 1 });
    const csv = await rows(
      "SELECT event_id, quantity, CAST(price AS VARCHAR) AS price, user_agent FROM raw_events WHERE event_id LIKE 'c%' ORDER BY 1",
    );
    expect(csv).toEqual([
      { event_id: 'c1', quantity: null, price: '25.00', user_agent: 'Mozilla/5.0 (X11; Linux x86_64)' },
      { event_id: 'c2', quantity: 3, price: '25.00', user_agent: 'Mozilla/5.0 (X11; Linux x86_64)' },
      { event_id: 'c3', quantity: 3, price: '25.00', user_agent: 'Mozilla/5.0, "quoted" agent' },
    ]);
    const [cart] = await rows(
      "SELECT CAST(cart_value AS VARCHAR) AS v FROM raw_events WHERE user_id = 'usr_suspicious' AND event_type = 'add_to_cart'",
    );
    expect(cart).toEqual({ v: '79999.00' });
  });

  it('is idempotent: re-ingesting the same files lands nothing and adds no version', async () => {
    const first = await ingest(lake, { ...base, sources: [fixture('demo', 'events.ndjson')] });
    expect(first.written).toBe(8);
    const before = await lake.table('raw_events').log.latestVersion();
    const again = await ingest(lake, { ...base, sources: [fixture('demo', 'events.ndjson')] });
    expect(again).toMatchObject({ written: 0, files: { alreadyIngested: 1, ingested: 0 } });
    expect(await lake.table('raw_events').log.latestVersion()).toBe(before);
    // A copy under another name: re-read, every event dropped as a duplicate, nothing landed twice.
    const copy = path.join(dir, 'renamed.ndjson');
    copyFileSync(fixture('demo', 'events.ndjson'), copy);
    const renamed = await ingest(lake, { ...base, sources: [copy] });
    expect(renamed).toMatchObject({ read: 8, written: 0, duplicates: 8 });
    expect(await rows('SELECT count(*)::INT AS n FROM raw_events')).toEqual([{ n: 8 }]);
  });

  it('with the content fingerprint, skips a renamed copy without reading it', async () => {
    await ingest(lake, { ...base, fingerprint: 'content', sources: [fixture('demo', 'events.ndjson')] });
    const before = await lake.table('raw_events').log.latestVersion();
    const copy = path.join(dir, 'renamed.ndjson');
    copyFileSync(fixture('demo', 'events.ndjson'), copy);
    const renamed = await ingest(lake, { ...base, fingerprint: 'content', sources: [copy] });
    expect(renamed).toMatchObject({ read: 0, written: 0, files: { alreadyIngested: 1 } });
    expect(await lake.table('raw_events').log.latestVersion()).toBe(before);
  });

  it('drops events whose event_id the target partitions already hold', async () => {
    await ingest(lake, { ...base, sources: [fixture('demo', 'events.ndjson')] });
    const resent = path.join(dir, 'resent.ndjson');
    const lines = readFileSync(fixture('demo', 'events.ndjson'), 'utf8').trim().split('\n');
    const extra = lines[0]!.replace('evt_001', 'evt_100');
    writeFileSync(resent, `${lines[0]}\n${lines[1]}\n${extra}\n`);
    const summary = await ingest(lake, { ...base, sources: [resent] });
    expect(summary).toMatchObject({ read: 3, written: 1, duplicates: 2 });
    expect(
      await rows('SELECT count(*)::INT AS n, count(DISTINCT event_id)::INT AS d FROM raw_events'),
    ).toEqual([{ n: 9, d: 9 }]);
  });

  it('completes exactly once when a crash hit between the quarantine and raw_events commits', async () => {
    const source = fixture('ingest', 'mixed.ndjson');
    await ingest(lake, { ...base, sources: [source] });
    // Simulate the crash: roll raw_events back to before its commit by deleting the commit file.
    const { rmSync } = await import('node:fs');
    rmSync(path.join(dir, 'lake', 'raw_events', '_delta_log', '00000000000000000001.json'));
    const rerun = await ingest(lake, { ...base, sources: [source] });
    expect(rerun.written).toBe(4);
    expect(rerun.quarantineVersion).toBeNull();
    expect(await rows('SELECT count(*)::INT AS n FROM quarantine')).toEqual([{ n: 6 }]);
    expect(await rows('SELECT count(*)::INT AS n FROM raw_events')).toEqual([{ n: 4 }]);
  });

  it('flags a bad ratio above the maximum but still lands the good records', async () => {
    const summary = await ingest(lake, {
      ...base,
      maxBadRatio: 0.01,
      sources: [fixture('ingest', 'mixed.ndjson')],
    });
    expect(summary.badRatioExceeded).toBe(true);
    expect(summary.quarantineSamples[0]).toMatchObject({ line: 4, field: 'properties.quantity' });
    expect(await rows('SELECT count(*)::INT AS n FROM raw_events')).toEqual([{ n: 4 }]);
  });

  it('names a missing source', async () => {
    await expect(ingest(lake, { ...base, sources: [path.join(dir, 'nope.ndjson')] })).rejects.toMatchObject({
      code: 'SOURCE_NOT_FOUND',
      exitCode: 65,
    });
  });
});

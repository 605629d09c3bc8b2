import { createHmac } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, fixture, tempDir } from '../helpers/cli.js';

describe('shopstream CLI (built, as a user runs it)', () => {
  it('demo prints the seed scenario PIPELINE RESULTS', () => {
    const result = cli(['demo']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('PIPELINE RESULTS');
    expect(result.stdout).toMatch(/Events processed:\s+8/);
    expect(result.stdout).toMatch(/Anomalies detected:\s+1 \(usr_suspicious\)/);
    expect(result.stdout).toMatch(/Fraud value flagged:\s+\$79,999\.00/);
    expect(result.stdout).toMatch(/Conversion view->cart: 40\.0%/);
  });

  it('demo --json gives the same figures to scripts', () => {
    const result = cli(['demo', '--json']);
    expect(result.status, result.stderr).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json).toMatchObject({
      eventsProcessed: 8,
      anomaliesDetected: 1,
      anomalousUsers: ['usr_suspicious'],
      fraudValueFlagged: 79999,
      viewToCartRate: 0.4,
    });
  });

  it('ingest → query → table list/history/show on a lake given by flag, env or config file', () => {
    const dir = tempDir('e2e');
    const lake = path.join(dir, 'lake');
    const ingest = cli(['ingest', fixture('demo', 'events.ndjson'), '--lake', lake, '--json']);
    expect(ingest.status, ingest.stderr).toBe(0);
    expect(JSON.parse(ingest.stdout)).toMatchObject({
      read: 8,
      written: 8,
      quarantined: 0,
      rawEventsVersion: 1,
    });

    const viaEnv = cli(['query', 'SELECT count(*)::INT AS n FROM raw_events', '--json'], {
      env: { SHOPSTREAM_LAKE: lake },
    });
    expect(JSON.parse(viaEnv.stdout).rows).toEqual([{ n: 8 }]);

    writeFileSync(path.join(dir, 'shopstream.config.json'), JSON.stringify({ lake }));
    const viaFile = cli(['query', 'SELECT user_id FROM raw_events WHERE cart_value > 10000', '--csv'], {
      cwd: dir,
    });
    expect(viaFile.stdout.trim()).toBe('user_id\nusr_suspicious');

    const asOf = cli([
      'query',
      'SELECT count(*)::INT AS n FROM raw_events',
      '--as-of',
      '0',
      '--json',
      '--lake',
      lake,
    ]);
    expect(JSON.parse(asOf.stdout).rows).toEqual([{ n: 0 }]);

    const list = JSON.parse(cli(['table', 'list', '--json', '--lake', lake]).stdout);
    expect(list.map((t: { name: string }) => t.name)).toEqual([
      'audit_log',
      'pipeline_runs',
      'quarantine',
      'raw_events',
    ]);
    const history = JSON.parse(cli(['table', 'history', 'raw_events', '--json', '--lake', lake]).stdout);
    expect(history.map((h: { version: number }) => h.version)).toEqual([1, 0]);
    const show = JSON.parse(cli(['table', 'show', 'raw_events', '--json', '--lake', lake]).stdout);
    expect(show).toMatchObject({
      version: 1,
      rows: 8,
      partitionColumns: ['dt', 'hour'],
      protocol: { minReaderVersion: 1, minWriterVersion: 2 },
    });
  });

  it('exits 65 when too many records are bad, naming file, line and field, after landing the good ones', () => {
    const lake = path.join(tempDir('e2e-bad'), 'lake');
    const result = cli(['ingest', fixture('ingest', 'mixed.ndjson'), '--lake', lake]);
    expect(result.status).toBe(65);
    expect(result.stderr).toMatch(/mixed\.ndjson:4 field properties\.quantity/);
    const count = cli(['query', 'SELECT count(*)::INT AS n FROM raw_events', '--json', '--lake', lake]);
    expect(JSON.parse(count.stdout).rows).toEqual([{ n: 4 }]);
    expect(
      cli(['ingest', fixture('ingest', 'mixed.ndjson'), '--lake', lake, '--max-bad-ratio', '0.9']).status,
    ).toBe(0);
  });

  it('uses distinct exit codes: usage 64, bad data 65, config 78', () => {
    expect(cli(['query']).status).toBe(64);
    const badSql = cli(['query', 'SELEC 1', '--lake', path.join(tempDir('e2e-sql'), 'lake')]);
    expect(badSql.status).toBe(64);
    expect(badSql.stderr).toMatch(/SQL_ERROR.*syntax error/);
    expect(cli(['ingest', '--no-such-flag', 'x']).status).toBe(64);
    const missing = cli([
      'ingest',
      '/definitely/not/here.ndjson',
      '--lake',
      path.join(tempDir('e2e-missing'), 'lake'),
    ]);
    expect(missing.status).toBe(65);
    expect(missing.stderr).toContain('/definitely/not/here.ndjson');
    const dir = tempDir('e2e-config');
    writeFileSync(path.join(dir, 'shopstream.config.json'), '{"lake": 42}');
    const bad = cli(['table', 'list', '--json'], { cwd: dir });
    expect(bad.status).toBe(78);
    expect(JSON.parse(bad.stderr).error.message).toMatch(/lake/);
    expect(cli(['table', 'list'], { env: { SHOPSTREAM_MAX_BAD_RATIO: 'lots' } }).status).toBe(78);
  });

  it('build-marts builds every mart, then changes nothing when no raw data is new', () => {
    const lake = path.join(tempDir('e2e-marts'), 'lake');
    expect(cli(['build-marts', '--lake', lake]).status).toBe(65); // no raw_events yet
    expect(cli(['ingest', fixture('demo', 'events.ndjson'), '--lake', lake]).status).toBe(0);
    const first = cli(['build-marts', '--lake', lake, '--json']);
    expect(first.status, first.stderr).toBe(0);
    const summary = JSON.parse(first.stdout);
    expect(summary.mode).toBe('full');
    expect(summary.marts.map((m: { name: string }) => m.name).sort()).toEqual([
      'conversion_daily',
      'customer_ltv',
      'fraud_flags',
      'fraud_user_minute',
      'metrics_minute',
      'sessions',
    ]);
    expect(summary.quality).toMatchObject({ passed: true, qualityRatio: 1 });
    const again = JSON.parse(cli(['build-marts', '--lake', lake, '--json']).stdout);
    expect(again.mode).toBe('up-to-date');
    expect(again.marts.every((m: { version: number | null }) => m.version === null)).toBe(true);
    const conversion = JSON.parse(
      cli([
        'query',
        "SELECT view_to_cart_rate FROM conversion_daily WHERE device = 'all'",
        '--json',
        '--lake',
        lake,
      ]).stdout,
    );
    expect(conversion.rows).toEqual([{ view_to_cart_rate: 0.4 }]);
  });

  it('load puts the marts in the warehouse once; report runs the business queries there', () => {
    const dir = tempDir('e2e-load');
    const lake = path.join(dir, 'lake');
    const warehouse = path.join(dir, 'warehouse.duckdb');
    expect(cli(['ingest', fixture('demo', 'events.ndjson'), '--lake', lake]).status).toBe(0);
    expect(cli(['build-marts', '--lake', lake]).status).toBe(0);
    const first = JSON.parse(cli(['load', '--lake', lake, '--warehouse', warehouse, '--json']).stdout);
    expect(first.tables.map((t: { mode: string }) => t.mode)).toEqual(Array(6).fill('full'));
    const again = JSON.parse(cli(['load', '--lake', lake, '--warehouse', warehouse, '--json']).stdout);
    expect(
      again.tables.every(
        (t: { mode: string; rowsInserted: number }) => t.mode === 'up-to-date' && t.rowsInserted === 0,
      ),
    ).toBe(true);
    const clv = JSON.parse(cli(['report', 'clv', '--lake', lake, '--warehouse', warehouse, '--json']).stdout);
    // customer_ltv holds the keyed HMAC of the user id (the lake's own secret: none configured)
    const secret = readFileSync(path.join(lake, '_shopstream/secrets/pseudonym.key'), 'utf8').trim();
    const userKey = createHmac('sha256', secret).update('usr_001').digest('hex').slice(0, 32);
    expect(clv).toEqual([
      // one customer: too few to fit the CLV model, so spend to date and no prediction
      expect.objectContaining({
        user_key: userKey,
        orders: '1',
        historic_clv: '89.99',
        clv_status: 'too_few_customers',
        predicted_clv: null,
      }),
    ]);
    const conversion = JSON.parse(
      cli(['report', 'conversion', '--warehouse', warehouse, '--lake', lake, '--json']).stdout,
    );
    expect(conversion).toEqual([
      expect.objectContaining({ session_date: '2026-11-20', view_to_cart_rate: 0.4 }),
    ]);
    expect(cli(['report', 'nope', '--warehouse', warehouse]).status).toBe(64);
  });

  it('build-marts exits 65 when quality is below the SLO, 0 with --warn-only', () => {
    const dir = tempDir('e2e-quality');
    const lake = path.join(dir, 'lake');
    writeFileSync(
      path.join(dir, 'shopstream.config.json'),
      JSON.stringify({ lake, marts: { lateAfterMinutes: 0.001 } }),
    );
    expect(cli(['ingest', fixture('demo', 'events.ndjson')], { cwd: dir }).status).toBe(0);
    const failed = cli(['build-marts'], { cwd: dir });
    expect(failed.status).toBe(65);
    expect(failed.stderr).toMatch(/late_event_share \(8 of 8\)/);
    expect(cli(['build-marts', '--full-refresh', '--warn-only'], { cwd: dir }).status).toBe(0);
  });

  it('every command has --help with examples', () => {
    for (const command of [
      ['ingest'],
      ['query'],
      ['demo'],
      ['table', 'list'],
      ['table', 'history'],
      ['table', 'show'],
      ['generate'],
      ['build-marts'],
      ['table', 'optimize'],
      ['table', 'vacuum'],
      ['table', 'checkpoint'],
      ['table', 'restore'],
      ['load'],
      ['report'],
      ['warehouse', 'init'],
      ['microbatch'],
    ]) {
      const help = cli([...command, '--help']);
      expect(help.status, command.join(' ')).toBe(0);
      expect(help.stdout, command.join(' ')).toContain('EXAMPLES');
    }
  });

  it('stays quiet on stderr in a pipe (no progress bar)', () => {
    const lake = path.join(tempDir('e2e-quiet'), 'lake');
    const result = cli(['ingest', fixture('demo', 'events.ndjson'), '--lake', lake]);
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
    expect(existsSync(path.join(lake, 'raw_events', '_delta_log', '00000000000000000001.json'))).toBe(true);
  });
});

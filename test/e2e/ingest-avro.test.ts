import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, fixture, tempDir } from '../helpers/cli.js';

describe('shopstream ingest of Avro files (built CLI)', () => {
  it('lands an Avro file, adding its new optional field as a column, and refuses an incompatible one', () => {
    const lake = path.join(tempDir('e2e-avro'), 'lake');
    const ingest = cli(['ingest', fixture('avro', 'events.avro'), '--lake', lake, '--json']);
    expect(ingest.status, ingest.stderr).toBe(0);
    expect(JSON.parse(ingest.stdout)).toMatchObject({
      read: 10,
      written: 10,
      quarantined: 0,
      rawEventsVersion: 1,
      addedColumns: ['coupon_code'],
    });

    const query = cli([
      'query',
      `SELECT event_id, event_type, quantity, CAST(amount AS VARCHAR) AS amount, coupon_code,
                CAST(event_time AS VARCHAR) AS event_time
         FROM raw_events WHERE user_id = 'usr_a' ORDER BY event_id`,
      '--json',
      '--lake',
      lake,
    ]);
    expect(query.status, query.stderr).toBe(0);
    expect(JSON.parse(query.stdout).rows).toEqual([
      {
        event_id: 'avro_001',
        event_type: 'page_view',
        quantity: null,
        amount: null,
        coupon_code: null,
        event_time: '2026-11-20 10:01:00+00',
      },
      {
        event_id: 'avro_002',
        event_type: 'product_view',
        quantity: null,
        amount: null,
        coupon_code: null,
        event_time: '2026-11-20 10:02:00+00',
      },
      {
        event_id: 'avro_003',
        event_type: 'add_to_cart',
        quantity: 2,
        amount: null,
        coupon_code: null,
        event_time: '2026-11-20 10:03:00+00',
      },
      {
        event_id: 'avro_004',
        event_type: 'checkout',
        quantity: null,
        amount: null,
        coupon_code: 'SAVE10',
        event_time: '2026-11-20 10:04:00+00',
      },
      {
        event_id: 'avro_005',
        event_type: 'purchase',
        quantity: 2,
        amount: '161.98',
        coupon_code: 'SAVE10',
        event_time: '2026-11-20 10:05:00+00',
      },
    ]);

    const history = JSON.parse(cli(['table', 'history', 'raw_events', '--json', '--lake', lake]).stdout);
    expect(history[0].commitInfo.operationParameters.addedColumns).toBe('["coupon_code"]');

    const dataFiles = () =>
      ['raw_events', 'quarantine']
        .flatMap((table) => readdirSync(path.join(lake, table), { recursive: true }) as string[])
        .filter((f) => /\.(parquet|json)$/.test(f)).length;
    const before = dataFiles(); // data files and commits of the event tables
    const bad = cli(['ingest', fixture('avro', 'incompatible.avro'), '--lake', lake]);
    expect(bad.status).toBe(65);
    expect(bad.stderr).toContain(fixture('avro', 'incompatible.avro'));
    expect(bad.stderr).toContain('field quantity: type long cannot be read as int (narrowing)');
    expect(dataFiles()).toBe(before);
    const count = cli(['query', 'SELECT count(*)::INT AS n FROM raw_events', '--json', '--lake', lake]);
    expect(JSON.parse(count.stdout).rows).toEqual([{ n: 10 }]);
    const show = JSON.parse(cli(['table', 'show', 'raw_events', '--json', '--lake', lake]).stdout);
    expect(show.version).toBe(1);
  });
});

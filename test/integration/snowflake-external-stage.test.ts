import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/config-schema.js';
import { DuckDb } from '../../src/engine/duckdb.js';
import { ingest } from '../../src/ingest/ingest.js';
import { Lake } from '../../src/lake/table/lake.js';
import { S3Store } from '../../src/storage/s3-store.js';
import { buildMarts } from '../../src/transforms/build-marts.js';
import { loadWarehouse } from '../../src/warehouse/load.js';
import { SnowflakeWarehouse } from '../../src/warehouse/snowflake-warehouse.js';
import { fixture } from '../helpers/cli.js';
import { startTestS3, type TestS3 } from '../helpers/s3-server.mjs';
import { type SnowflakeEmulator, startSnowflakeEmulator } from '../helpers/snowflake-emulator.mjs';

let s3: TestS3;
let emulator: SnowflakeEmulator;
const prefix = `stage-lake-${Date.now()}`;
beforeAll(async () => {
  process.env.SNOWFLAKE_DISABLE_PLATFORM_DETECTION = 'true';
  s3 = await startTestS3();
  emulator = await startSnowflakeEmulator({
    externalStages: { LAKE_STAGE: { endpoint: s3.endpoint, bucket: s3.bucket, prefix } },
  });
});
afterAll(async () => {
  await emulator?.stop();
  await s3?.stop();
});

describe('Snowflake loads from an s3:// lake through an external stage', () => {
  it('writes load files into the lake under _shopstream/, COPYs from the stage, cleans up; no PUT', async () => {
    const db = await DuckDb.open();
    const store = new S3Store(`s3://${s3.bucket}/${prefix}`, { endpoint: s3.endpoint });
    const lake = new Lake(store, db);
    const warehouse = await SnowflakeWarehouse.open(
      lake,
      {
        account: emulator.account,
        username: emulator.user,
        password: emulator.password,
        accessUrl: emulator.accessUrl,
      },
      'load',
      'ext-run',
      { externalStage: 'LAKE_STAGE' },
    );
    try {
      await ingest(lake, {
        sources: [fixture('demo', 'events.ndjson')],
        maxBadRatio: 0,
        maxFutureHours: 24,
        minEventDate: '2000-01-01',
      });
      await buildMarts(lake, { config: ConfigSchema.parse({}).marts });
      const summary = await loadWarehouse(lake, warehouse, { includeRaw: true });
      expect(summary.tables.find((t) => t.table === 'raw_events')).toMatchObject({ rowsInserted: 8 });
      const [row] = await warehouse.query<{ n: number }>('SELECT count(*) AS n FROM sessions');
      expect(Number(row!.n)).toBe(5);
      const sent = emulator.statements.join('\n');
      expect(sent).toMatch(/COPY INTO raw_events FROM @LAKE_STAGE\/_shopstream\/snowflake\/ext-run\//);
      expect(sent).not.toMatch(/^PUT /m);
      expect(await store.list('_shopstream/snowflake/')).toEqual([]);
    } finally {
      await warehouse.close();
      db.close();
    }
  });
});

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/config-schema.js';
import { DuckDb } from '../../src/engine/duckdb.js';
import { ingest } from '../../src/ingest/ingest.js';
import { Lake } from '../../src/lake/table/lake.js';
import { LocalStore } from '../../src/storage/local-store.js';
import { buildMarts } from '../../src/transforms/build-marts.js';
import { loadWarehouse } from '../../src/warehouse/load.js';
import { openWarehouse } from '../../src/warehouse/open-warehouse.js';
import { runReport } from '../../src/warehouse/reports.js';
import { fixture, tempDir } from '../helpers/cli.js';

/**
 * Against a real Snowflake account, when SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER and a credential
 * (SNOWFLAKE_PRIVATE_KEY_PATH or SNOWFLAKE_PASSWORD), plus SNOWFLAKE_WAREHOUSE/DATABASE/SCHEMA, are
 * set. Skipped otherwise: no account is reachable from CI here.
 */
const live = Boolean(
  process.env.SNOWFLAKE_ACCOUNT && process.env.SNOWFLAKE_USER && !process.env.SNOWFLAKE_ACCESS_URL,
);
if (!live) {
  console.info(
    'snowflake-live: skipped (set SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER and credentials to run it against a real account)',
  );
}

describe.skipIf(!live)('live Snowflake account', () => {
  it('loads the demo marts and runs the business queries', async () => {
    const dir = tempDir('sf-live');
    const db = await DuckDb.open();
    const lake = new Lake(new LocalStore(path.join(dir, 'lake')), db);
    const config = ConfigSchema.parse({ warehouse: { kind: 'snowflake' } });
    const resolved = {
      ...config,
      warehouse: {
        ...config.warehouse,
        snowflake: {
          ...config.warehouse.snowflake,
          account: process.env.SNOWFLAKE_ACCOUNT,
          user: process.env.SNOWFLAKE_USER,
          password: process.env.SNOWFLAKE_PASSWORD,
          privateKeyPath: process.env.SNOWFLAKE_PRIVATE_KEY_PATH,
          warehouse: process.env.SNOWFLAKE_WAREHOUSE,
          database: process.env.SNOWFLAKE_DATABASE,
          schema: process.env.SNOWFLAKE_SCHEMA,
          role: process.env.SNOWFLAKE_ROLE,
        },
      },
    };
    await ingest(lake, {
      sources: [fixture('demo', 'events.ndjson')],
      maxBadRatio: 0,
      maxFutureHours: 24,
      minEventDate: '2000-01-01',
    });
    await buildMarts(lake, { config: config.marts, fullRefresh: true });
    const warehouse = await openWarehouse(lake, resolved as typeof config, 'test', `live-${Date.now()}`);
    try {
      await loadWarehouse(lake, warehouse, { fullRefresh: true });
      const conversion = await runReport(warehouse, 'conversion');
      expect(conversion[0]).toMatchObject({ view_to_cart_rate: 0.4 });
    } finally {
      await warehouse.close();
      db.close();
    }
  }, 300_000);
});

import { Flags } from '@oclif/core';
import { ShopstreamCommand } from '../../cli/base-command.js';
import { warehouseFlag } from '../../cli/flags.js';
import { closeLake, openLake } from '../../lake/table/open-lake.js';
import { currentRun } from '../../runtime/run-context.js';
import { type InitResult, initWarehouse } from '../../warehouse/init-warehouse.js';
import { openWarehouse } from '../../warehouse/open-warehouse.js';

export default class WarehouseInit extends ShopstreamCommand {
  static override audited = true;
  static override description =
    'Prepare the warehouse: create and load the mart tables from the lake (--include-raw: raw_events too), then apply the analyst views (sql/warehouse/) and, on Snowflake, clustering keys (sql/snowflake/).';
  static override examples = [
    '<%= config.bin %> warehouse init',
    '<%= config.bin %> warehouse init --warehouse /data/analytics.duckdb',
    'SHOPSTREAM_WAREHOUSE_KIND=snowflake <%= config.bin %> warehouse init --json',
    'SNOWFLAKE_SCHEMA=RAW <%= config.bin %> warehouse init --include-raw',
  ];
  static override flags = {
    warehouse: warehouseFlag(),
    'include-raw': Flags.boolean({ description: "Load raw_events too (keep it out of analysts' schemas)." }),
  };

  async run(): Promise<InitResult> {
    const { flags } = await this.parse(WarehouseInit);
    const config = this.resolveConfig(flags);
    const lake = await openLake(config);
    try {
      const runId = currentRun.id;
      const warehouse = await openWarehouse(lake, config, 'warehouse-init', runId);
      try {
        const result = await initWarehouse(lake, warehouse, runId, { includeRaw: flags['include-raw'] });
        if (!this.jsonEnabled()) {
          this.log(`tables: ${result.tablesLoaded.join(', ')}`);
          for (const statement of result.statements) this.log(`  ${statement}`);
        }
        return result;
      } finally {
        await warehouse.close();
      }
    } finally {
      closeLake(lake);
    }
  }
}

import { randomUUID } from 'node:crypto';
import { ShopstreamCommand } from '../../cli/base-command.js';
import { closeLake, openLake } from '../../lake/open-lake.js';
import { type InitResult, initWarehouse } from '../../warehouse/init-warehouse.js';
import { openWarehouse } from '../../warehouse/open-warehouse.js';

export default class WarehouseInit extends ShopstreamCommand {
  static override audited = true;
  static override description =
    'Prepare the warehouse: create and load the mart tables from the lake, then apply the analyst views (sql/warehouse/) and, on Snowflake, clustering keys (sql/snowflake/).';
  static override examples = [
    '<%= config.bin %> warehouse init',
    'SHOPSTREAM_WAREHOUSE_KIND=snowflake <%= config.bin %> warehouse init --json',
  ];

  async run(): Promise<InitResult> {
    const { flags } = await this.parse(WarehouseInit);
    const config = this.resolveConfig(flags);
    const lake = await openLake(config);
    try {
      const runId = randomUUID();
      const warehouse = await openWarehouse(lake, config, 'warehouse-init', runId);
      try {
        const result = await initWarehouse(lake, warehouse, runId);
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

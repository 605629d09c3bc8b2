import { Flags } from '@oclif/core';
import { ShopstreamCommand } from '../cli/base-command.js';
import { warehouseFlag } from '../cli/flags.js';
import { renderTable } from '../cli/render.js';
import { closeLake, openLake } from '../lake/table/open-lake.js';
import { currentRun } from '../runtime/run-context.js';
import { type LoadSummary, loadWarehouse } from '../warehouse/load.js';
import { openWarehouse } from '../warehouse/open-warehouse.js';

export default class Load extends ShopstreamCommand {
  static override audited = true;
  static override description =
    'Load the marts (and optionally raw_events) into the warehouse, incrementally by Delta version, exactly once.';
  static override examples = [
    '<%= config.bin %> load',
    '<%= config.bin %> load --warehouse /data/analytics.duckdb --include-raw',
    '<%= config.bin %> load --tables sessions,customer_ltv --full-refresh --json',
  ];
  static override flags = {
    warehouse: warehouseFlag(),
    tables: Flags.string({ description: 'Comma-separated tables to load (default: every mart).' }),
    'include-raw': Flags.boolean({ description: 'Load raw_events too.' }),
    'full-refresh': Flags.boolean({ description: 'Reload the tables whole.' }),
  };

  async run(): Promise<LoadSummary> {
    const { flags } = await this.parse(Load);
    const config = this.resolveConfig(flags);
    const lake = await openLake(config);
    try {
      const runId = currentRun.id;
      const warehouse = await openWarehouse(lake, config, 'load', runId);
      try {
        const summary = await loadWarehouse(lake, warehouse, {
          ...(flags.tables
            ? {
                tables: flags.tables
                  .split(',')
                  .map((t) => t.trim())
                  .filter(Boolean),
              }
            : {}),
          includeRaw: flags['include-raw'],
          fullRefresh: flags['full-refresh'],
          runId,
        });
        if (!this.jsonEnabled()) {
          this.log(
            `warehouse ${config.warehouse.kind === 'duckdb' ? config.warehouse.path : `snowflake ${config.warehouse.snowflake.account}`}`,
          );
          this.log(
            renderTable(
              summary.tables.map((t) => ({
                table: t.table,
                mode: t.mode,
                from: t.fromVersion ?? '',
                to: t.toVersion,
                inserted: t.rowsInserted,
                deleted: t.rowsDeleted,
              })),
            ),
          );
        }
        return summary;
      } finally {
        await warehouse.close();
      }
    } finally {
      closeLake(lake);
    }
  }
}

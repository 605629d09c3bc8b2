import { ShopstreamCommand } from '../../cli/base-command.js';
import { renderTable } from '../../cli/render.js';
import { closeLake, openLake } from '../../lake/table/open-lake.js';
import { listTables, type TableSummary } from '../../lake/table/table-info.js';

export default class TableList extends ShopstreamCommand {
  static override description =
    'List the tables in the lake with their latest version, files, rows and size.';
  static override examples = [
    '<%= config.bin %> table list',
    '<%= config.bin %> table list --lake s3://bucket/lake --json',
  ];

  async run(): Promise<TableSummary[]> {
    const { flags } = await this.parse(TableList);
    const lake = await openLake(this.resolveConfig(flags));
    try {
      const tables = await listTables(lake);
      if (!this.jsonEnabled()) {
        this.log(renderTable(tables.map((t) => ({ ...t, partitionColumns: t.partitionColumns.join(',') }))));
      }
      return tables;
    } finally {
      closeLake(lake);
    }
  }
}

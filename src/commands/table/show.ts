import { Args, Flags } from '@oclif/core';
import { ShopstreamCommand } from '../../cli/base-command.js';
import { renderTable } from '../../cli/render.js';
import { closeLake, openLake } from '../../lake/table/open-lake.js';
import { showTable, type TableDetail } from '../../lake/table/table-info.js';

export default class TableShow extends ShopstreamCommand {
  static override description =
    'Describe a table: location, protocol, schema, partitions with files, rows and bytes.';
  static override examples = [
    '<%= config.bin %> table show raw_events',
    '<%= config.bin %> table show raw_events --version 2 --json',
  ];
  static override args = { table: Args.string({ description: 'table name', required: true }) };
  static override flags = {
    version: Flags.integer({ description: 'Describe this version instead of the latest.', min: 0 }),
  };

  async run(): Promise<TableDetail> {
    const { args, flags } = await this.parse(TableShow);
    const lake = await openLake(this.resolveConfig(flags));
    try {
      const detail = await showTable(lake, args.table, flags.version);
      if (!this.jsonEnabled()) {
        this.log(`${detail.name} @ version ${detail.version}  (${detail.location})`);
        this.log(
          `protocol reader ${detail.protocol.minReaderVersion} / writer ${detail.protocol.minWriterVersion}; ${detail.files} files, ${detail.rows ?? '?'} rows, ${detail.bytes} bytes`,
        );
        this.log('');
        this.log(
          renderTable(
            detail.columns.map((c) => ({ ...c, partition: detail.partitionColumns.includes(c.name) })),
          ),
        );
        this.log('');
        this.log(renderTable(detail.partitions));
      }
      return detail;
    } finally {
      closeLake(lake);
    }
  }
}

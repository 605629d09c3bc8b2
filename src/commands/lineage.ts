import { Args, Flags } from '@oclif/core';
import { ShopstreamCommand } from '../cli/base-command.js';
import { type LineageNode, lineageOf, renderLineage } from '../governance/lineage.js';
import { closeLake, openLake } from '../lake/table/open-lake.js';

export default class Lineage extends ShopstreamCommand {
  static override description =
    "Show where a table's rows came from: the commits that wrote its live files, the table versions they read, back to the ingested source files.";
  static override examples = [
    '<%= config.bin %> lineage customer_ltv',
    '<%= config.bin %> lineage fraud_flags --version 4',
    '<%= config.bin %> lineage raw_events --json',
  ];
  static override args = { table: Args.string({ description: 'table name', required: true }) };
  static override flags = {
    version: Flags.integer({ description: 'Trace this version instead of the latest.', min: 0 }),
  };

  async run(): Promise<LineageNode> {
    const { args, flags } = await this.parse(Lineage);
    const lake = await openLake(this.resolveConfig(flags));
    try {
      const node = await lineageOf(lake, args.table, flags.version);
      if (!this.jsonEnabled()) for (const line of renderLineage(node)) this.log(line);
      return node;
    } finally {
      closeLake(lake);
    }
  }
}

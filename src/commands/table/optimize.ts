import { Args, Flags } from '@oclif/core';
import { ShopstreamCommand } from '../../cli/base-command.js';
import { type OptimizeResult, optimizeTable } from '../../lake/operations/optimize.js';
import { closeLake, openLake } from '../../lake/table/open-lake.js';
import { currentRun } from '../../runtime/run-context.js';

export default class TableOptimize extends ShopstreamCommand {
  static override audited = true;
  static override description =
    "Compact each partition's small files into files of about the target size (dataChange=false; concurrent appends go on).";
  static override examples = [
    '<%= config.bin %> table optimize raw_events',
    '<%= config.bin %> table optimize sessions --target-size-mb 64 --json',
  ];
  static override args = { table: Args.string({ description: 'table name', required: true }) };
  static override flags = {
    'target-size-mb': Flags.integer({ description: 'Target file size in MB.', default: 128, min: 1 }),
  };

  async run(): Promise<OptimizeResult> {
    const { args, flags } = await this.parse(TableOptimize);
    const lake = await openLake(this.resolveConfig(flags));
    try {
      const result = await optimizeTable(lake, args.table, {
        targetFileSizeBytes: flags['target-size-mb'] * 1024 * 1024,
        commitProperties: { runId: currentRun.id },
      });
      if (!this.jsonEnabled()) {
        this.log(
          result.version === null
            ? `${args.table}: nothing to compact`
            : `${args.table} version ${result.version}: ${result.filesRemoved} files -> ${result.filesAdded} in ${result.partitionsCompacted} partitions (${result.bytesBefore} -> ${result.bytesAfter} bytes)`,
        );
      }
      return result;
    } finally {
      closeLake(lake);
    }
  }
}

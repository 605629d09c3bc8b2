import { Args } from '@oclif/core';
import { ShopstreamCommand } from '../../cli/base-command.js';
import { type CheckpointResult, checkpointTable } from '../../lake/operations/checkpoint.js';
import { closeLake, openLake } from '../../lake/table/open-lake.js';

export default class TableCheckpoint extends ShopstreamCommand {
  static override audited = true;
  static override description =
    'Write a checkpoint of the latest version now (one is written every 10 commits anyway) and delete log files past delta.logRetentionDuration (30 days).';
  static override examples = [
    '<%= config.bin %> table checkpoint raw_events',
    '<%= config.bin %> table checkpoint sessions --json',
  ];
  static override args = { table: Args.string({ description: 'table name', required: true }) };

  async run(): Promise<CheckpointResult> {
    const { args, flags } = await this.parse(TableCheckpoint);
    const lake = await openLake(this.resolveConfig(flags));
    try {
      const result = await checkpointTable(lake, args.table);
      if (!this.jsonEnabled())
        this.log(
          `${args.table}: checkpoint at version ${result.version}; ${result.logFilesDeleted.length} expired log files deleted`,
        );
      return result;
    } finally {
      closeLake(lake);
    }
  }
}

import { Args, Flags } from '@oclif/core';
import { ShopstreamCommand } from '../../cli/base-command.js';
import { type RestoreResult, restoreTable } from '../../lake/operations/restore.js';
import { closeLake, openLake } from '../../lake/table/open-lake.js';
import { currentRun } from '../../runtime/run-context.js';

export default class TableRestore extends ShopstreamCommand {
  static override audited = true;
  static override description =
    'Make the table as it was at an earlier version, as a new commit (history is kept).';
  static override examples = [
    '<%= config.bin %> table restore raw_events --to 3',
    '<%= config.bin %> table restore sessions --to 12 --json',
  ];
  static override args = { table: Args.string({ description: 'table name', required: true }) };
  static override flags = {
    to: Flags.integer({ description: 'The version to restore.', required: true, min: 0 }),
  };

  async run(): Promise<RestoreResult> {
    const { args, flags } = await this.parse(TableRestore);
    const lake = await openLake(this.resolveConfig(flags));
    try {
      const result = await restoreTable(lake, args.table, flags.to, { runId: currentRun.id });
      if (!this.jsonEnabled())
        this.log(
          `${args.table} version ${result.version} = version ${result.restoredTo} (${result.filesAdded} files re-added, ${result.filesRemoved} removed)`,
        );
      return result;
    } finally {
      closeLake(lake);
    }
  }
}

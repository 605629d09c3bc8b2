import { Args, Flags } from '@oclif/core';
import { ShopstreamCommand } from '../../cli/base-command.js';
import { usageError } from '../../errors.js';
import { type VacuumResult, vacuumTable } from '../../lake/operations/vacuum.js';
import { closeLake, openLake } from '../../lake/table/open-lake.js';
import { parseCliDurationMs } from '../../util/durations.js';

export default class TableVacuum extends ShopstreamCommand {
  static override audited = true;
  static override description =
    'Delete data files no longer referenced by the table and older than the retention (default 168h).';
  static override examples = [
    '<%= config.bin %> table vacuum raw_events --dry-run',
    '<%= config.bin %> table vacuum raw_events --retain 336h',
    '<%= config.bin %> table vacuum sessions --retain 0h --force',
  ];
  static override args = { table: Args.string({ description: 'table name', required: true }) };
  static override flags = {
    retain: Flags.string({ description: "Retention, e.g. 168h or 7d (default: the table's, 168h)." }),
    'dry-run': Flags.boolean({ description: 'List what would be deleted; delete nothing.' }),
    force: Flags.boolean({ description: "Allow a retention shorter than the table's." }),
  };

  async run(): Promise<VacuumResult> {
    const { args, flags } = await this.parse(TableVacuum);
    const retentionHours = flags.retain === undefined ? undefined : parseHours(flags.retain);
    const lake = await openLake(this.resolveConfig(flags));
    try {
      const result = await vacuumTable(lake, args.table, {
        ...(retentionHours === undefined ? {} : { retentionHours }),
        dryRun: flags['dry-run'],
        force: flags.force,
      });
      if (!this.jsonEnabled()) {
        this.log(
          `${result.dryRun ? 'would delete' : 'deleted'} ${result.files.length} files (${result.bytes} bytes), retention ${result.retentionHours}h`,
        );
        for (const file of result.files.slice(0, 50)) this.log(`  ${file}`);
      }
      return result;
    } finally {
      closeLake(lake);
    }
  }
}

function parseHours(text: string): number {
  const ms = parseCliDurationMs(text, { bareUnit: 'h' });
  if (ms === undefined) throw usageError('RETAIN', `--retain "${text}" is not a duration like 168h or 7d`);
  return ms / 3_600_000;
}

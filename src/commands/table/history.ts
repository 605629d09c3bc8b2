import { Args, Flags } from '@oclif/core';
import { ShopstreamCommand } from '../../cli/base-command.js';
import { renderTable } from '../../cli/render.js';
import type { HistoryEntry } from '../../lake/log/delta-log.js';
import { closeLake, openLake } from '../../lake/table/open-lake.js';
import { tableHistory } from '../../lake/table/table-info.js';

export default class TableHistory extends ShopstreamCommand {
  static override description = "Show a table's commits, newest first: version, time, operation, metrics.";
  static override examples = [
    '<%= config.bin %> table history raw_events',
    '<%= config.bin %> table history raw_events --limit 5 --json',
  ];
  static override args = { table: Args.string({ description: 'table name', required: true }) };
  static override flags = {
    limit: Flags.integer({ description: 'Show at most this many versions.', min: 1 }),
  };

  async run(): Promise<HistoryEntry[]> {
    const { args, flags } = await this.parse(TableHistory);
    const lake = await openLake(this.resolveConfig(flags));
    try {
      const history = await tableHistory(lake, args.table, flags.limit);
      if (!this.jsonEnabled()) {
        this.log(
          renderTable(
            history.map((h) => ({
              version: h.version,
              timestamp: new Date(h.timestamp).toISOString(),
              operation: h.commitInfo?.operation ?? '',
              files_added: h.actionCounts.add ?? 0,
              files_removed: h.actionCounts.remove ?? 0,
              rows:
                (h.commitInfo?.operationMetrics as { numOutputRows?: number } | undefined)?.numOutputRows ??
                '',
              run_id: (h.commitInfo?.runId as string | undefined) ?? '',
            })),
          ),
        );
      }
      return history;
    } finally {
      closeLake(lake);
    }
  }
}

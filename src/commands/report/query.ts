import { Args } from '@oclif/core';
import { REPORT_NAMES, ReportCommand, type ReportRows, reportQueryFlags } from '../../cli/report-command.js';
import type { ReportName } from '../../warehouse/reports.js';

export default class ReportQuery extends ReportCommand {
  static override description =
    "Run one of the business queries on the warehouse: fraud-last-minute (the seed's real-time fraud query), clv (customers by predicted annual value), conversion (daily funnel).";
  static override examples = [
    '<%= config.bin %> report query fraud-last-minute',
    '<%= config.bin %> report query clv --limit 10 --warehouse /data/analytics.duckdb',
    '<%= config.bin %> report query conversion --csv > funnel.csv',
    '<%= config.bin %> report query clv --json | jq ".[0]"',
  ];
  static override args = {
    name: Args.string({ description: 'report name', options: REPORT_NAMES, required: true }),
  };
  static override flags = reportQueryFlags;

  async run(): Promise<ReportRows> {
    const { args, flags } = await this.parse(ReportQuery);
    return this.queryReport(args.name as ReportName, flags);
  }
}

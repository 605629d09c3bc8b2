import { Args } from '@oclif/core';
import {
  type HtmlReportResult,
  REPORT_NAMES,
  ReportCommand,
  type ReportRows,
  reportOutFlag,
  reportQueryFlags,
} from '../cli/report-command.js';
import { usageError } from '../errors.js';
import type { ReportName } from '../warehouse/reports.js';

/**
 * The older form of `report query NAME` and `report html --out FILE`, kept working: the same
 * arguments, flags and output as before the two were split.
 */
export default class Report extends ReportCommand {
  static override description =
    "Reports: `report query NAME` runs one of the business queries on the warehouse (fraud-last-minute, the seed's real-time fraud query; clv, customers by predicted annual value; conversion, the daily funnel); `report html --out FILE` writes the run report, one self-contained HTML page of charts from the lake. The older forms `report NAME` and `report --out FILE` still work.";
  static override examples = [
    '<%= config.bin %> report query fraud-last-minute',
    '<%= config.bin %> report query clv --limit 10 --warehouse /data/analytics.duckdb',
    '<%= config.bin %> report query conversion --csv > funnel.csv',
    '<%= config.bin %> report html --out report.html',
    '<%= config.bin %> report clv    # the older form of: report query clv',
    '<%= config.bin %> report --out report.html    # the older form of: report html --out report.html',
  ];
  static override args = {
    name: Args.string({ description: 'report name (not with --out)', options: REPORT_NAMES }),
  };
  static override flags = { ...reportQueryFlags, out: reportOutFlag() };

  async run(): Promise<ReportRows | HtmlReportResult> {
    const { args, flags } = await this.parse(Report);
    if (flags.out) return this.htmlReport(flags.out, flags);
    if (!args.name) {
      throw usageError('REPORT_NAME', `name a report (${REPORT_NAMES.join(', ')}) or give --out report.html`);
    }
    return this.queryReport(args.name as ReportName, flags);
  }
}

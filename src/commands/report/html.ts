import { type HtmlReportResult, ReportCommand, requiredReportOutFlag } from '../../cli/report-command.js';

export default class ReportHtml extends ReportCommand {
  static override description =
    'Write the run report: one self-contained HTML page (no scripts, no network) of charts from the lake: events per minute, funnel, session length, fraud flags, CLV, data quality and run history.';
  static override examples = [
    '<%= config.bin %> report html --out report.html',
    '<%= config.bin %> report html --out /var/www/shopstream/report.html --lake s3://lake/prod',
    '<%= config.bin %> report html --out report.html --json',
  ];
  static override flags = { out: requiredReportOutFlag() };

  async run(): Promise<HtmlReportResult> {
    const { flags } = await this.parse(ReportHtml);
    return this.htmlReport(flags.out, flags);
  }
}

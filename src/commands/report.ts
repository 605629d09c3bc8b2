import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { Args, Flags } from '@oclif/core';
import { ShopstreamCommand } from '../cli/base-command.js';
import { warehouseFlag } from '../cli/flags.js';
import { renderCsv, renderTable } from '../cli/render.js';
import { usageError } from '../errors.js';
import { closeLake, openLake } from '../lake/table/open-lake.js';
import type { ReportSection } from '../ops/html-report.js';
import { runWarehouseReport } from '../ops/warehouse-report.js';
import { REPORTS, type ReportName } from '../warehouse/reports.js';

export default class Report extends ShopstreamCommand {
  static override description =
    "Run one of the business queries on the warehouse: fraud-last-minute (the seed's real-time fraud query), clv (customers by predicted annual value), conversion (daily funnel); or, with --out, write the run report: one self-contained HTML page of charts from the lake.";
  static override examples = [
    '<%= config.bin %> report fraud-last-minute',
    '<%= config.bin %> report clv --limit 10 --warehouse /data/analytics.duckdb',
    '<%= config.bin %> report conversion --csv > funnel.csv',
    '<%= config.bin %> report --out report.html',
  ];
  static override args = {
    name: Args.string({ description: 'report name (not with --out)', options: Object.keys(REPORTS) }),
  };
  static override flags = {
    warehouse: warehouseFlag(),
    limit: Flags.integer({ description: 'At most this many rows (clv).', default: 20, min: 1 }),
    csv: Flags.boolean({ description: 'Print CSV instead of a table.', exclusive: ['json'] }),
    out: Flags.string({
      description:
        'Write the HTML run report (charts of events, funnel, sessions, fraud, CLV, quality, runs) here.',
    }),
  };

  async run(): Promise<Record<string, unknown>[] | { out: string; sections: readonly ReportSection[] }> {
    const { args, flags } = await this.parse(Report);
    if (!flags.out && !args.name) {
      throw usageError(
        'REPORT_NAME',
        `name a report (${Object.keys(REPORTS).join(', ')}) or give --out report.html`,
      );
    }
    const config = this.resolveConfig(flags);
    const lake = await openLake(config);
    try {
      if (flags.out) {
        // vega and vega-lite load only for the HTML report, not for the warehouse queries
        const { buildHtmlReport } = await import('../ops/html-report.js');
        const report = await buildHtmlReport(lake);
        await writeFile(flags.out, report.html);
        if (!this.jsonEnabled()) {
          this.log(`wrote ${flags.out}: ${report.sections.map((s) => `${s.id} (${s.rows})`).join(', ')}`);
        }
        return { out: flags.out, sections: report.sections };
      }
      const rows = await runWarehouseReport(lake, config, args.name as ReportName, {
        limit: flags.limit,
        runId: randomUUID(),
      });
      if (!this.jsonEnabled()) this.log(flags.csv ? renderCsv(rows) : renderTable(rows));
      return rows;
    } finally {
      closeLake(lake);
    }
  }
}

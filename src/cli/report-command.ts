import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { Flags } from '@oclif/core';
import { closeLake, openLake } from '../lake/table/open-lake.js';
import type { ReportSection } from '../ops/html-report.js';
import { runWarehouseReport } from '../ops/warehouse-report.js';
import { REPORTS, type ReportName } from '../warehouse/reports.js';
import { type BaseFlags, ShopstreamCommand } from './base-command.js';
import { warehouseFlag } from './flags.js';
import { renderCsv, renderTable } from './render.js';

/**
 * `report query NAME` (a business query on the warehouse) and `report html --out FILE` (the run
 * report), and the older `report NAME` / `report --out FILE` that still do the same: one flag set
 * and one way of running and printing each, shared by the three commands.
 */

export const REPORT_NAMES = Object.keys(REPORTS) as ReportName[];

export const reportQueryFlags = {
  warehouse: warehouseFlag(),
  limit: Flags.integer({ description: 'At most this many rows (clv).', default: 20, min: 1 }),
  csv: Flags.boolean({ description: 'Print CSV instead of a table.', exclusive: ['json'] }),
};

const OUT = 'Write the HTML run report (charts of events, funnel, sessions, fraud, CLV, quality, runs) here.';
/** `--out FILE`: optional on the older `report`, required on `report html`. */
export const reportOutFlag = () => Flags.string({ description: OUT });
export const requiredReportOutFlag = () => Flags.string({ description: OUT, required: true });

export type ReportRows = Record<string, unknown>[];
export interface HtmlReportResult {
  readonly out: string;
  readonly sections: readonly ReportSection[];
}

type QueryFlags = Partial<BaseFlags> & { warehouse?: string | undefined; limit: number; csv: boolean };

export abstract class ReportCommand extends ShopstreamCommand {
  /** Runs a business report on the warehouse and prints its rows (a table, or CSV with --csv). */
  protected async queryReport(name: ReportName, flags: QueryFlags): Promise<ReportRows> {
    const config = this.resolveConfig(flags);
    const lake = await openLake(config);
    try {
      const rows = await runWarehouseReport(lake, config, name, { limit: flags.limit, runId: randomUUID() });
      if (!this.jsonEnabled()) this.log(flags.csv ? renderCsv(rows) : renderTable(rows));
      return rows;
    } finally {
      closeLake(lake);
    }
  }

  /** Writes the HTML run report of the lake to `out` and says which sections it holds. */
  protected async htmlReport(out: string, flags: Partial<BaseFlags>): Promise<HtmlReportResult> {
    const config = this.resolveConfig(flags);
    const lake = await openLake(config);
    try {
      // vega and vega-lite load only for the HTML report, not for the warehouse queries
      const { buildHtmlReport } = await import('../ops/html-report.js');
      const report = await buildHtmlReport(lake);
      await writeFile(out, report.html);
      if (!this.jsonEnabled())
        this.log(`wrote ${out}: ${report.sections.map((s) => `${s.id} (${s.rows})`).join(', ')}`);
      return { out, sections: report.sections };
    } finally {
      closeLake(lake);
    }
  }
}

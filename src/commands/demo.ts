import { Flags } from '@oclif/core';
import { ShopstreamCommand } from '../cli/base-command.js';
import { type PipelineResults, runDemo } from '../demo/run-demo.js';
import { percent } from '../ops/quality-gate.js';

export default class Demo extends ShopstreamCommand {
  static override description =
    'Run the whole pipeline on the built-in seed scenario (8 events) in a fresh temporary lake, offline, and print PIPELINE RESULTS.';
  static override examples = [
    '<%= config.bin %> demo',
    '<%= config.bin %> demo --json',
    '<%= config.bin %> demo --lake ./demo-lake',
  ];
  static override flags = {
    source: Flags.string({ description: 'Use this event file instead of the built-in fixture.' }),
    warehouse: Flags.string({
      description: 'Load into this DuckDB warehouse file (default: a fresh temporary one).',
    }),
  };

  async run(): Promise<PipelineResults> {
    const { flags } = await this.parse(Demo);
    // the global flags (--s3-endpoint, --metrics-file, --config, ...) apply; the lake and the
    // warehouse are only what the flags name (never SHOPSTREAM_LAKE/SHOPSTREAM_WAREHOUSE: the demo
    // must not write into a real lake), else a temporary directory removed at the end
    const config = this.resolveConfig(flags);
    const results = await runDemo({
      config,
      ...(flags.lake ? { lake: flags.lake } : {}),
      ...(flags.warehouse ? { warehouse: flags.warehouse } : {}),
      ...(flags.source ? { source: flags.source } : {}),
    });
    if (!this.jsonEnabled()) this.log(render(results));
    return results;
  }
}

function describeRows(
  rows: readonly Record<string, unknown>[] | undefined,
  one: (row: Record<string, unknown>) => string,
): string {
  return rows && rows.length > 0 ? rows.map(one).join(', ') : 'none';
}

function render(r: PipelineResults): string {
  const money = new Intl.NumberFormat('en-US', {
    style: 'currency',
    currency: 'USD',
    maximumFractionDigits: 2,
  });
  return [
    '',
    '==================== PIPELINE RESULTS ====================',
    `Events processed:      ${r.eventsProcessed}`,
    `Anomalies detected:    ${r.anomaliesDetected}${r.anomalousUsers.length ? ` (${r.anomalousUsers.join(', ')})` : ''}`,
    `Fraud value flagged:   ${money.format(r.fraudValueFlagged)}`,
    `Conversion view->cart: ${r.viewToCartRate === null ? 'n/a' : `${(r.viewToCartRate * 100).toFixed(1)}%`}`,
    `Processing latency:    ${r.processingLatencyMs} ms (${r.stages.map((s) => `${s.stage} ${s.ms} ms`).join(', ')})`,
    `Data quality:          ingest ${percent(r.ingest.qualityRatio)} (${r.ingest.quarantined} quarantined), marts ${percent(r.build.quality.qualityRatio)} (${r.build.quality.checks.length} checks)`,
    `Marts built:           ${r.build.marts.map((m) => `${m.name} ${m.rows}`).join(', ')}`,
    `Warehouse:             ${r.warehouse.tablesLoaded} tables, ${r.warehouse.rowsLoaded} rows loaded into ${r.temporary.warehouse ? 'a temporary file (removed; --warehouse FILE keeps it)' : r.warehouse.path}`,
    `  fraud in the last minute: ${describeRows(r.warehouse.reports['fraud-last-minute'], (row) => `${row.user_id} ${money.format(Number(row.total_value))}`)}`,
    `  top customer value: ${describeRows(r.warehouse.reports.clv, (row) =>
      row.clv_status === 'fitted'
        ? `${row.user_key} ${money.format(Number(row.predicted_clv))} predicted over ${row.prediction_horizon_months} months`
        : `${row.user_key} ${money.format(Number(row.historic_clv))} to date (no prediction: ${String(row.clv_status).replaceAll('_', ' ')})`,
    )}`,
    `  conversion by day: ${describeRows(r.warehouse.reports.conversion, (row) => `${row.session_date} ${(Number(row.view_to_cart_rate) * 100).toFixed(1)}% view->cart`)}`,
    `Lake:                  ${r.temporary.lake ? 'a temporary directory (removed; --lake DIR keeps it)' : r.lake}`,
    '===========================================================',
  ].join('\n');
}

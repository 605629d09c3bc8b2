import { Flags } from '@oclif/core';
import { ShopstreamCommand } from '../../cli/base-command.js';
import { renderTable } from '../../cli/render.js';
import { clvCurrency } from '../../config/config-schema.js';
import { usageError } from '../../errors.js';
import { closeLake, openLake } from '../../lake/table/open-lake.js';
import { currentRun } from '../../runtime/run-context.js';

import type { BacktestResult } from '../../transforms/clv/backtest.js';

export default class ClvBacktest extends ShopstreamCommand {
  static override audited = true;
  static override description =
    'Calibration/holdout check of the CLV purchase model: fit BG/NBD on the purchases before --until, predict each customer’s purchases from --until to the end of the data, compare with what they bought (MAE, RMSE, aggregate error, per calibration frequency); recorded in the clv_backtests table for the HTML report.';
  static override examples = [
    '<%= config.bin %> clv backtest --until 2026-11-20',
    '<%= config.bin %> clv backtest --until 2026-11-20 --json | jq .groups',
  ];
  static override flags = {
    until: Flags.string({ description: 'First day of the holdout (YYYY-MM-DD, UTC).', required: true }),
  };

  async run(): Promise<BacktestResult> {
    const { flags } = await this.parse(ClvBacktest);
    const config = this.resolveConfig(flags);
    const until = parseDay(flags.until);
    const lake = await openLake(config);
    let result: BacktestResult;
    try {
      const { backtestClv } = await import('../../transforms/clv/backtest.js');
      result = await backtestClv(lake, {
        until,
        config: config.marts.clv,
        currency: clvCurrency(config.marts),
        runId: currentRun.id,
      });
    } finally {
      closeLake(lake);
    }
    if (!this.jsonEnabled()) this.log(describe(result));
    return result;
  }
}

function parseDay(text: string): Date {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text) || Number.isNaN(Date.parse(`${text}T00:00:00Z`)))
    throw usageError('BAD_UNTIL', `--until: expected a date YYYY-MM-DD, got ${text}`);
  return new Date(`${text}T00:00:00Z`);
}

function describe(r: BacktestResult): string {
  const f = (x: number) => x.toFixed(3);
  const g = (x: number) => x.toPrecision(4);
  return [
    `calibration: purchases before ${r.until}; holdout: ${r.until} to ${r.endDay} (${r.holdoutDays} days), ${r.customers} customers`,
    `BG/NBD: r ${g(r.bgNbd.r)}, alpha ${g(r.bgNbd.alpha)}, a ${g(r.bgNbd.a)}, b ${g(r.bgNbd.b)} (days)`,
    `holdout purchases per customer: MAE ${f(r.mae)}, RMSE ${f(r.rmse)}`,
    `total holdout purchases: predicted ${r.predictedTotal.toFixed(1)}, actual ${r.actualTotal}, aggregate error ${
      r.aggregateError === null ? 'n/a' : `${(r.aggregateError * 100).toFixed(1)}%`
    }`,
    renderTable(
      r.groups.map((g) => ({
        'calibration repeat purchases': g.calibrationFrequency,
        customers: g.customers,
        'predicted (mean)': f(g.predictedMean),
        'actual (mean)': f(g.actualMean),
      })),
    ),
  ].join('\n');
}

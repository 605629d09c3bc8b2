import { Flags } from '@oclif/core';
import { ShopstreamCommand } from '../cli/base-command.js';
import { renderTable } from '../cli/render.js';
import { breachError, usageError } from '../errors.js';
import { closeLake, openLake } from '../lake/table/open-lake.js';
import { checkSlos, type SloReport } from '../ops/slo.js';
import { parseCliDurationMs } from '../util/durations.js';

export default class Slo extends ShopstreamCommand {
  static override description =
    'Check the service level objectives over a time range (availability of scheduled runs, micro-batch latency p95, throughput, data quality); exit 1 on a breach, for alerting.';
  static override examples = [
    '<%= config.bin %> slo',
    '<%= config.bin %> slo --since 7d --json',
    '<%= config.bin %> slo --from 2026-11-01T00:00Z --to 2026-12-01T00:00Z',
  ];
  static override flags = {
    since: Flags.string({ description: 'Range ending now: e.g. 30m, 24h, 7d.', default: '24h' }),
    from: Flags.string({ description: 'Range start (ISO-8601); overrides --since.' }),
    to: Flags.string({ description: 'Range end (ISO-8601; default now).' }),
  };

  async run(): Promise<SloReport> {
    const { flags } = await this.parse(Slo);
    const config = this.resolveConfig(flags);
    const to = flags.to ? parseTime(flags.to, '--to') : new Date();
    const from = flags.from
      ? parseTime(flags.from, '--from')
      : new Date(to.getTime() - parseSpan(flags.since));
    const lake = await openLake(config);
    let report: SloReport;
    try {
      report = await checkSlos(lake, config.slo, { from, to });
    } finally {
      closeLake(lake);
    }
    if (!this.jsonEnabled()) {
      this.log(`SLOs from ${report.from} to ${report.to}`);
      this.log(
        renderTable(
          report.objectives.map((o) => ({
            objective: o.name,
            target: `${o.comparator} ${o.target}`,
            actual: o.actual === null ? 'no data' : Number(o.actual.toFixed(4)),
            status: o.met === null ? 'no data' : o.met ? 'met' : 'BREACHED',
            detail: o.detail,
          })),
        ),
      );
    }
    if (!report.met) {
      const breached = report.objectives
        .filter((o) => o.met === false)
        .map((o) => `${o.name} ${o.actual} (target ${o.comparator} ${o.target})`);
      this.failAfter(report, breachError('SLO_BREACHED', `SLO breached: ${breached.join('; ')}`));
    }
    return report;
  }
}

function parseTime(text: string, flag: string): Date {
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) throw usageError('BAD_TIME', `${flag}: not a time: ${text}`);
  return date;
}

function parseSpan(text: string): number {
  const ms = parseCliDurationMs(text);
  if (ms === undefined) throw usageError('BAD_SPAN', `--since: expected e.g. 30m, 24h or 7d, got ${text}`);
  return ms;
}

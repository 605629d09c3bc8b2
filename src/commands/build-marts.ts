import { Flags } from '@oclif/core';
import { ShopstreamCommand } from '../cli/base-command.js';
import { ProgressBar } from '../cli/progress.js';
import { renderTable } from '../cli/render.js';
import { closeLake, openLake } from '../lake/table/open-lake.js';
import { failedChecksError } from '../ops/quality-gate.js';
import { type BuildSummary, buildMarts } from '../transforms/build-marts.js';

export default class BuildMarts extends ShopstreamCommand {
  static override audited = true;
  static override description =
    'Build the marts (sessions, conversion_daily, customer_ltv, fraud_user_minute, fraud_flags, metrics_minute) from raw_events, incrementally, then run the data quality checks.';
  static override examples = [
    '<%= config.bin %> build-marts',
    '<%= config.bin %> build-marts --full-refresh',
    '<%= config.bin %> build-marts --json --warn-only | jq .quality',
  ];
  static override flags = {
    'full-refresh': Flags.boolean({ description: 'Rebuild every mart from all of raw_events.' }),
    'warn-only': Flags.boolean({ description: 'Report failing quality checks but exit 0.' }),
  };

  async run(): Promise<BuildSummary> {
    const { flags } = await this.parse(BuildMarts);
    const config = this.resolveConfig(flags);
    const lake = await openLake(config);
    const bar = new ProgressBar(this.interactive, 'build-marts');
    let summary: BuildSummary;
    try {
      summary = await buildMarts(lake, {
        fullRefresh: flags['full-refresh'],
        config: config.marts,
        pseudonymSecret: config.privacy.pseudonymKey,
        onProgress: (p) => bar.update(p.index, p.total, p.model),
      });
    } finally {
      bar.stop();
      closeLake(lake);
    }
    if (!this.jsonEnabled()) this.log(describe(summary));
    const failed = failedChecksError(summary.quality, { warnOnly: flags['warn-only'] });
    if (failed) this.failAfter(summary, failed);
    return summary;
  }
}

function describe(s: BuildSummary): string {
  const lines = [
    `mode: ${s.mode} (raw_events version ${s.rawEventsVersion}${s.fromVersion !== null ? `, from ${s.fromVersion}` : ''})`,
    `money: ${s.currency.mode === 'converted' ? `converted to ${s.currency.reporting} with the rates file` : `per currency (reporting currency ${s.currency.reporting}; no rates file)`}`,
    ...s.rebuilt.map((r) => `rebuilt in full: ${r.mart} (${r.reason})`),
  ];
  lines.push(
    renderTable(
      s.marts.map((m) => ({
        mart: m.name,
        version: m.version ?? 'unchanged',
        rows: m.rows,
        partitions: m.partitionsReplaced,
      })),
    ),
  );
  lines.push('');
  lines.push(
    renderTable(
      s.quality.checks.map((c) => ({
        check: c.name,
        severity: c.severity,
        checked: c.checked,
        failing: c.failing,
        ok: c.passed ? 'yes' : 'NO',
      })),
    ),
  );
  lines.push(
    `quality ratio ${(s.quality.qualityRatio * 100).toFixed(3)}% (SLO ${(s.quality.minQualityRatio * 100).toFixed(2)}%): ${s.quality.passed ? 'pass' : 'FAIL'}`,
  );
  return lines.join('\n');
}

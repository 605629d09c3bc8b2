import { dataError, type ShopstreamError } from '../errors.js';
import type { IngestSummary } from '../ingest/ingest.js';
import type { QualityReport } from '../transforms/quality.js';

/**
 * The pipeline's two quality gates, one place for both: `ingest` and `run` stop (exit 65) when too
 * many records were quarantined, `build-marts` and `run` when the marts' quality checks fail. Each
 * returns the error to throw, or undefined when the data passes; the data is written either way, so
 * the messages say so and the caller decides what to print before throwing.
 */

/** What the ingest gate reads of an ingest summary. */
export type IngestGateInput = Pick<
  IngestSummary,
  'read' | 'quarantined' | 'badRatio' | 'maxBadRatio' | 'badRatioExceeded' | 'quarantineSamples'
>;

/**
 * Quarantined ÷ read above the maximum: BAD_RATIO, naming the first bad record (file:line field:
 * reason). `limit` is how the user set the maximum: `--max-bad-ratio` on `ingest`, the setting
 * `ingest.maxBadRatio` under `run` (which has no such flag).
 */
export function badRatioError(
  summary: IngestGateInput,
  limit: '--max-bad-ratio' | 'ingest.maxBadRatio' = '--max-bad-ratio',
): ShopstreamError | undefined {
  if (!summary.badRatioExceeded) return undefined;
  const first = summary.quarantineSamples[0];
  return dataError(
    'BAD_RATIO',
    `${summary.quarantined} of ${summary.read} records were quarantined (${percent(summary.badRatio)} > ${limit} ${percent(summary.maxBadRatio)})` +
      (first ? `; first: ${first.file}:${first.line} field ${first.field}: ${first.reason}` : ''),
    {
      suggestions: [
        'good records were landed; inspect them with: shopstream query "SELECT * FROM quarantine"',
      ],
    },
  );
}

/**
 * Failing quality checks (an error check failed, or the quality ratio is under the SLO):
 * QUALITY_FAILED naming the failing checks, unless `warnOnly` accepts them.
 */
export function failedChecksError(
  quality: Pick<QualityReport, 'checks' | 'qualityRatio' | 'minQualityRatio' | 'passed'>,
  options: { readonly warnOnly?: boolean } = {},
): ShopstreamError | undefined {
  if (quality.passed || options.warnOnly) return undefined;
  const failing = quality.checks
    .filter((c) => !c.passed)
    .map((c) => `${c.name} (${c.failing} of ${c.checked})`);
  return dataError(
    'QUALITY_FAILED',
    `data quality checks failed: ratio ${percent(quality.qualityRatio)} (minimum ${percent(quality.minQualityRatio)}); failing: ${failing.join(', ')}`,
    {
      suggestions: [
        'the marts were written; rerun with --warn-only to accept, or inspect the failing checks',
      ],
    },
  );
}

/** A ratio as a percentage with two decimals, as the gates and the ingest summary print it. */
export function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(2)}%`;
}

import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import { badRatioError, failedChecksError } from '../../src/ops/quality-gate.js';

const ingest = {
  read: 200,
  quarantined: 3,
  badRatio: 0.015,
  maxBadRatio: 0.01,
  badRatioExceeded: true,
  quarantineSamples: [{ file: 'in/a.ndjson', line: 7, field: 'price', reason: 'not a number', raw: '{}' }],
};

const check = (name: string, severity: 'error' | 'warn', failing: number) => ({
  name,
  severity,
  description: '',
  checked: 100,
  failing,
  passed: failing === 0,
});

describe('quality gates', () => {
  it('BAD_RATIO (65) names the ratio, the limit as the user set it, and the first bad record', () => {
    const error = badRatioError(ingest)!;
    expect(error).toMatchObject({ code: 'BAD_RATIO', exitCode: ExitCode.data });
    expect(error.message).toBe(
      '3 of 200 records were quarantined (1.50% > --max-bad-ratio 1.00%); first: in/a.ndjson:7 field price: not a number',
    );
    expect(badRatioError(ingest, 'ingest.maxBadRatio')!.message).toContain(
      '(1.50% > ingest.maxBadRatio 1.00%)',
    );
    expect(badRatioError({ ...ingest, quarantineSamples: [] })!.message).not.toContain('first:');
    expect(badRatioError({ ...ingest, badRatioExceeded: false })).toBeUndefined();
  });

  it('QUALITY_FAILED (65) names the failing checks, unless they pass or warnOnly accepts them', () => {
    const quality = {
      checks: [check('unique_session_id', 'error', 2), check('late_event_share', 'warn', 0)],
      qualityRatio: 0.99,
      minQualityRatio: 0.99,
      passed: false,
    };
    const error = failedChecksError(quality)!;
    expect(error).toMatchObject({ code: 'QUALITY_FAILED', exitCode: ExitCode.data });
    expect(error.message).toBe(
      'data quality checks failed: ratio 99.00% (minimum 99.00%); failing: unique_session_id (2 of 100)',
    );
    expect(error.suggestions[0]).toMatch(/^the marts were written/);
    expect(failedChecksError(quality, { warnOnly: true })).toBeUndefined();
    expect(failedChecksError({ ...quality, passed: true })).toBeUndefined();
  });
});

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, fixture, tempDir } from '../helpers/cli.js';

/**
 * The quality gates are one module (src/ops/quality-gate.ts): `ingest` and `run` fail a bad ratio
 * the same way, `build-marts` and `run` failing checks the same way; exit 65 with the same code and
 * message (the limit named as the user set it: the flag on ingest, the setting under run).
 */
function errorOf(stderr: string): { code: string; message: string; exitCode: number } {
  const line = stderr.split('\n').find((l) => l.startsWith('{"error"'));
  expect(line, stderr).toBeDefined();
  return JSON.parse(line!).error;
}

describe('quality gates: the same exit code and message from every command', () => {
  it('too many quarantined records: ingest and run name the first bad record', () => {
    const dir = tempDir('gate-bad-ratio');
    const bad = path.join(dir, 'bad.ndjson');
    writeFileSync(bad, `${readFileSync(fixture('demo', 'events.ndjson'), 'utf8')}not json\n{"x":1}\n`);

    const ingest = cli(['ingest', bad, '--lake', path.join(dir, 'lake-ingest'), '--json']);
    expect(ingest.status, ingest.stderr).toBe(65);
    const fromIngest = errorOf(ingest.stderr);
    expect(fromIngest.code).toBe('BAD_RATIO');
    expect(fromIngest.message).toMatch(
      /^2 of 10 records were quarantined \(20\.00% > --max-bad-ratio 1\.00%\); first: .*bad\.ndjson:9 field /,
    );

    const run = cli(['run', bad, '--no-load', '--lake', path.join(dir, 'lake-run'), '--json']);
    expect(run.status, run.stderr).toBe(65);
    const fromRun = errorOf(run.stderr);
    expect(fromRun.code).toBe('BAD_RATIO');
    expect(fromRun.message).toBe(fromIngest.message.replace('--max-bad-ratio', 'ingest.maxBadRatio'));
  });

  it('failing quality checks: build-marts and run name the failing checks; --warn-only passes both', () => {
    const dir = tempDir('gate-checks');
    // every seed event counts as late: the error check late_event_share fails
    const config = path.join(dir, 'shopstream.config.json');
    writeFileSync(config, JSON.stringify({ marts: { lateAfterMinutes: 0.001 } }));
    const events = fixture('demo', 'events.ndjson');

    const lake = path.join(dir, 'lake-build');
    expect(cli(['ingest', events, '--lake', lake, '--config', config]).status).toBe(0);
    const build = cli(['build-marts', '--lake', lake, '--config', config, '--json']);
    expect(build.status, build.stderr).toBe(65);
    const fromBuild = errorOf(build.stderr);
    expect(fromBuild.code).toBe('QUALITY_FAILED');
    expect(fromBuild.message).toMatch(
      /^data quality checks failed: ratio \d+\.\d\d% \(minimum 99\.00%\); failing: .*late_event_share \(8 of 8\)/,
    );

    const run = cli([
      'run',
      events,
      '--no-load',
      '--lake',
      path.join(dir, 'lake-run'),
      '--config',
      config,
      '--json',
    ]);
    expect(run.status, run.stderr).toBe(65);
    expect(errorOf(run.stderr)).toMatchObject({
      code: 'QUALITY_FAILED',
      message: fromBuild.message,
      exitCode: 65,
    });

    const accepted = cli([
      'run',
      events,
      '--no-load',
      '--warn-only',
      '--lake',
      path.join(dir, 'lake-warn'),
      '--config',
      config,
    ]);
    expect(accepted.status, accepted.stderr).toBe(0);
  });
});

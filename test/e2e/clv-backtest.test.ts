import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, tempDir } from '../helpers/cli.js';

describe('shopstream clv backtest (built CLI, generated clickstream)', { timeout: 600_000 }, () => {
  it('fits before --until, compares predicted with actual holdout purchases, records the result', () => {
    const dir = tempDir('clv-backtest');
    const env = { SHOPSTREAM_LAKE: path.join(dir, 'lake') };
    const events = path.join(dir, 'events.ndjson');
    const generated = cli(
      [
        'generate',
        '--events',
        '8000',
        '--days',
        '14',
        '--start',
        '2026-10-01T00:00:00Z',
        '--out',
        events,
        '--seed',
        '5',
      ],
      { env },
    );
    expect(generated.status, generated.stderr).toBe(0);
    expect(cli(['ingest', events, '--max-bad-ratio', '0.05'], { env }).status).toBe(0);
    expect(cli(['build-marts', '--warn-only'], { env }).status).toBe(0);

    const json = cli(['clv', 'backtest', '--until', '2026-10-10', '--json'], { env });
    expect(json.status, json.stderr).toBe(0);
    const result = JSON.parse(json.stdout);
    expect(result).toMatchObject({ until: '2026-10-10', endDay: '2026-10-14', holdoutDays: 5 });
    expect(result.customers).toBeGreaterThan(50);
    for (const name of ['r', 'alpha', 'a', 'b']) expect(result.bgNbd[name]).toBeGreaterThan(0);
    expect(result.mae).toBeGreaterThan(0);
    expect(result.rmse).toBeGreaterThanOrEqual(result.mae);
    expect(result.aggregateError).toBeCloseTo(
      (result.predictedTotal - result.actualTotal) / result.actualTotal,
      9,
    );
    // the groups partition the customers, and their means add up to the totals
    const groups: {
      calibrationFrequency: string;
      customers: number;
      predictedMean: number;
      actualMean: number;
    }[] = result.groups;
    expect(groups[0]!.calibrationFrequency).toBe('0');
    expect(groups.reduce((n, g) => n + g.customers, 0)).toBe(result.customers);
    expect(groups.reduce((s, g) => s + g.actualMean * g.customers, 0)).toBeCloseTo(result.actualTotal, 6);
    expect(groups.reduce((s, g) => s + g.predictedMean * g.customers, 0)).toBeCloseTo(
      result.predictedTotal,
      6,
    );
    // the model predicts more for customers who bought more before --until
    expect(groups[1]!.predictedMean).toBeGreaterThan(groups[0]!.predictedMean);

    const text = cli(['clv', 'backtest', '--until', '2026-10-10'], { env });
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/holdout: 2026-10-10 to 2026-10-14 \(5 days\)/);
    expect(text.stdout).toMatch(/MAE \d+\.\d{3}, RMSE \d+\.\d{3}/);
    expect(text.stdout).toMatch(/aggregate error -?\d+\.\d%/);

    // both runs recorded for the HTML report
    const recorded = JSON.parse(
      cli(
        [
          'query',
          "SELECT count(DISTINCT run_id) AS runs, count(*) FILTER (WHERE calibration_frequency = 'all') AS totals FROM clv_backtests",
          '--json',
        ],
        { env },
      ).stdout,
    );
    expect(recorded.rows).toEqual([{ runs: '2', totals: '2' }]);

    // --until outside the data, or not a date: usage errors
    for (const until of ['2026-12-01', '2026-09-01', '14/10/2026']) {
      const bad = cli(['clv', 'backtest', '--until', until], { env });
      expect(bad.status, until).toBe(64);
      expect(bad.stderr).toMatch(/--until/);
    }
  });
});

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DuckDb } from '../../src/engine/duckdb.js';
import { cli, cliAsync, fixture, tempDir } from '../helpers/cli.js';

const json = (stdout: string) => JSON.parse(stdout);

describe('operations: shopstream run, pipeline_runs, metrics, slo', () => {
  it('runs ingest → gdpr → build-marts → load with one run id on every commit and load', async () => {
    const dir = tempDir('ops-run');
    const env = {
      SHOPSTREAM_LAKE: path.join(dir, 'lake'),
      SHOPSTREAM_WAREHOUSE: path.join(dir, 'wh.duckdb'),
    };
    const requests = path.join(dir, 'erasure.txt');
    writeFileSync(requests, '# erasure requests\nusr_001\n');
    const metricsFile = path.join(dir, 'shopstream.prom');
    const result = cli(
      [
        'run',
        fixture('demo', 'events.ndjson'),
        '--gdpr-file',
        requests,
        '--metrics-file',
        metricsFile,
        '--json',
      ],
      { env },
    );
    expect(result.status, result.stderr).toBe(0);
    const summary = json(result.stdout);
    expect(summary.stages.map((s: { stage: string; status: string }) => `${s.stage}:${s.status}`)).toEqual([
      'ingest:ok',
      'gdpr:ok',
      'build-marts:ok',
      'load:ok',
    ]);
    expect(existsSync(requests)).toBe(false); // consumed
    const runId: string = summary.runId;

    // the run id on the commits of every table it wrote, on the warehouse loads, in pipeline_runs
    for (const table of ['raw_events', 'sessions', 'customer_ltv', 'deletion_requests']) {
      const history = json(cli(['table', 'history', table, '--json'], { env }).stdout);
      expect(history[0].commitInfo.runId, table).toBe(runId);
    }
    const db = await DuckDb.open();
    try {
      await db.run(`ATTACH '${env.SHOPSTREAM_WAREHOUSE}' AS wh (READ_ONLY)`);
      const loads = await db.all<{ run_id: string }>('SELECT DISTINCT run_id FROM wh._shopstream_loads');
      expect(loads).toEqual([{ run_id: runId }]);
    } finally {
      db.close();
    }
    const runs = json(
      cli(
        [
          'query',
          'SELECT run_id, command, rows_in::INT AS rows_in, rows_out::INT AS rows_out, quality_ratio, outcome FROM pipeline_runs',
          '--json',
        ],
        {
          env,
        },
      ).stdout,
    ).rows;
    expect(runs).toEqual([
      {
        run_id: runId,
        command: 'run',
        rows_in: 8,
        rows_out: expect.any(Number),
        quality_ratio: 1,
        outcome: 'ok',
      },
    ]);
    expect(runs[0].rows_out).toBeGreaterThan(8);

    // Prometheus text format for the textfile collector
    const metrics = readFileSync(metricsFile, 'utf8');
    expect(metrics).toMatch(/^# TYPE shopstream_run_success gauge$/m);
    expect(metrics).toMatch(/^shopstream_run_success\{command="run"\} 1$/m);
    expect(metrics).toMatch(/^shopstream_run_rows_in\{command="run"\} 8$/m);
    for (const line of metrics.trim().split('\n')) {
      expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+\{command="[^"]+"\} -?[\d.e+-]+)$/);
    }

    // a rerun does nothing twice and fails nothing
    const again = json(cli(['run', fixture('demo', 'events.ndjson'), '--json'], { env }).stdout);
    expect(again.ingest.written).toBe(0);
    expect(again.build.mode).toBe('up-to-date');
    expect(again.load.tables.every((t: { rowsInserted: number }) => t.rowsInserted === 0)).toBe(true);
  });

  it('stops at the first failing stage with its exit code; slo reports the breach with exit 1', async () => {
    const dir = tempDir('ops-slo');
    const env = { SHOPSTREAM_LAKE: path.join(dir, 'lake') };
    const bad = path.join(dir, 'bad.ndjson');
    writeFileSync(
      bad,
      `${readFileSync(fixture('demo', 'events.ndjson'), 'utf8')}not json\nnot json either\n`,
    );
    const failed = cli(['run', bad, '--no-load', '--json'], { env });
    expect(failed.status).toBe(65);
    const stages = json(failed.stdout).stages.map(
      (s: { stage: string; status: string }) => `${s.stage}:${s.status}`,
    );
    expect(stages).toEqual(['ingest:failed']);

    const good = cli(['run', '--no-load'], { env });
    expect(good.status, good.stderr).toBe(0);

    // a micro-batch run records its batch latencies
    const landing = path.join(dir, 'landing');
    mkdirSync(landing);
    writeFileSync(path.join(landing, '1.ndjson'), readFileSync(fixture('demo', 'events.ndjson')));
    const micro = cli(
      ['microbatch', '--from', landing, '--once', '--alerts', path.join(dir, 'alerts.ndjson')],
      { env },
    );
    expect(micro.status, micro.stderr).toBe(0);

    // a latency objective no busy machine misses, so that only data quality can breach here
    const lenient = path.join(dir, 'lenient.json');
    writeFileSync(lenient, JSON.stringify({ slo: { latencyP95Ms: 3_600_000 } }));
    const slo = cli(['slo', '--config', lenient, '--json'], { env });
    expect(slo.status).toBe(1); // the failed run's data quality breaches the quality objective
    const report = json(slo.stdout);
    const byName = Object.fromEntries(report.objectives.map((o: { name: string }) => [o.name, o]));
    // bad data (65) is the input's fault: a user error, apart from availability (1 of 1 succeeded)
    expect(byName.availability).toMatchObject({ actual: 1, met: true });
    expect(report.runs).toMatchObject({ scheduled: 2, succeeded: 1, failed: 0, userErrors: 1 });
    expect(byName.data_quality.met).toBe(false);
    expect(byName.latency_p95_ms.met).toBe(true);
    expect(byName.latency_p95_ms.actual).toBeGreaterThanOrEqual(0);
    expect(byName.data_quality.actual).toBeLessThan(1);
    expect(slo.stderr).toContain('data_quality');

    // a range after the failure: met (exit 0); a config asking the impossible: latency breached
    const later = cli(['slo', '--from', new Date(Date.now() - 1000).toISOString(), '--json'], { env });
    expect(later.status, later.stderr).toBe(0);
    const config = path.join(dir, 'strict.json');
    writeFileSync(config, JSON.stringify({ slo: { latencyP95Ms: 0.000001, availability: 0 } }));
    const strict = cli(['slo', '--config', config, '--json'], { env });
    expect(strict.status).toBe(1);
    expect(strict.stderr).toContain('latency_p95_ms');
  });

  it('pushes the metrics to a Pushgateway', async () => {
    const received: { method: string; url: string; body: string }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        received.push({ method: req.method ?? '', url: req.url ?? '', body });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const dir = tempDir('ops-push');
      const result = await cliAsync(
        ['ingest', fixture('demo', 'events.ndjson'), '--pushgateway', `http://127.0.0.1:${port}/`],
        { env: { SHOPSTREAM_LAKE: path.join(dir, 'lake') } },
      );
      expect(result.status, result.stderr).toBe(0);
      expect(received).toHaveLength(1);
      expect(received[0]).toMatchObject({ method: 'PUT', url: '/metrics/job/shopstream/command/ingest' });
      expect(received[0]!.body).toMatch(/^shopstream_run_rows_in\{command="ingest"\} 8$/m);
    } finally {
      server.close();
    }
  });
});

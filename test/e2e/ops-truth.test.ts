import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDb } from '../../src/engine/duckdb.js';
import { cli, cliAsync, fixture, ROOT, tempDir } from '../helpers/cli.js';
import { startTestS3, TEST_CREDENTIALS, type TestS3 } from '../helpers/s3-server.mjs';

const json = (stdout: string) => JSON.parse(stdout);
const EVENTS = fixture('demo', 'events.ndjson');
const HOLDER = path.join(ROOT, 'test/helpers/duckdb-lock-holder.mjs');

/** `name{command="x"} value` samples of the metrics file, by metric and command. */
function samples(text: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^(\w+)\{command="([^"]+)"\} (\S+)$/.exec(line);
    if (m) found.set(`${m[1]} ${m[2]}`, m[3]!);
  }
  return found;
}

describe('operations that tell the truth (issue 15)', () => {
  it('--metrics-file keeps one series per command, also when commands end at the same time', async () => {
    const dir = tempDir('ops-metrics');
    const lake = path.join(dir, 'lake');
    const metrics = path.join(dir, 'textfile', 'shopstream.prom');
    mkdirSync(path.dirname(metrics));
    const env = { SHOPSTREAM_LAKE: lake, SHOPSTREAM_METRICS_FILE: metrics };
    expect(cli(['ingest', EVENTS], { env }).status).toBe(0);
    expect(cli(['build-marts'], { env }).status).toBe(0);
    // a failing command keeps its own series beside the others
    expect(cli(['ingest', path.join(dir, 'missing.ndjson')], { env }).status).toBe(65);
    let found = samples(readFileSync(metrics, 'utf8'));
    expect(found.get('shopstream_run_success ingest')).toBe('0');
    expect(found.get('shopstream_run_exit_code ingest')).toBe('65');
    expect(found.get('shopstream_run_success build-marts')).toBe('1');

    // four commands at once: each merges under the lock, none loses another's series
    const together = await Promise.all(
      [['table', 'list'], ['table', 'history', 'raw_events'], ['slo'], ['table', 'show', 'sessions']].map(
        (args) => cliAsync(args, { env }),
      ),
    );
    for (const result of together) expect(result.status, result.stderr).toBe(0);
    const text = readFileSync(metrics, 'utf8');
    found = samples(text);
    for (const command of ['ingest', 'build-marts', 'table list', 'table history', 'slo', 'table show'])
      expect(found.get(`shopstream_run_success ${command}`), command).toBeDefined();
    // one HELP and TYPE per metric (the exposition format refuses repeats), no temp or lock files left
    expect(text.match(/^# TYPE shopstream_run_success gauge$/gm)).toHaveLength(1);
    expect(readdirSync(path.dirname(metrics))).toEqual(['shopstream.prom']);
  });

  it('slo availability counts scheduled runs only and user errors apart', async () => {
    const dir = tempDir('ops-slo');
    const warehouse = path.join(dir, 'wh.duckdb');
    const env = { SHOPSTREAM_LAKE: path.join(dir, 'lake'), SHOPSTREAM_WAREHOUSE: warehouse };
    // interactive: a typo by hand (65) and a good ingest by hand: neither is a scheduled run
    expect(cli(['ingest', path.join(dir, 'typo.ndjson')], { env }).status).toBe(65);
    expect(cli(['ingest', EVENTS], { env }).status).toBe(0);
    // scheduled: `shopstream run` (always), and steps with a scheduler's run id
    expect(cli(['run', EVENTS], { env }).status).toBe(0);
    const scheduled = { ...env, SHOPSTREAM_RUN_ID: 'cron-pipeline-20261202T100500Z-42' };
    expect(cli(['build-marts'], { env: scheduled }).status).toBe(0);
    // a scheduled step given a missing source: the input's fault (65), not the service's
    expect(cli(['ingest', path.join(dir, 'gone.ndjson')], { env: scheduled }).status).toBe(65);
    // a scheduled load that finds the warehouse held by another process (75): the service's
    const holder = spawn(process.execPath, [HOLDER, warehouse], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        let out = '';
        holder.stdout!.setEncoding('utf8');
        holder.stdout!.on('data', (chunk: string) => {
          out += chunk;
          if (out.includes('ready')) resolve();
        });
        holder.once('exit', (code) => reject(new Error(`lock holder exited with ${code}`)));
      });
      expect((await cliAsync(['load'], { env: scheduled })).status).toBe(75);
    } finally {
      holder.stdin!.end();
      if (holder.exitCode === null) await once(holder, 'exit');
    }

    const result = cli(['slo', '--json'], { env });
    expect(result.status, result.stderr + result.stdout).toBe(1);
    const report = json(result.stdout);
    expect(report.runs).toEqual({ scheduled: 4, succeeded: 2, failed: 1, userErrors: 1, interactive: 2 });
    const availability = report.objectives.find((o: { name: string }) => o.name === 'availability');
    expect(availability).toMatchObject({ actual: 2 / 3, met: false });
    expect(availability.detail).toContain('1 user errors');

    const runs = json(
      cli(
        ['query', 'SELECT command, scheduled, exit_code FROM pipeline_runs ORDER BY started_at', '--json'],
        {
          env,
        },
      ).stdout,
    ).rows;
    expect(runs.map((r: { scheduled: boolean }) => r.scheduled)).toEqual([
      false,
      false,
      true,
      true,
      true,
      true,
    ]);
  });

  it('demo honours --warehouse and --metrics-file and leaves no temporary directory', () => {
    const dir = tempDir('ops-demo');
    const tmp = path.join(dir, 'tmp');
    mkdirSync(tmp);
    const metrics = path.join(dir, 'demo.prom');
    const result = cli(['demo', '--json', '--metrics-file', metrics], { env: { TMPDIR: tmp } });
    expect(result.status, result.stderr).toBe(0);
    expect(json(result.stdout)).toMatchObject({
      eventsProcessed: 8,
      temporary: { lake: true, warehouse: true },
    });
    expect(readdirSync(tmp)).toEqual([]);
    expect(samples(readFileSync(metrics, 'utf8')).get('shopstream_run_success demo')).toBe('1');

    const warehouse = path.join(dir, 'kept.duckdb');
    const lake = path.join(dir, 'kept-lake');
    const kept = cli(['demo', '--warehouse', warehouse, '--lake', lake], { env: { TMPDIR: tmp } });
    expect(kept.status, kept.stderr).toBe(0);
    expect(kept.stdout).toContain(`loaded into ${warehouse}`);
    expect(kept.stdout).toContain(`Lake:                  ${lake}`);
    expect(existsSync(warehouse)).toBe(true);
    expect(readdirSync(tmp)).toEqual([]);
  });

  describe('demo on an s3:// lake', () => {
    let s3: TestS3;
    beforeAll(async () => {
      s3 = await startTestS3();
    });
    afterAll(async () => {
      await s3?.stop();
    });

    it('takes the endpoint from --s3-endpoint', async () => {
      // credentials from the environment, the endpoint only from the flag
      const result = await cliAsync(
        ['demo', '--lake', `s3://${s3.bucket}/demo-flag`, '--s3-endpoint', s3.endpoint, '--json'],
        { env: { ...TEST_CREDENTIALS } },
      );
      expect(result.status, result.stderr).toBe(0);
      expect(json(result.stdout)).toMatchObject({ eventsProcessed: 8, anomaliesDetected: 1 });
    });
  });

  it('warehouse init takes --warehouse', async () => {
    const dir = tempDir('ops-init');
    const lake = path.join(dir, 'lake');
    expect(cli(['ingest', EVENTS, '--lake', lake]).status).toBe(0);
    expect(cli(['build-marts', '--lake', lake]).status).toBe(0);
    const file = path.join(dir, 'analysts.duckdb');
    const result = cli(['warehouse', 'init', '--lake', lake, '--warehouse', file, '--json']);
    expect(result.status, result.stderr).toBe(0);
    const db = await DuckDb.open();
    try {
      await db.run(`ATTACH '${file}' AS wh (READ_ONLY)`);
      const [row] = await db.all<{ n: string }>(
        `SELECT count(*) AS n FROM duckdb_tables() WHERE database_name = 'wh' AND table_name = 'sessions'`,
      );
      expect(Number(row!.n)).toBe(1);
    } finally {
      db.close();
    }
  });

  it('report refuses a missing warehouse or lake (64) and writes nothing', () => {
    const dir = tempDir('ops-report');
    const lake = path.join(dir, 'lake');
    expect(cli(['ingest', EVENTS, '--lake', lake]).status).toBe(0);
    expect(cli(['build-marts', '--lake', lake]).status).toBe(0);

    const typo = path.join(dir, 'warehuose.duckdb');
    const missing = cli(['report', 'clv', '--lake', lake, '--warehouse', typo]);
    expect(missing.status, missing.stderr).toBe(64);
    expect(missing.stderr).toContain('WAREHOUSE_NOT_FOUND');
    expect(missing.stderr).toContain(typo);
    expect(existsSync(typo)).toBe(false);

    // a warehouse file without the report's table (nothing loaded yet, or the wrong file)
    const empty = path.join(dir, 'empty.duckdb');
    expect(cli(['load', '--lake', lake, '--warehouse', empty, '--tables', 'sessions']).status).toBe(0);
    const unloaded = cli(['report', 'clv', '--lake', lake, '--warehouse', empty, '--json']);
    expect(unloaded.status, unloaded.stderr).toBe(64);
    expect(json(unloaded.stderr).error).toMatchObject({ code: 'WAREHOUSE_NOT_LOADED' });
    expect(json(unloaded.stderr).error.message).toContain('customer_ltv');

    const out = path.join(dir, 'report.html');
    const noLake = cli(['report', '--out', out, '--lake', path.join(dir, 'lkae')]);
    expect(noLake.status, noLake.stderr).toBe(64);
    expect(noLake.stderr).toContain('LAKE_NOT_FOUND');
    expect(existsSync(out)).toBe(false);
  });

  it('SHOPSTREAM_DUCKDB_TEMP_DIRECTORY moves DuckDB spills off the working directory', () => {
    const dir = tempDir('ops-spill');
    const lake = path.join(dir, 'lake');
    expect(cli(['ingest', EVENTS, '--lake', lake]).status).toBe(0);
    const spill = path.join(dir, 'tmp', 'duckdb'); // parents too: DuckDB creates only the last one
    const result = cli(['query', "SELECT current_setting('temp_directory') AS t", '--lake', lake, '--json'], {
      env: { SHOPSTREAM_DUCKDB_TEMP_DIRECTORY: spill },
    });
    expect(result.status, result.stderr).toBe(0);
    expect(json(result.stdout).rows).toEqual([{ t: spill }]);
    expect(existsSync(spill)).toBe(true);
  });

  it('an unknown command and an out-of-range --max-bad-ratio are usage errors (64)', () => {
    const unknown = cli(['frobnicate']);
    expect(unknown.status).toBe(64);
    expect(unknown.stderr).toContain('UNKNOWN_COMMAND');
    const near = cli(['table', 'lsit', '--json']);
    expect(near.status).toBe(64);
    expect(json(near.stderr).error).toMatchObject({ code: 'UNKNOWN_COMMAND', exitCode: 64 });

    const dir = tempDir('ops-ratio');
    for (const ratio of ['2', '-0.1', 'lots']) {
      const result = cli(['ingest', EVENTS, '--lake', path.join(dir, 'lake'), `--max-bad-ratio=${ratio}`]);
      expect(result.status, ratio).toBe(64);
      expect(result.stderr).toContain('--max-bad-ratio');
    }
    expect(existsSync(path.join(dir, 'lake'))).toBe(false);
  });
});

import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, cli, ROOT, tempDir } from '../helpers/cli.js';

/**
 * The README's walkthrough: the cron script from infra/ running the real CLI on a local lake,
 * hourly pipeline, GDPR inbox and nightly maintenance, as cron would start them.
 */
describe('a scheduled pipeline on local disk (infra/cron)', () => {
  it('runs the pipeline, the GDPR inbox and maintenance with the real CLI', () => {
    const dir = tempDir('cron');
    const bin = path.join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(path.join(bin, 'shopstream'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
    chmodSync(path.join(bin, 'shopstream'), 0o755);
    const landing = path.join(dir, 'landing');
    mkdirSync(landing);
    const lake = path.join(dir, 'lake');
    const warehouse = path.join(dir, 'warehouse.duckdb');
    const envFile = path.join(dir, 'shopstream.env');
    writeFileSync(
      envFile,
      [
        `SHOPSTREAM_LAKE=${lake}`,
        `SHOPSTREAM_WAREHOUSE=${warehouse}`,
        'SHOPSTREAM_PSEUDONYM_KEY=a-secret-of-at-least-16-chars',
        `SHOPSTREAM_METRICS_FILE=${path.join(dir, 'shopstream.prom')}`,
      ].join('\n'),
    );
    expect(
      cli(['generate', '--events', '2000', '--out', path.join(landing, 'events.ndjson'), '--seed', '11'])
        .status,
    ).toBe(0);
    const inbox = path.join(dir, 'requests.txt');
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('SHOPSTREAM_') && v) env[k] = v;
    Object.assign(env, {
      PATH: `${bin}:${process.env.PATH}`,
      PIPELINE_ENV_FILE: envFile,
      PIPELINE_LANDING: landing,
      PIPELINE_GDPR_INBOX: inbox,
      PIPELINE_LOG_DIR: path.join(dir, 'log'),
      PIPELINE_LOCK_FILE: path.join(dir, 'pipeline.lock'),
      PIPELINE_RETRY_PAUSE_SECONDS: '1',
    });
    const script = path.join(ROOT, 'infra/cron/shopstream-pipeline.sh');
    const run = (mode: string) =>
      spawnSync('bash', [script, mode], { env, encoding: 'utf8', timeout: 900_000 });
    const query = (sql: string) =>
      JSON.parse(cli(['query', sql, '--json', '--lake', lake]).stdout).rows as Record<string, unknown>[];

    expect(run('pipeline').status).toBe(0);
    const logs = readdirSync(path.join(dir, 'log'));
    expect(logs).toEqual([expect.stringMatching(/^pipeline-\d{4}-\d{2}-\d{2}\.log$/)]);
    expect(readFileSync(path.join(dir, 'log', logs[0]!), 'utf8')).toMatch(/\] done$/m);
    const runs = query('SELECT DISTINCT command, run_id, outcome FROM pipeline_runs ORDER BY command');
    expect(runs.map((r) => r.command)).toEqual(['build-marts', 'ingest', 'load']);
    expect(new Set(runs.map((r) => r.run_id)).size).toBe(1); // the script's run id on every step
    expect(runs.every((r) => r.outcome === 'ok')).toBe(true);
    expect(readFileSync(path.join(dir, 'shopstream.prom'), 'utf8')).toContain('shopstream_run_success');
    expect(existsSync(warehouse)).toBe(true);

    const [someone] = query('SELECT user_id FROM raw_events ORDER BY user_id LIMIT 1');
    writeFileSync(inbox, `${someone!.user_id}\n`);
    expect(run('gdpr').status).toBe(0);
    expect(existsSync(inbox)).toBe(false);
    expect(query(`SELECT count(*)::INT AS n FROM raw_events WHERE user_id = '${someone!.user_id}'`)).toEqual([
      { n: 0 },
    ]);
    expect(run('maintenance').status).toBe(0);
    const audit = query(
      "SELECT DISTINCT actor FROM audit_log WHERE command IN ('gdpr forget', 'table optimize')",
    );
    expect(audit).toEqual([{ actor: 'cron' }]);
  }, 1_800_000); // three cron runs of the whole pipeline plus queries: tens of CLI processes
});

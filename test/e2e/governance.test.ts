import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, fixture, tempDir } from '../helpers/cli.js';

interface AuditRow {
  command: string;
  actor: string;
  outcome: string;
  exit_code: number;
  error_code: string | null;
  arguments: string;
  reads: string;
  writes: string;
}

describe('audit trail and lineage', () => {
  it('every data-changing command leaves an audit row: who, what (redacted), tables read and written, outcome', () => {
    const dir = tempDir('audit');
    const lake = path.join(dir, 'lake');
    const env = { SHOPSTREAM_ACTOR: 'airflow:daily', SHOPSTREAM_LAKE: lake };
    const run = (args: string[]) => cli(args, { env, cwd: dir });
    expect(run(['ingest', fixture('demo', 'events.ndjson')]).status).toBe(0);
    expect(run(['build-marts']).status).toBe(0);
    expect(run(['query', 'SELECT count(*) FROM raw_events']).status).toBe(0);
    const missing = run(['ingest', path.join(dir, 'nope.ndjson')]);
    expect(missing.status).not.toBe(0);
    // Redis is unreachable: the lake part is done, the command fails (69) and says so in the audit
    const forget = run([
      'gdpr',
      'forget',
      '--user',
      'usr_001',
      '--no-warehouse',
      '--redis-url',
      'redis://:hunter2@127.0.0.1:1',
    ]);
    expect(forget.status, forget.stderr).toBe(69);

    const result = run([
      'query',
      'SELECT command, actor, outcome, exit_code, error_code, arguments, reads, writes FROM audit_log ORDER BY started_at',
      '--json',
    ]);
    expect(result.status, result.stderr).toBe(0);
    const rows = JSON.parse(result.stdout).rows as AuditRow[];
    expect(rows.map((r) => [r.command, r.outcome, r.exit_code])).toEqual([
      ['ingest', 'ok', 0],
      ['build-marts', 'ok', 0],
      ['ingest', 'error', missing.status],
      ['gdpr forget', 'error', 69],
    ]);
    expect(rows.every((r) => r.actor === 'airflow:daily')).toBe(true);
    const [ingest, build, , gdpr] = rows;
    expect(JSON.parse(ingest!.writes)).toEqual(
      expect.arrayContaining([expect.objectContaining({ table: 'raw_events', version: 0 })]),
    );
    expect(JSON.parse(build!.reads)).toEqual(
      expect.arrayContaining([expect.objectContaining({ table: 'raw_events', version: 1 })]),
    );
    expect(JSON.parse(build!.writes).map((w: { table: string }) => w.table)).toContain('customer_ltv');
    expect(gdpr!.error_code).toBe('REDIS_UNAVAILABLE');
    expect(
      JSON.parse(gdpr!.writes).map((w: { table: string; operation: string }) => `${w.table}:${w.operation}`),
    ).toContain('raw_events:DELETE');
    // neither the user id nor the password is kept
    expect(gdpr!.arguments).not.toContain('usr_001');
    expect(gdpr!.arguments).not.toContain('hunter2');
    expect(JSON.parse(gdpr!.arguments)).toEqual([
      '--user',
      '[redacted]',
      '--no-warehouse',
      '--redis-url',
      'redis://***@127.0.0.1:1',
    ]);
  });

  it('lineage follows a mart back through raw_events to the ingested files', () => {
    const dir = tempDir('lineage');
    const lake = path.join(dir, 'lake');
    const env = { SHOPSTREAM_LAKE: lake };
    expect(cli(['ingest', fixture('demo', 'events.ndjson')], { env }).status).toBe(0);
    expect(cli(['ingest', fixture('ingest', 'events.csv'), '--max-bad-ratio', '1'], { env }).status).toBe(0);
    expect(cli(['table', 'optimize', 'raw_events'], { env }).status).toBe(0);
    expect(cli(['build-marts'], { env }).status).toBe(0);
    const result = cli(['lineage', 'fraud_flags', '--json'], { env });
    expect(result.status, result.stderr).toBe(0);
    const tree = JSON.parse(result.stdout);
    expect(tree.table).toBe('fraud_flags');
    const inputs = tree.inputs.map((n: { table: string }) => n.table);
    expect(inputs).toEqual(['fraud_user_minute', 'raw_events', 'sessions']);
    const raw = tree.inputs.find((n: { table: string }) => n.table === 'raw_events');
    expect(raw.sources).toEqual([fixture('demo', 'events.ndjson'), fixture('ingest', 'events.csv')]);
    // the compaction is traced back to the two ingest commits whose rows it carries
    expect(raw.commits.map((c: { operation: string }) => c.operation)).toEqual(
      expect.arrayContaining(['WRITE']),
    );
    const text = cli(['lineage', 'customer_ltv'], { env });
    expect(text.stdout).toContain(`<- ${fixture('demo', 'events.ndjson')}`);
  });
});

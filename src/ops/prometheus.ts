import { randomUUID } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import { configError, unavailableError } from '../errors.js';
import { redactSecrets } from '../governance/redact.js';
import { durationMs, type RunRecord, throughputPerSecond } from './pipeline-runs.js';

/**
 * The run in the Prometheus text exposition format (version 0.0.4): gauges labelled by command,
 * for node_exporter's textfile collector or a Pushgateway.
 */
export function prometheusText(run: RunRecord): string {
  const labels = `command="${run.command.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
  const gauges: [string, string, number | null][] = [
    [
      'shopstream_run_success',
      'Whether the last run succeeded (1) or failed (0).',
      run.exitCode === 0 ? 1 : 0,
    ],
    ['shopstream_run_exit_code', 'Exit code of the last run.', run.exitCode],
    [
      'shopstream_run_last_timestamp_seconds',
      'When the last run ended (Unix time).',
      run.finishedAt.getTime() / 1000,
    ],
    ['shopstream_run_duration_seconds', 'Wall time of the last run.', durationMs(run) / 1000],
    ['shopstream_run_rows_in', 'Events read by the last run.', run.rowsIn],
    ['shopstream_run_rows_out', 'Rows committed by the last run.', run.rowsOut],
    ['shopstream_run_quarantined', 'Records quarantined by the last run.', run.quarantined],
    ['shopstream_run_quality_ratio', 'Lowest data quality ratio of the last run.', run.qualityRatio],
    [
      'shopstream_run_throughput_per_second',
      'Events read per second of the last run.',
      throughputPerSecond(run),
    ],
    [
      'shopstream_run_latency_p95_seconds',
      'Micro-batch arrival-to-alert latency p95 of the last run.',
      run.latencyP95Ms === null ? null : run.latencyP95Ms / 1000,
    ],
  ];
  const lines: string[] = [];
  for (const [name, help, value] of gauges) {
    if (value === null || !Number.isFinite(value)) continue;
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name}{${labels}} ${value}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Writes the metrics file atomically (the textfile collector must never read half a file). */
export async function writeMetricsFile(file: string, run: RunRecord): Promise<void> {
  const temp = `${file}.${randomUUID()}.tmp`;
  await writeFile(temp, prometheusText(run));
  await rename(temp, file);
}

/**
 * PUTs the metrics to a Pushgateway under job `shopstream`, grouped by command. Credentials in the
 * URL (`https://user:pw@host`) go in a Basic Authorization header: fetch refuses them in the URL.
 */
export async function pushMetrics(gateway: string, run: RunRecord): Promise<void> {
  let parsed: URL;
  try {
    parsed = new URL(gateway);
  } catch (error) {
    throw configError('PUSHGATEWAY_URL', `the Pushgateway URL ${redactSecrets(gateway)} does not parse`, {
      cause: error,
      suggestions: ['percent-encode @, / and : inside the user name and password'],
    });
  }
  const authorization =
    parsed.username || parsed.password
      ? `Basic ${Buffer.from(`${decoded(parsed.username)}:${decoded(parsed.password)}`).toString('base64')}`
      : undefined;
  parsed.username = '';
  parsed.password = '';
  const base = parsed.href.replace(/\/+$/, '');
  const url = `${base}/metrics/job/shopstream/command/${encodeURIComponent(run.command)}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'PUT',
      headers: {
        'content-type': 'text/plain; version=0.0.4',
        ...(authorization ? { authorization } : {}),
      },
      body: prometheusText(run),
      // 30 s as Prometheus' Python client: a slow host must not lose its metrics (10 s did under
      // load), a dead gateway must not hold a cron job
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    throw unavailableError(
      'PUSHGATEWAY_UNAVAILABLE',
      `cannot reach the Pushgateway at ${redactSecrets(base)}`,
      {
        cause: error,
      },
    );
  }
  if (!response.ok) {
    throw unavailableError(
      'PUSHGATEWAY_REFUSED',
      `the Pushgateway answered ${response.status} for ${redactSecrets(url)}`,
    );
  }
}

/** Percent-decoded userinfo; a `%` not followed by two hex digits stays as typed. */
function decoded(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

import { randomUUID } from 'node:crypto';
import { open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { configError, unavailableError } from '../errors.js';
import { redactSecrets } from '../util/redact.js';
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

/**
 * Writes this command's series into the metrics file, keeping the other commands' series: one
 * file holds the latest run of every command, one series per `command` label, as node_exporter's
 * textfile collector expects. Concurrent commands merge under a lock file beside it (`FILE.lock`,
 * created exclusively), and the file is replaced by a rename, so the collector never reads half
 * a file and no command's series is lost.
 */
export async function writeMetricsFile(file: string, run: RunRecord): Promise<void> {
  await withLockFile(`${file}.lock`, async () => {
    let previous = '';
    try {
      previous = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const temp = `${file}.${randomUUID()}.tmp`;
    try {
      await writeFile(temp, mergeMetrics(previous, prometheusText(run)));
      await rename(temp, file);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  });
}

interface Family {
  help?: string;
  type?: string;
  samples: Map<string, string>;
}

/**
 * Merges two texts in the exposition format: families in order of first appearance, HELP and TYPE
 * once each, a sample of `update` replacing the sample with the same name and labels in `base`.
 */
export function mergeMetrics(base: string, update: string): string {
  const families = new Map<string, Family>();
  const family = (name: string) => {
    let found = families.get(name);
    if (!found) {
      found = { samples: new Map() };
      families.set(name, found);
    }
    return found;
  };
  for (const text of [base, update]) {
    for (const line of text.split('\n')) {
      const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
      if (meta) {
        const f = family(meta[2]!);
        if (meta[1] === 'HELP') f.help = meta[3]!;
        else f.type = meta[3]!;
        continue;
      }
      const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(.+)$/.exec(line);
      if (sample) family(sample[1]!).samples.set(sample[2] ?? '', sample[3]!);
    }
  }
  const lines: string[] = [];
  for (const [name, f] of families) {
    if (f.samples.size === 0) continue;
    if (f.help !== undefined) lines.push(`# HELP ${name} ${f.help}`);
    if (f.type !== undefined) lines.push(`# TYPE ${name} ${f.type}`);
    for (const [labels, value] of f.samples) lines.push(`${name}${labels} ${value}`);
  }
  return `${lines.join('\n')}\n`;
}

/** A lock older than this was left by a killed process (a merge takes milliseconds). */
const STALE_LOCK_MS = 60_000;
const LOCK_WAIT_MS = 120_000;

async function withLockFile<T>(lock: string, fn: () => Promise<T>): Promise<T> {
  const giveUp = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const handle = await open(lock, 'wx');
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const since = await stat(lock).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (since > STALE_LOCK_MS) await rm(lock, { force: true });
      else if (Date.now() > giveUp) {
        throw unavailableError('METRICS_FILE_LOCKED', `${lock} has been held for ${since} ms`, {
          suggestions: [`remove ${lock} if no shopstream command is running`],
        });
      } else await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 30));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { force: true });
  }
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

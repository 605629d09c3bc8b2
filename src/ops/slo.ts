import { METRICS_MICROBATCH } from '../catalog/tables/metrics-microbatch.js';
import { PIPELINE_RUNS } from '../catalog/tables/pipeline-runs.js';
import type { Config } from '../config/config-schema.js';
import type { Lake } from '../lake/table/lake.js';

/** The pipeline commands whose scheduled runs' success rate is the pipeline's availability. */
export const SCHEDULED_COMMANDS = ['run', 'ingest', 'build-marts', 'load'] as const;
/**
 * Exit codes of failures that are the caller's, not the service's: usage (64), bad data (65),
 * configuration (78). They are counted apart and not against availability.
 */
export const USER_ERROR_EXIT_CODES = [64, 65, 78] as const;

export interface Objective {
  readonly name: 'availability' | 'latency_p95_ms' | 'throughput_per_s' | 'data_quality';
  readonly target: number;
  /** How actual must compare to target. */
  readonly comparator: '>=' | '<';
  /** null: no data in the range. */
  readonly actual: number | null;
  /** null: no data (not a breach). */
  readonly met: boolean | null;
  readonly detail: string;
}

export interface RunCounts {
  /** Scheduled runs: a scheduler's run id (SHOPSTREAM_RUN_ID) or `shopstream run`. */
  readonly scheduled: number;
  readonly succeeded: number;
  /** Scheduled runs that failed on the service's side (69, 70, 75, ...): against availability. */
  readonly failed: number;
  /** Scheduled runs that failed on usage, bad data or configuration (64, 65, 78): not counted. */
  readonly userErrors: number;
  /** Pipeline commands run by hand (no scheduler run id): not counted. */
  readonly interactive: number;
}

export interface SloReport {
  readonly from: string;
  readonly to: string;
  readonly objectives: readonly Objective[];
  /** The pipeline command runs in range, as availability counts them. */
  readonly runs: RunCounts;
  /** False when any objective with data is breached. */
  readonly met: boolean;
}

/**
 * Checks the seed's SLOs over a time range from the lake's own records: availability of the
 * scheduled runs (pipeline_runs), micro-batch latency p95 (metrics_microbatch, else the runs'
 * p95), throughput of ingesting runs large enough to measure, and the runs' mean data quality.
 */
export async function checkSlos(
  lake: Lake,
  slo: Config['slo'],
  range: { readonly from: Date; readonly to: Date },
): Promise<SloReport> {
  const db = lake.db;
  const params = { from: range.from.toISOString(), to: range.to.toISOString() };
  const runsTable = lake.table(PIPELINE_RUNS);
  const hasRuns = await runsTable.exists();
  if (hasRuns) await runsTable.register('__slo_runs');
  else await db.run('CREATE OR REPLACE TEMP VIEW __slo_runs AS SELECT * FROM (SELECT 1) WHERE false');

  const within = `started_at >= CAST($from AS TIMESTAMPTZ) AND started_at < CAST($to AS TIMESTAMPTZ)`;
  const pipelineCommand = `command IN (${SCHEDULED_COMMANDS.map((c) => `'${c}'`).join(', ')})`;
  // rows written before the scheduled column existed: only `shopstream run` is known to be scheduled
  const hasScheduled =
    hasRuns && (await runsTable.snapshot()).schema.fields.some((f) => f.name === 'scheduled');
  const scheduled = `${pipelineCommand} AND ${hasScheduled ? "coalesce(scheduled, command = 'run')" : "command = 'run'"}`;
  const userError = `exit_code IN (${USER_ERROR_EXIT_CODES.join(', ')})`;
  const [runs] = hasRuns
    ? await db.all<{
        total: string;
        ok: string;
        user_errors: string;
        interactive: string;
        quality: number | null;
        quality_runs: string;
        rows: string;
        ms: string;
      }>(
        `SELECT count(*) FILTER (WHERE ${scheduled}) AS total,
                count(*) FILTER (WHERE ${scheduled} AND exit_code = 0) AS ok,
                count(*) FILTER (WHERE ${scheduled} AND ${userError}) AS user_errors,
                count(*) FILTER (WHERE ${pipelineCommand} AND NOT (${scheduled})) AS interactive,
                avg(quality_ratio) AS quality, count(quality_ratio) AS quality_runs,
                coalesce(sum(rows_in) FILTER (WHERE rows_in >= $min_rows AND exit_code = 0), 0) AS rows,
                coalesce(sum(duration_ms) FILTER (WHERE rows_in >= $min_rows AND exit_code = 0), 0) AS ms
         FROM __slo_runs WHERE ${within}`,
        { ...params, min_rows: String(slo.throughputMinRows) },
      )
    : [undefined];

  let latency: { p95: number | null; batches: number; source: string } = {
    p95: null,
    batches: 0,
    source: '',
  };
  const microbatch = lake.table(METRICS_MICROBATCH);
  if (await microbatch.exists()) {
    await microbatch.register('__slo_batches');
    // arrival to alerts out (the wait for the batch included); tables from before it: batch latency
    const hasArrivalLag = (await microbatch.snapshot()).schema.fields.some(
      (f) => f.name === 'arrival_lag_ms',
    );
    const measure = hasArrivalLag ? 'coalesce(arrival_lag_ms, batch_latency_ms)' : 'batch_latency_ms';
    const [row] = await db.all<{ p95: number | null; n: string }>(
      `SELECT quantile_disc(${measure}, 0.95) AS p95, count(*) AS n FROM __slo_batches
       WHERE batch_at >= CAST($from AS TIMESTAMPTZ) AND batch_at < CAST($to AS TIMESTAMPTZ) AND events > 0`,
      params,
    );
    latency = { p95: row?.p95 ?? null, batches: Number(row?.n ?? 0), source: METRICS_MICROBATCH };
  }
  if (latency.p95 === null && hasRuns) {
    const [row] = await db.all<{ p95: number | null; n: string }>(
      `SELECT max(latency_p95_ms) AS p95, count(latency_p95_ms) AS n FROM __slo_runs WHERE ${within}`,
      params,
    );
    latency = { p95: row?.p95 ?? null, batches: Number(row?.n ?? 0), source: PIPELINE_RUNS };
  }

  const total = Number(runs?.total ?? 0);
  const ok = Number(runs?.ok ?? 0);
  const userErrors = Number(runs?.user_errors ?? 0);
  const counted = total - userErrors;
  const counts: RunCounts = {
    scheduled: total,
    succeeded: ok,
    failed: counted - ok,
    userErrors,
    interactive: Number(runs?.interactive ?? 0),
  };
  const rows = Number(runs?.rows ?? 0);
  const ms = Number(runs?.ms ?? 0);
  const availability = counted > 0 ? ok / counted : null;
  const throughput = ms > 0 ? (rows / ms) * 1000 : null;
  const quality = runs?.quality ?? null;
  const objectives: Objective[] = [
    objective(
      'availability',
      slo.availability,
      '>=',
      availability,
      `${ok} of ${counted} scheduled runs succeeded (not counted: ${userErrors} user errors (exit 64/65/78), ${counts.interactive} interactive runs)`,
    ),
    objective(
      'latency_p95_ms',
      slo.latencyP95Ms,
      '<',
      latency.p95 === null ? null : Number(latency.p95),
      latency.p95 === null
        ? 'no micro-batch latencies in range'
        : `p95 over ${latency.batches} batches (${latency.source})`,
    ),
    objective(
      'throughput_per_s',
      slo.minThroughputPerSecond,
      '>=',
      throughput,
      throughput === null
        ? `no successful run read ${slo.throughputMinRows} events or more`
        : `${rows} events in ${(ms / 1000).toFixed(1)} s of runs with >= ${slo.throughputMinRows} events`,
    ),
    objective(
      'data_quality',
      slo.minQualityRatio,
      '>=',
      quality === null ? null : Number(quality),
      `mean quality ratio of ${Number(runs?.quality_runs ?? 0)} runs`,
    ),
  ];
  await db.run('DROP VIEW IF EXISTS __slo_runs');
  await db.run('DROP VIEW IF EXISTS __slo_batches');
  return {
    from: params.from,
    to: params.to,
    objectives,
    runs: counts,
    met: objectives.every((o) => o.met !== false),
  };
}

function objective(
  name: Objective['name'],
  target: number,
  comparator: Objective['comparator'],
  actual: number | null,
  detail: string,
): Objective {
  const met = actual === null ? null : comparator === '>=' ? actual >= target : actual < target;
  return { name, target, comparator, actual, met, detail };
}

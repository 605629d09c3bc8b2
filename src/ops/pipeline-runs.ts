import type { Lake } from '../lake/lake.js';
import type { ColumnDef } from '../lake/schema.js';

export const PIPELINE_RUNS = 'pipeline_runs';

const RUN_COLUMNS: readonly ColumnDef[] = [
  {
    name: 'run_id',
    type: 'string',
    nullable: false,
    comment: 'Stamped on every commit and load of the run.',
  },
  { name: 'command', type: 'string', nullable: false, comment: 'ingest, build-marts, load, run, ...' },
  { name: 'started_at', type: 'timestamp', nullable: false, comment: 'Start.' },
  { name: 'finished_at', type: 'timestamp', nullable: false, comment: 'End.' },
  { name: 'duration_ms', type: 'long', nullable: false, comment: 'Wall time.' },
  { name: 'rows_in', type: 'long', nullable: false, comment: 'Events read.' },
  { name: 'rows_out', type: 'long', nullable: false, comment: 'Rows committed (landed, built, loaded).' },
  { name: 'quarantined', type: 'long', nullable: false, comment: 'Records refused.' },
  { name: 'quality_ratio', type: 'double', comment: 'Lowest quality ratio of its stages.' },
  { name: 'latency_p50_ms', type: 'double', comment: 'Micro-batch arrival-to-alert latency, median.' },
  { name: 'latency_p95_ms', type: 'double', comment: 'Micro-batch arrival-to-alert latency, p95.' },
  { name: 'throughput_per_s', type: 'double', comment: 'rows_in per second of wall time.' },
  { name: 'outcome', type: 'string', nullable: false, comment: 'ok or error.' },
  { name: 'exit_code', type: 'integer', nullable: false, comment: 'The documented exit code.' },
  { name: 'error_code', type: 'string', comment: 'shopstream error code on failure.' },
  { name: 'dt', type: 'date', nullable: false, comment: 'UTC date of started_at (partition).' },
];

/** One command run, as pipeline_runs and the Prometheus metrics describe it. */
export interface RunRecord {
  readonly runId: string;
  readonly command: string;
  readonly startedAt: Date;
  readonly finishedAt: Date;
  readonly rowsIn: number;
  readonly rowsOut: number;
  readonly quarantined: number;
  readonly qualityRatio: number | null;
  readonly latencyP50Ms: number | null;
  readonly latencyP95Ms: number | null;
  readonly exitCode: number;
  readonly errorCode: string | null;
}

export const durationMs = (run: RunRecord): number => run.finishedAt.getTime() - run.startedAt.getTime();

export const throughputPerSecond = (run: RunRecord): number | null => {
  const ms = durationMs(run);
  return ms > 0 ? (run.rowsIn / ms) * 1000 : null;
};

/** Appends the run to the lake's `pipeline_runs` table. */
export async function appendPipelineRun(lake: Lake, run: RunRecord): Promise<number> {
  const table = lake.table(PIPELINE_RUNS);
  await table.ensure({
    columns: RUN_COLUMNS,
    partitionColumns: ['dt'],
    description: 'One row per shopstream command run: volumes, quality, latency, outcome (for SLOs).',
  });
  const db = lake.db;
  await db.run(
    `CREATE OR REPLACE TEMP TABLE __pipeline_run AS
     SELECT $run_id AS run_id, $command AS command, CAST($started AS TIMESTAMPTZ) AS started_at,
            CAST($finished AS TIMESTAMPTZ) AS finished_at, CAST($duration AS BIGINT) AS duration_ms,
            CAST($rows_in AS BIGINT) AS rows_in, CAST($rows_out AS BIGINT) AS rows_out,
            CAST($quarantined AS BIGINT) AS quarantined, CAST($quality AS DOUBLE) AS quality_ratio,
            CAST($p50 AS DOUBLE) AS latency_p50_ms, CAST($p95 AS DOUBLE) AS latency_p95_ms,
            CAST($throughput AS DOUBLE) AS throughput_per_s,
            CASE WHEN $exit_code = '0' THEN 'ok' ELSE 'error' END AS outcome,
            CAST($exit_code AS INTEGER) AS exit_code, $error_code AS error_code,
            CAST(CAST($started AS TIMESTAMPTZ) AS DATE) AS dt`,
    {
      run_id: run.runId,
      command: run.command,
      started: run.startedAt.toISOString(),
      finished: run.finishedAt.toISOString(),
      duration: String(durationMs(run)),
      rows_in: String(run.rowsIn),
      rows_out: String(run.rowsOut),
      quarantined: String(run.quarantined),
      quality: run.qualityRatio === null ? null : String(run.qualityRatio),
      p50: run.latencyP50Ms === null ? null : String(run.latencyP50Ms),
      p95: run.latencyP95Ms === null ? null : String(run.latencyP95Ms),
      throughput: throughputPerSecond(run) === null ? null : String(throughputPerSecond(run)),
      exit_code: String(run.exitCode),
      error_code: run.errorCode,
    },
  );
  const result = await table.write({ relation: '__pipeline_run', mode: 'append', operation: 'WRITE' });
  await db.run('DROP TABLE __pipeline_run');
  return result.version;
}

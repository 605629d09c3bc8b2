import { appendRows } from '../lake/table/append-rows.js';
import type { ColumnDef } from '../lake/table/columns.js';
import type { Lake } from '../lake/table/lake.js';

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
  {
    name: 'scheduled',
    type: 'boolean',
    comment: 'Run id from a scheduler (SHOPSTREAM_RUN_ID) or `shopstream run`: counts for availability.',
  },
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
  /** Started by a scheduler (it passed the run id) or as `shopstream run`; not an interactive command. */
  readonly scheduled: boolean;
}

export const durationMs = (run: RunRecord): number => run.finishedAt.getTime() - run.startedAt.getTime();

export const throughputPerSecond = (run: RunRecord): number | null => {
  const ms = durationMs(run);
  return ms > 0 ? (run.rowsIn / ms) * 1000 : null;
};

/** Appends the run to the lake's `pipeline_runs` table. */
export async function appendPipelineRun(lake: Lake, run: RunRecord): Promise<number> {
  const started = run.startedAt.toISOString();
  return appendRows(
    lake,
    PIPELINE_RUNS,
    {
      columns: RUN_COLUMNS,
      partitionColumns: ['dt'],
      description: 'One row per shopstream command run: volumes, quality, latency, outcome (for SLOs).',
    },
    [
      {
        run_id: run.runId,
        command: run.command,
        started_at: started,
        finished_at: run.finishedAt.toISOString(),
        duration_ms: durationMs(run),
        rows_in: run.rowsIn,
        rows_out: run.rowsOut,
        quarantined: run.quarantined,
        quality_ratio: run.qualityRatio,
        latency_p50_ms: run.latencyP50Ms,
        latency_p95_ms: run.latencyP95Ms,
        throughput_per_s: throughputPerSecond(run),
        outcome: run.exitCode === 0 ? 'ok' : 'error',
        exit_code: run.exitCode,
        error_code: run.errorCode,
        scheduled: run.scheduled ? 'true' : 'false',
        dt: started.slice(0, 10),
      },
    ],
    { commitProperties: { runId: run.runId } },
  );
}

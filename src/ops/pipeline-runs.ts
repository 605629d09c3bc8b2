import { PIPELINE_RUNS, PIPELINE_RUNS_TABLE } from '../catalog/tables/pipeline-runs.js';
import { appendRows } from '../lake/table/append-rows.js';
import type { Lake } from '../lake/table/lake.js';

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
    PIPELINE_RUNS_TABLE.definition,
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

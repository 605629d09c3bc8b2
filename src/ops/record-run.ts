import type { Config } from '../config/config-schema.js';
import { appendAudit } from '../governance/audit.js';
import type { TableVersion } from '../lake/log/activity.js';
import { closeLake, openLake } from '../lake/table/open-lake.js';
import type { RunRecord } from './pipeline-runs.js';
import { appendPipelineRun } from './pipeline-runs.js';
import { pushMetrics, writeMetricsFile } from './prometheus.js';

export interface CommandRun extends RunRecord {
  readonly argv: readonly string[];
  readonly actor: string;
  readonly errorMessage: string | null;
  readonly reads: readonly TableVersion[];
  readonly writes: readonly TableVersion[];
}

export interface RecordTargets {
  /** Append to the lake's audit_log and pipeline_runs (data-changing commands). */
  readonly lakeTables: boolean;
  readonly metricsFile?: string;
  readonly pushgateway?: string;
}

/**
 * Records a finished command: the audit row and the run row in the lake, and the Prometheus
 * metrics. Each part is attempted; the failures are returned (the caller warns, never fails on them).
 */
export async function recordCommandRun(
  config: Config,
  run: CommandRun,
  targets: RecordTargets,
): Promise<string[]> {
  const failures: string[] = [];
  const attempt = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (error) {
      failures.push(`${what} not written: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  if (targets.lakeTables) {
    await attempt('audit_log and pipeline_runs', async () => {
      const lake = await openLake(config);
      try {
        await attempt('audit_log', () =>
          appendAudit(
            lake,
            {
              command: run.command,
              argv: run.argv,
              actor: run.actor,
              startedAt: run.startedAt,
              finishedAt: run.finishedAt,
              exitCode: run.exitCode,
              ...(run.errorCode ? { errorCode: run.errorCode } : {}),
              ...(run.errorMessage ? { errorMessage: run.errorMessage } : {}),
              reads: run.reads,
              writes: run.writes,
            },
            { runId: run.runId },
          ),
        );
        await attempt('pipeline_runs', () => appendPipelineRun(lake, run));
      } finally {
        closeLake(lake);
      }
    });
  }
  const { metricsFile, pushgateway } = targets;
  if (metricsFile) await attempt(`metrics file ${metricsFile}`, () => writeMetricsFile(metricsFile, run));
  if (pushgateway) await attempt('Pushgateway metrics', () => pushMetrics(pushgateway, run));
  return failures;
}

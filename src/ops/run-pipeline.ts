import { rm } from 'node:fs/promises';
import type { Config } from '../config/config-schema.js';
import { isShopstreamError } from '../errors.js';
import type { ForgetReceipt } from '../governance/erasure-receipt.js';
import { localLakeDirs } from '../governance/erasure-scan.js';
import { readUserIdsFile } from '../governance/erasure-users.js';
import { forgetUsers } from '../governance/gdpr.js';
import type { UserFlagStore } from '../governance/user-flags.js';
import { type IngestSummary, ingest } from '../ingest/ingest.js';
import { configuredIngestOptions } from '../ingest/ingest-options.js';
import type { Lake } from '../lake/table/lake.js';
import { currentRun } from '../runtime/run-context.js';
import { S3Store } from '../storage/s3-store.js';
import { type BuildSummary, buildMarts } from '../transforms/build-marts.js';
import { type LoadSummary, loadWarehouse } from '../warehouse/load.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { badRatioError, failedChecksError } from './quality-gate.js';

export type StageName = 'ingest' | 'gdpr' | 'build-marts' | 'load';

export interface StageResult {
  readonly stage: StageName;
  readonly status: 'ok' | 'skipped' | 'failed';
  readonly durationMs: number;
  readonly detail?: string;
}

export interface PipelineOptions {
  readonly config: Config;
  /** Event sources for ingest; none: the stage is skipped. */
  readonly sources: readonly string[];
  /** A file of user ids to forget after ingest (skipped when absent or missing). */
  readonly gdprFile?: string;
  /** Opens the warehouse for load (and GDPR deletes there); undefined: no load. */
  readonly openWarehouse?: () => Promise<Warehouse>;
  /** The micro-batch's fraud flags (Redis): forgotten users' flags are deleted there too. */
  readonly userFlags?: UserFlagStore;
  readonly actor: string;
  /** Accept failed quality checks (as build-marts --warn-only). */
  readonly warnOnly?: boolean;
  readonly onStage?: (stage: StageName) => void;
}

export interface PipelineSummary {
  readonly runId: string;
  readonly stages: readonly StageResult[];
  readonly ingest?: IngestSummary;
  readonly gdpr?: ForgetReceipt;
  readonly build?: BuildSummary;
  readonly load?: LoadSummary;
  /** The error that stopped the run, when one did (the stages after it did not run). */
  readonly error?: unknown;
}

/**
 * The scheduled pipeline in one process and one run id: ingest → GDPR requests → build-marts →
 * load. Every stage is idempotent, so a rerun after a failure redoes only what is missing; the
 * first failing stage stops the run and its error (with its exit code) is returned.
 */
export async function runPipeline(lake: Lake, options: PipelineOptions): Promise<PipelineSummary> {
  const { config } = options;
  const stages: StageResult[] = [];
  const out: { ingest?: IngestSummary; gdpr?: ForgetReceipt; build?: BuildSummary; load?: LoadSummary } = {};
  let warehouse: Warehouse | undefined;
  const stage = async (name: StageName, skip: string | undefined, fn: () => Promise<string | undefined>) => {
    if (skip !== undefined) {
      stages.push({ stage: name, status: 'skipped', durationMs: 0, detail: skip });
      return;
    }
    options.onStage?.(name);
    const started = Date.now();
    try {
      const detail = await fn();
      stages.push({
        stage: name,
        status: 'ok',
        durationMs: Date.now() - started,
        ...(detail ? { detail } : {}),
      });
    } catch (error) {
      stages.push({
        stage: name,
        status: 'failed',
        durationMs: Date.now() - started,
        detail: error instanceof Error ? error.message : String(error),
      });
      throw error;
    }
  };
  try {
    await stage('ingest', options.sources.length === 0 ? 'no sources given' : undefined, async () => {
      const summary = await ingest(lake, {
        ...configuredIngestOptions(config, options.sources),
        runId: currentRun.id,
      });
      out.ingest = summary;
      const tooManyBad = badRatioError(summary, 'ingest.maxBadRatio');
      if (tooManyBad) throw tooManyBad;
      return `${summary.written} events landed, ${summary.quarantined} quarantined`;
    });
    const userIds = options.gdprFile
      ? await readUserIdsFile(options.gdprFile, { missingOk: true })
      : undefined;
    if (options.openWarehouse) warehouse = await options.openWarehouse();
    await stage('gdpr', userIds?.length ? undefined : 'no deletion requests', async () => {
      const localDirs = localLakeDirs(lake.store.uri, lake.store instanceof S3Store);
      out.gdpr = await forgetUsers(lake, {
        userIds: userIds!,
        ...(config.privacy.pseudonymKey ? { pseudonymSecret: config.privacy.pseudonymKey } : {}),
        ...(warehouse ? { warehouse } : {}),
        ...(options.userFlags ? { userFlags: options.userFlags } : {}),
        actor: options.actor,
        runId: currentRun.id,
        ...(config.gdpr.signingKeyPath ? { signingKeyPath: config.gdpr.signingKeyPath } : {}),
        localDirs: localDirs.owned,
        sharedCacheDirs: localDirs.shared,
      });
      const left = out.gdpr.verification.findings.length;
      // kept when the verification scan still finds them: the next run tries again
      if (left > 0)
        return `${out.gdpr.requests.length} users: ${left} file(s) still hold them (see the receipt)`;
      // consumed: the receipt stays in deletion_requests (keys only), the ids leave with the file
      await rm(options.gdprFile!, { force: true });
      return `${out.gdpr.requests.length} users forgotten, ${out.gdpr.rowsDeleted} rows deleted`;
    });
    await stage('build-marts', undefined, async () => {
      const summary = await buildMarts(lake, {
        config: config.marts,
        pseudonymSecret: config.privacy.pseudonymKey,
        runId: currentRun.id,
      });
      out.build = summary;
      const failed = failedChecksError(summary.quality, { warnOnly: options.warnOnly });
      if (failed) throw failed;
      return `${summary.mode}; quality ${summary.quality.qualityRatio}`;
    });
    await stage('load', warehouse ? undefined : 'no warehouse', async () => {
      out.load = await loadWarehouse(lake, warehouse!, { runId: currentRun.id });
      const rows = out.load.tables.reduce((sum, t) => sum + t.rowsInserted, 0);
      return `${rows} rows loaded into ${out.load.tables.length} tables`;
    });
    return { runId: currentRun.id, stages, ...out };
  } catch (error) {
    if (!isShopstreamError(error)) throw error;
    return { runId: currentRun.id, stages, ...out, error };
  } finally {
    await warehouse?.close();
  }
}

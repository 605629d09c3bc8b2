import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config/config-schema.js';
import { loadSql } from '../engine/sql-files.js';
import { type IngestSummary, ingest } from '../ingest/ingest.js';
import { configuredIngestOptions } from '../ingest/ingest-options.js';
import { closeLake, openLake } from '../lake/table/open-lake.js';
import { type BuildSummary, buildMarts } from '../transforms/build-marts.js';
import { DuckDbWarehouse } from '../warehouse/duckdb-warehouse.js';
import { type LoadSummary, loadWarehouse } from '../warehouse/load.js';
import { runReport } from '../warehouse/reports.js';

export const DEMO_FIXTURE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../fixtures/demo/events.ndjson',
);

export interface DemoOptions {
  /** Lake to use; a fresh temp directory when absent. */
  readonly lake?: string;
  readonly config: Config;
  readonly source?: string;
  /** Warehouse file to load; a fresh temporary one when absent. */
  readonly warehouse?: string;
}

export interface PipelineResults {
  readonly lake: string;
  /**
   * The lake and/or the warehouse were a temporary directory, removed before returning: pass
   * --lake DIR and --warehouse FILE to keep them.
   */
  readonly temporary: { readonly lake: boolean; readonly warehouse: boolean };
  readonly eventsProcessed: number;
  readonly anomaliesDetected: number;
  readonly anomalousUsers: readonly string[];
  readonly fraudValueFlagged: number;
  readonly viewToCartRate: number | null;
  readonly processingLatencyMs: number;
  readonly stages: readonly { readonly stage: string; readonly ms: number }[];
  readonly ingest: IngestSummary;
  readonly build: BuildSummary;
  readonly warehouse: {
    readonly path: string;
    readonly tablesLoaded: number;
    readonly rowsLoaded: number;
    /** The business queries, run on the warehouse: fraud-last-minute, clv (top 3), conversion. */
    readonly reports: Readonly<Record<string, readonly Record<string, unknown>[]>>;
  };
}

/**
 * Runs every stage that exists (ingest, build-marts, load, reports) on the demo fixture, in a fresh
 * lake, offline. What is not given (lake, warehouse) lives in one temporary directory, removed at
 * the end whatever happens.
 */
export async function runDemo(options: DemoOptions): Promise<PipelineResults> {
  const temp =
    options.lake === undefined || options.warehouse === undefined
      ? await mkdtemp(path.join(os.tmpdir(), 'shopstream-demo-'))
      : undefined;
  try {
    return await demoIn({
      ...options,
      lake: options.lake ?? path.join(temp!, 'lake'),
      warehouse: options.warehouse ?? path.join(temp!, 'warehouse.duckdb'),
      temporary: { lake: options.lake === undefined, warehouse: options.warehouse === undefined },
    });
  } finally {
    if (temp) await rm(temp, { recursive: true, force: true });
  }
}

async function demoIn(
  options: DemoOptions & {
    readonly lake: string;
    readonly warehouse: string;
    readonly temporary: PipelineResults['temporary'];
  },
): Promise<PipelineResults> {
  const started = Date.now();
  const lakeDir = options.lake;
  const config: Config = { ...options.config, lake: lakeDir };
  const lake = await openLake(config);
  try {
    const stages: { stage: string; ms: number }[] = [];
    const t0 = Date.now();
    const summary = await ingest(lake, configuredIngestOptions(config, [options.source ?? DEMO_FIXTURE]));
    stages.push({ stage: 'ingest', ms: Date.now() - t0 });
    const t1 = Date.now();
    const build = await buildMarts(lake, {
      config: config.marts,
      pseudonymSecret: config.privacy.pseudonymKey,
    });
    stages.push({ stage: 'build-marts', ms: Date.now() - t1 });
    const t2 = Date.now();
    for (const table of ['raw_events', 'fraud_flags', 'conversion_daily'])
      await lake.table(table).register(table);
    await lake.db.run(loadSql('macros/event_value'));
    const [row] = await lake.db.all<{
      events_processed: string;
      anomalies_detected: string;
      anomalous_users: string[];
      fraud_value_flagged: string;
      view_to_cart_rate: string | null;
    }>(loadSql('demo/pipeline_results'));
    stages.push({ stage: 'query', ms: Date.now() - t2 });
    const t3 = Date.now();
    const warehousePath = options.warehouse;
    const warehouse = await DuckDbWarehouse.open(lake, warehousePath);
    let load: LoadSummary;
    const reports: Record<string, Record<string, unknown>[]> = {};
    try {
      load = await loadWarehouse(lake, warehouse, { includeRaw: true });
      for (const name of ['fraud-last-minute', 'clv', 'conversion'] as const)
        reports[name] = await runReport(warehouse, name, 3);
    } finally {
      await warehouse.close();
    }
    stages.push({ stage: 'load', ms: Date.now() - t3 });
    return {
      lake: lakeDir,
      temporary: options.temporary,
      eventsProcessed: Number(row!.events_processed),
      anomaliesDetected: Number(row!.anomalies_detected),
      anomalousUsers: row!.anomalous_users,
      fraudValueFlagged: Number(row!.fraud_value_flagged),
      viewToCartRate: row!.view_to_cart_rate === null ? null : Number(row!.view_to_cart_rate),
      processingLatencyMs: Date.now() - started,
      stages,
      ingest: summary,
      build,
      warehouse: {
        path: warehousePath,
        tablesLoaded: load.tables.length,
        rowsLoaded: load.tables.reduce((n, t) => n + t.rowsInserted, 0),
        reports,
      },
    };
  } finally {
    closeLake(lake);
  }
}

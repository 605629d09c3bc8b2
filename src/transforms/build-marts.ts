import { CUSTOMER_PURCHASES } from '../catalog/tables/customer-purchases.js';
import { RAW_EVENTS } from '../catalog/tables/raw-events.js';
import type { Config } from '../config/config-schema.js';
import type { DuckDb } from '../engine/duckdb.js';
import { loadSql } from '../engine/sql-files.js';
import { dataError } from '../errors.js';
import { installPrivacyMacros, resolvePseudonymKey } from '../governance/pseudonym.js';
import { type AddFile, type PartitionValues, recordsIn } from '../lake/log/actions.js';
import type { Snapshot } from '../lake/log/snapshot.js';
import { type ColumnDef, deltaTypeOf, sameColumns, schemaFromColumns } from '../lake/table/columns.js';
import type { DeltaTable } from '../lake/table/delta-table.js';
import type { Lake } from '../lake/table/lake.js';
import { currentRun } from '../runtime/run-context.js';
import { classifyUserAgents } from './bot-user-agents.js';
import { type CurrencySetup, installCurrencyRates } from './currency-rates.js';
import { writeCustomerPurchases } from './customer-purchases.js';
import {
  type MartSettings,
  martSettings,
  SETTINGS_APP_ID,
  type StaleMart,
  settingsInfo,
  staleMarts,
} from './mart-settings.js';
import { loadModels, type Model } from './model.js';
import { type BuildPlan, planBuild } from './plan.js';
import { type QualityReport, runQualityChecks } from './quality.js';

/** The temp model after which the CLV model is fitted (it writes int_customer_clv_predictions). */
const CLV_INPUT_MODEL = 'int_customer_rfm';
/** SQL macros the models call (their text is part of every mart's settings hash). */
const MACRO_FILES = ['macros/event_value', 'macros/utc_time'] as const;

/** The txn appId under which each mart records the raw_events version it reflects. */
export const BUILD_APP_ID = 'shopstream-build-marts';

export interface BuildOptions {
  readonly fullRefresh?: boolean;
  readonly config: Config['marts'];
  /** privacy.pseudonymKey: the HMAC secret behind user_key (else the lake's own). */
  readonly pseudonymSecret?: string;
  readonly runId?: string;
  readonly onProgress?: (step: {
    readonly model: string;
    readonly index: number;
    readonly total: number;
  }) => void;
}

export interface MartResult {
  readonly name: string;
  /** Files this build added to the mart (not part of the JSON summary). */
  readonly added: readonly AddFile[];
  /** The version written, or null when the mart was already up to date. */
  readonly version: number | null;
  readonly rows: number;
  readonly partitionsReplaced: number | 'all';
}

export interface BuildSummary {
  readonly mode: 'full' | 'incremental' | 'up-to-date';
  readonly rawEventsVersion: number;
  readonly fromVersion: number | null;
  /** Marts rebuilt in full because their settings changed since they were built (not with --full-refresh). */
  readonly rebuilt: readonly StaleMart[];
  /** How money is reported: converted with a rates file, or kept per currency. */
  readonly currency: { readonly mode: CurrencySetup['mode']; readonly reporting: string };
  readonly marts: readonly Omit<MartResult, 'added'>[];
  readonly quality: QualityReport;
  readonly durationMs: number;
}

/**
 * Builds the marts from raw_events: plans what changed since each mart's recorded raw_events
 * version, runs the SQL models in dependency order over exactly that scope, and writes each mart's
 * touched partitions with the new raw_events version as a txn. No new raw data: nothing is written.
 */
export async function buildMarts(lake: Lake, options: BuildOptions): Promise<BuildSummary> {
  const threads = await DuckDbThreads.of(lake.db);
  try {
    return await build(lake, options, threads);
  } finally {
    await threads.restore();
  }
}

/**
 * An incremental build of an hour or a few is a hundred small queries: DuckDB's second thread costs
 * more CPU to coordinate than it saves (one new hour on 5M events: 0.77x the CPU on one thread, and
 * no slower on the shared 2-core machine). Builds that change more rows than this keep the threads
 * the session was opened with.
 */
const ONE_THREAD_MAX_CHANGED_ROWS = 1_000_000;

/** The session's DuckDB threads, lowered to one for a small build and put back after it. */
class DuckDbThreads {
  private lowered = false;

  private constructor(
    private readonly db: DuckDb,
    private readonly configured: number,
  ) {}

  static async of(db: DuckDb): Promise<DuckDbThreads> {
    const [row] = await db.all<{ threads: string }>("SELECT current_setting('threads') AS threads");
    return new DuckDbThreads(db, Number(row?.threads));
  }

  async one(): Promise<void> {
    if (this.lowered || !(this.configured > 1)) return;
    await this.db.run('SET threads = 1');
    this.lowered = true;
  }

  async restore(): Promise<void> {
    if (!this.lowered) return;
    await this.db.run(`SET threads = ${this.configured}`);
    this.lowered = false;
  }
}

async function build(lake: Lake, options: BuildOptions, threads: DuckDbThreads): Promise<BuildSummary> {
  const started = Date.now();
  const raw = lake.table(RAW_EVENTS);
  if (!(await raw.exists())) {
    throw dataError('NO_RAW_EVENTS', 'the lake has no raw_events table yet', {
      suggestions: ['run shopstream ingest first'],
    });
  }
  const rawSnapshot = await raw.snapshot();
  const models = loadModels();
  const marts = models.filter((m) => m.materialized === 'delta');
  const martTables = new Map(marts.map((m) => [m.name, lake.table(m.name)]));
  const martSnapshots = new Map<string, Snapshot | undefined>();
  for (const [name, table] of martTables)
    martSnapshots.set(name, (await table.exists()) ? await table.snapshot() : undefined);

  await installPrivacyMacros(lake.db, await resolvePseudonymKey(lake, options.pseudonymSecret));
  const currency = await installCurrencyRates(lake.db, options.config.currency);
  const params = modelParameters(options.config, currency);
  const settings = martSettings(models, params, PARAMETER_KEYS, {
    macrosSql: MACRO_FILES.map((file) => loadSql(file)).join('\n'),
    ratesHash: currency.ratesHash,
  });
  // a mart built with other settings means something else: rebuild it (and what reads it) in full
  const rebuilt = options.fullRefresh ? [] : await staleMarts(martTables, martSnapshots, settings);
  const rewrite = new Set(rebuilt.map((r) => r.mart));
  // customer_ltv's purchases, carried from build to build (src/transforms/customer-purchases.ts)
  const purchasesTable = lake.table(CUSTOMER_PURCHASES);
  const purchasesSnapshot = (await purchasesTable.exists()) ? await purchasesTable.snapshot() : undefined;
  const purchasesFingerprint = settings.get('customer_ltv')!.fingerprint;
  // every mart built with these settings: most likely an incremental build (the plan says how big)
  if (!options.fullRefresh && rewrite.size === 0 && [...martSnapshots.values()].every(Boolean))
    await threads.one();
  const plan = await planBuild(lake, rawSnapshot, martSnapshots, {
    fullRefresh: (options.fullRefresh ?? false) || rewrite.size > 0,
    appId: BUILD_APP_ID,
    sessionTimeoutMinutes: options.config.sessionTimeoutMinutes,
    customerPurchases: { snapshot: purchasesSnapshot, fingerprint: purchasesFingerprint },
  });
  // a file without statistics (a removed one, a foreign writer's) might hold any number of rows
  const small =
    plan.mode === 'incremental' &&
    plan.changedRawFiles !== undefined &&
    plan.changedRawFiles.every((f) => f.stats) &&
    recordsIn(plan.changedRawFiles) <= ONE_THREAD_MAX_CHANGED_ROWS;
  if (!small) await threads.restore();
  const db = lake.db;
  const results: MartResult[] = [];
  // what this build wrote, per table, and the raw files new to it: an incremental build checks
  // only that; a full one the marts whole and raw_events as plan.changedRawFiles says
  const builtFiles = new Map<string, readonly AddFile[]>(
    plan.changedRawFiles ? [[RAW_EVENTS, plan.changedRawFiles]] : [],
  );
  if (plan.mode !== 'up-to-date') {
    for (const file of MACRO_FILES) await db.run(loadSql(file));
    await classifyUserAgents(db, 'scoped_raw_events');
    const byName = new Map(models.map((m) => [m.name, m]));
    const martVersions = new Map<string, number>();
    for (const [name, snapshot] of martSnapshots) if (snapshot) martVersions.set(name, snapshot.version);
    for (const [index, model] of models.entries()) {
      options.onProgress?.({ model: model.name, index, total: models.length });
      const bound = bindParameters(model, params);
      if (model.materialized === 'temp') {
        await db.run(`CREATE OR REPLACE TEMP TABLE ${model.name} AS ${model.sql}`, bound);
        await plan.afterTempModel(model.name);
        if (model.name === CLV_INPUT_MODEL) {
          // imported here: the CLV numerics load only when a build fits the model
          const { writeClvPredictions } = await import('./clv/build-step.js');
          await writeClvPredictions(db, options.config.clv);
        }
        continue;
      }
      const table = martTables.get(model.name)!;
      const result = await writeMart(
        db,
        table,
        martSnapshots.get(model.name),
        model,
        bound,
        plan,
        (options.fullRefresh ?? false) || rewrite.has(model.name),
        settings.get(model.name)!,
        rawSnapshot.version,
        options.runId ?? currentRun.id,
        upstreamMarts(model, byName, martTables).flatMap((name) =>
          martVersions.has(name) ? [{ table: name, version: martVersions.get(name)! }] : [],
        ),
      );
      if (result.version !== null) martVersions.set(model.name, result.version);
      results.push(result);
      builtFiles.set(model.name, result.added);
      await plan.registerMartForDownstream(model.name, await table.snapshot());
    }
    if (plan.customerPurchases !== 'none')
      await writeCustomerPurchases(
        purchasesTable,
        plan.customerPurchases,
        purchasesSnapshot,
        { appId: BUILD_APP_ID, rawVersion: rawSnapshot.version, fingerprint: purchasesFingerprint },
        { fromVersion: plan.fromVersion, runId: options.runId ?? currentRun.id },
      );
  } else {
    for (const mart of marts)
      results.push({ name: mart.name, version: null, rows: 0, partitionsReplaced: 0, added: [] });
  }
  const quality = await runQualityChecks(
    lake,
    options.config,
    plan.mode === 'incremental'
      ? builtFiles
      : plan.mode === 'full' && plan.changedRawFiles
        ? new Map([[RAW_EVENTS, plan.changedRawFiles]])
        : undefined,
  );
  currentRun.record({
    rowsOut: results.reduce((sum, r) => sum + r.rows, 0),
    qualityRatio: quality.qualityRatio,
  });
  return {
    mode: plan.mode,
    rawEventsVersion: rawSnapshot.version,
    fromVersion: plan.fromVersion,
    rebuilt,
    currency: { mode: currency.mode, reporting: currency.reportingCurrency },
    marts: results.map(({ added: _added, ...rest }) => rest),
    quality,
    durationMs: Date.now() - started,
  };
}

async function writeMart(
  db: DuckDb,
  table: DeltaTable,
  existing: Snapshot | undefined,
  model: Model,
  params: Record<string, string>,
  plan: BuildPlan,
  rewrite: boolean,
  settings: MartSettings,
  rawVersion: number,
  runId: string | undefined,
  upstream: readonly { readonly table: string; readonly version: number }[],
): Promise<MartResult> {
  // already at this raw_events version with these settings (a full plan for another mart's sake)
  if (existing && !rewrite && (existing.txnVersion(BUILD_APP_ID) ?? -1) >= rawVersion) {
    return { name: model.name, version: null, rows: 0, partitionsReplaced: 0, added: [] };
  }
  const relation = `__mart_${model.name}`;
  await db.run(`CREATE OR REPLACE TEMP TABLE ${relation} AS ${model.sql}`, params);
  const described = await db.all<{ column_name: string; column_type: string }>(`DESCRIBE ${relation}`);
  const columns: ColumnDef[] = described.map((c) => ({
    name: c.column_name,
    type: deltaTypeOf(c.column_type),
  }));
  const partitionColumns = [...model.partitionBy];
  const snapshot = await table.ensure({ columns, partitionColumns, description: model.grain }, { runId });
  const schemaChanged =
    !sameColumns(snapshot.schema, schemaFromColumns(columns)) ||
    JSON.stringify(snapshot.partitionColumns) !== JSON.stringify(partitionColumns);
  if (schemaChanged && plan.mode !== 'full') {
    throw dataError(
      'MART_SCHEMA_CHANGED',
      `the model ${model.name} now produces different columns or partitions than the table holds`,
      {
        suggestions: ['rebuild with: shopstream build-marts --full-refresh'],
      },
    );
  }
  let replacePartitions: PartitionValues[] | undefined;
  if (plan.mode === 'incremental' && model.partitionBy.length > 0) {
    if (!model.scope) throw new Error(`${model.file}: a partitioned mart needs a "-- scope:" table`);
    replacePartitions = await plan.partitionsFor(model.scope, model.partitionBy);
  }
  const [{ rows }] = (await db.all<{ rows: string }>(`SELECT count(*) AS rows FROM ${relation}`)) as [
    { rows: string },
  ];
  const written = await table.write({
    relation,
    mode: 'overwrite',
    ...(replacePartitions ? { replacePartitions } : {}),
    ...(schemaChanged ? { replaceColumns: columns, replacePartitionColumns: partitionColumns } : {}),
    txns: [
      { appId: BUILD_APP_ID, version: rawVersion },
      { appId: SETTINGS_APP_ID, version: settings.fingerprint },
    ],
    operation: plan.mode === 'full' ? 'CREATE OR REPLACE TABLE AS SELECT' : 'WRITE',
    readSnapshot: snapshot,
    parameters: { model: model.name, buildMode: plan.mode },
    // lineage: the raw_events version and the marts (at the versions) this one was computed from
    commitProperties: {
      ...settingsInfo(settings),
      runId,
      inputs: [{ table: RAW_EVENTS, version: rawVersion, fromVersion: plan.fromVersion }, ...upstream],
    },
  });
  await db.run(`DROP TABLE ${relation}`);
  return {
    name: model.name,
    version: written.version,
    added: written.added,
    rows: Number(rows),
    partitionsReplaced: replacePartitions ? replacePartitions.length : 'all',
  };
}

/** The Delta marts a model reads, directly or through temp models. */
function upstreamMarts(
  model: Model,
  byName: ReadonlyMap<string, Model>,
  marts: ReadonlyMap<string, unknown>,
): string[] {
  const found = new Set<string>();
  const visit = (name: string, seen: Set<string>) => {
    for (const dep of byName.get(name)?.dependsOn ?? []) {
      if (seen.has(dep)) continue;
      seen.add(dep);
      if (marts.has(dep)) found.add(dep);
      else visit(dep, seen);
    }
  };
  visit(model.name, new Set());
  return [...found].sort();
}

/** The config key behind each model parameter (what a stale mart's summary names). */
const PARAMETER_KEYS: Readonly<Record<string, string>> = {
  session_timeout_minutes: 'marts.sessionTimeoutMinutes',
  max_events_per_minute: 'marts.fraud.maxEventsPerMinute',
  max_value_per_minute: 'marts.fraud.maxValuePerMinute',
  max_quantity: 'marts.fraud.maxQuantity',
  max_cart_value: 'marts.fraud.maxCartValue',
  multi_ip_threshold: 'marts.fraud.multiIpThreshold',
  multi_ip_window_minutes: 'marts.fraud.multiIpWindowMinutes',
  late_after_minutes: 'marts.lateAfterMinutes',
  default_currency: 'marts.currency.default',
  reporting_currency: 'marts.currency.reporting',
  convert_currencies: 'marts.currency.ratesFile (set)',
};

function modelParameters(config: Config['marts'], currency: CurrencySetup): Record<string, string> {
  return {
    default_currency: currency.defaultCurrency,
    reporting_currency: currency.reportingCurrency,
    convert_currencies: String(currency.mode === 'converted'),
    session_timeout_minutes: String(config.sessionTimeoutMinutes),
    max_events_per_minute: String(config.fraud.maxEventsPerMinute),
    max_value_per_minute: String(config.fraud.maxValuePerMinute),
    max_quantity: String(config.fraud.maxQuantity),
    max_cart_value: String(config.fraud.maxCartValue),
    multi_ip_threshold: String(config.fraud.multiIpThreshold),
    multi_ip_window_minutes: String(config.fraud.multiIpWindowMinutes),
    late_after_minutes: String(config.lateAfterMinutes),
    clv_currency: config.clv.currency ?? currency.reportingCurrency,
  };
}

function bindParameters(model: Model, params: Record<string, string>): Record<string, string> {
  const bound: Record<string, string> = {};
  for (const name of model.parameters) {
    const value = params[name];
    if (value === undefined) throw new Error(`${model.file}: unknown parameter $${name}`);
    bound[name] = value;
  }
  return bound;
}

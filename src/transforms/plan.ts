import { CUSTOMER_PURCHASES } from '../catalog/tables/customer-purchases.js';
import { RAW_EVENTS } from '../catalog/tables/raw-events.js';
import type { DuckDb } from '../engine/duckdb.js';
import { type AddFile, type PartitionValues, parseStats, type RemoveFile } from '../lake/log/actions.js';
import type { Snapshot } from '../lake/log/snapshot.js';
import type { Lake } from '../lake/table/lake.js';
import { registerSnapshot } from '../lake/table/table-scan.js';
import { SETTINGS_APP_ID } from './mart-settings.js';
import { loadScopeModels } from './model.js';

/**
 * What a build recomputes. Full: everything. Incremental: from the raw_events commits since the
 * marts' recorded version, the event hours whose files changed and, for sessions, per touched user
 * the time range from the earliest to the latest session within the timeout of a changed event, so
 * that range edges fall in gaps longer than the timeout and the result equals a full rebuild. An
 * event's value at risk looks back at the cart state up to the session timeout, so the event hours
 * also cover the hours the timeout reaches after each changed one, and reads reach as far back.
 *
 * The scope itself is SQL models (sql/scope/, run here in dependency order as temp tables); the
 * plan provides what only the Delta log knows: all_raw_events (where a model reads all of it: a full
 * build, customer_purchases rewritten, the end of observation without statistics), changed_raw_events (incremental),
 * changed_event_hours, all_sessions and existing_conversion_daily (incremental), and registers the
 * files the models read: scoped_raw_events (every event of the hour partitions of scope_event_hours
 * and, in the other hours of scope_read_hours, the events of scoped_users; everything in a full
 * build), existing_sessions, existing_fraud_flags and existing_customer_ltv; and, as marts are
 * written, each mart (touched days), all_fraud_flags and conversion_daily's sessions (the files of
 * the touched days this build kept, added and removed). For customer_ltv's purchases it provides
 * ltv_purchase_events and ltv_purchase_users, and existing_customer_purchases when it carries
 * customer_purchases forward (see `customerPurchases`).
 */
export interface BuildPlan {
  readonly mode: 'full' | 'incremental' | 'up-to-date';
  readonly fromVersion: number | null;
  /**
   * raw_events files whose rows changed since fromVersion: what the quality checks read of
   * raw_events after a build (a full build too, when every mart was built before from a version
   * this table still has); undefined when raw_events is to be checked whole.
   */
  readonly changedRawFiles: readonly AddFile[] | undefined;
  /**
   * How the build writes customer_purchases (int_ltv_purchase_events' rows): `append` when it holds
   * every purchase of raw_events at fromVersion, written with the same settings, and raw_events only
   * gained files since (no file's rows removed: a GDPR rewrite, a restore); then the build reads the
   * touched customers' earlier purchases there and the changed files' new ones. Otherwise `rewrite`:
   * the build reads every purchase of raw_events and the table is rewritten whole.
   */
  readonly customerPurchases: 'append' | 'rewrite' | 'none';
  /** Partition values a partitioned mart replaces, from its scope table: (date) or (date, hour). */
  partitionsFor(scopeTable: string, columns: readonly string[]): Promise<PartitionValues[]>;
  /** Called after each temp model: supplies an empty `existing_*` of the right shape when needed. */
  afterTempModel(model: string): Promise<void>;
  /** Makes a freshly written mart readable by the models after it. */
  registerMartForDownstream(name: string, snapshot: Snapshot): Promise<void>;
}

export interface PlanOptions {
  readonly fullRefresh: boolean;
  readonly appId: string;
  readonly sessionTimeoutMinutes: number;
  /** customer_purchases as the build found it, and the settings fingerprint its rows must carry. */
  readonly customerPurchases: { readonly snapshot: Snapshot | undefined; readonly fingerprint: number };
}

/** Marts the models after them read whole, as `all_<name>` (besides the touched days as `<name>`). */
const WHOLE_MARTS = new Set(['fraud_flags']);
/**
 * Marts the models after them also read by hour, as `<name>_read_hours`: only the hour partitions
 * the build reads (fraud_flags' session rules need the sessions starting in the flag hours, not the
 * whole days conversion_daily needs; the flagged minutes the rules, sessions and metrics_minute
 * join are those of the hours read).
 */
const HOURLY_MARTS = new Set(['sessions', 'fraud_user_minute']);

const EXISTING_OF: Record<string, string> = {
  int_sessions_recomputed: 'existing_sessions',
  int_customer_ltv_recomputed: 'existing_customer_ltv',
  int_fraud_flags_recomputed: 'existing_fraud_flags',
  int_ltv_purchase_events: 'existing_customer_purchases',
};

export async function planBuild(
  lake: Lake,
  raw: Snapshot,
  marts: ReadonlyMap<string, Snapshot | undefined>,
  options: PlanOptions,
): Promise<BuildPlan> {
  const consumed = [...marts.values()].map((s) => s?.txnVersion(options.appId));
  const everyMartBuilt = consumed.every((v) => v !== undefined);
  const fromVersion = everyMartBuilt ? Math.min(...(consumed as number[])) : null;
  const db = lake.db;
  const rawTable = lake.table(RAW_EVENTS);
  const registered = new Set<string>();
  const params = { session_timeout_minutes: String(options.sessionTimeoutMinutes) };

  if (!options.fullRefresh && fromVersion !== null && fromVersion >= raw.version)
    return upToDate(fromVersion);

  // every raw_events file (~30 ms to register on 5M events): only what reads all of it registers it
  let allRegistered = false;
  const registerAll = async () => {
    if (!allRegistered) await registerSnapshot(db, lake.store, rawTable.tableKey, raw, 'all_raw_events');
    allRegistered = true;
  };
  await createLastDay(db, raw.files, registerAll);
  const full = options.fullRefresh || fromVersion === null;
  let readHours: Set<string> | undefined;
  // a full build counts every user (scope_session_ranges holds them all) over nothing kept
  let recountTouchedUsers = true;
  // the sessions files of the days read as the build found them, when conversion_daily recounts
  // only the touched users (their figures before)
  let previousSessionFiles: { readonly snapshot: Snapshot; readonly files: readonly AddFile[] } | undefined;
  let changed: AddFile[] = [];
  let customerPurchases: 'append' | 'rewrite' = 'rewrite';

  // the raw files the earlier builds did not check, live ones only: a file removed since (a restore,
  // a rewrite) is recomputed from but not in the table (a first build checks the whole table)
  let rawFilesToCheck: AddFile[] | undefined;
  if (full) {
    await registerAll();
    if (fromVersion !== null && fromVersion <= raw.version)
      rawFilesToCheck = (await changesSince(lake, raw, fromVersion)).added;
    await createHourTable(db, 'changed_event_hours', hourKeysOf(raw.files));
    await db.run('CREATE OR REPLACE TEMP VIEW scoped_raw_events AS SELECT * FROM all_raw_events');
    await runScopeModels(db, 'full', params);
    await db.run('CREATE OR REPLACE TEMP TABLE scoped_users AS SELECT user_id FROM scope_session_ranges');
    // every customer is in scope_ltv_users already
    await db.run('CREATE OR REPLACE TEMP VIEW ltv_purchase_events AS SELECT * FROM all_raw_events');
    await db.run(
      'CREATE OR REPLACE TEMP VIEW ltv_purchase_users AS SELECT user_id, user_key FROM scope_ltv_users',
    );
  } else {
    const since = await changesSince(lake, raw, fromVersion);
    changed = await changedFiles(lake, since);
    rawFilesToCheck = since.added;
    // only rearrangements (compaction) since the marts were built: nothing to recompute
    if (changed.length === 0) return upToDate(fromVersion);
    await registerSnapshot(db, lake.store, rawTable.tableKey, raw, 'changed_raw_events', changed);
    await createHourTable(db, 'changed_event_hours', hourKeysOf(changed));
    const sessions = marts.get('sessions')!;
    await registerSnapshot(
      db,
      lake.store,
      'sessions',
      sessions,
      'all_sessions',
      sessionFilesNear(sessions, changed, options.sessionTimeoutMinutes * 60_000),
    );
    // conversion_daily recounts only the touched users when the sessions mart is still the one its
    // figures were counted from; else (another writer, an interrupted build) the touched days anew
    recountTouchedUsers = await countedFrom(
      lake,
      'conversion_daily',
      marts.get('conversion_daily')!,
      'sessions',
      sessions.version,
    );
    await registerSnapshot(
      db,
      lake.store,
      'conversion_daily',
      marts.get('conversion_daily')!,
      'existing_conversion_daily',
      recountTouchedUsers ? undefined : [],
    );
    await runScopeModels(db, 'incremental', params);
    readHours = await hourKeysIn(db, 'scope_read_hours');
    const eventHours = await hourKeysIn(db, 'scope_event_hours');
    const rawHourOf = (f: AddFile) => hourKeyOf(f.partitionValues.dt, f.partitionValues.hour) ?? '';
    // Every event of the hours whose per-event figures can change; in the other hours read (the
    // timeout before them, the sessions recomputed, the flags of the hour after) only the events of
    // the users of those hours and of the recomputed sessions: their cart states, sessions and
    // flags. The other users' sessions and flags there are kept as they are.
    await registerSnapshot(
      db,
      lake.store,
      rawTable.tableKey,
      raw,
      'event_hour_raw_events',
      raw.files.filter((f) => eventHours.has(rawHourOf(f)) && readHours!.has(rawHourOf(f))),
    );
    await registerSnapshot(
      db,
      lake.store,
      rawTable.tableKey,
      raw,
      'other_hour_raw_events',
      raw.files.filter((f) => !eventHours.has(rawHourOf(f)) && readHours!.has(rawHourOf(f))),
    );
    await db.run(
      `CREATE OR REPLACE TEMP TABLE scoped_users AS
       SELECT user_id FROM event_hour_raw_events UNION SELECT user_id FROM scope_session_ranges`,
    );
    await db.run(
      `CREATE OR REPLACE TEMP VIEW scoped_raw_events AS
       SELECT * FROM event_hour_raw_events
       UNION ALL
       SELECT * FROM other_hour_raw_events WHERE user_id IN (SELECT user_id FROM scoped_users)`,
    );
    await registerSnapshot(
      db,
      lake.store,
      'fraud_flags',
      marts.get('fraud_flags')!,
      'existing_fraud_flags',
      filesInHours(marts.get('fraud_flags')!, readHours),
    );
    await registerSnapshot(
      db,
      lake.store,
      'sessions',
      sessions,
      'existing_sessions',
      filesInHours(sessions, readHours),
    );
    await registerSnapshot(
      db,
      lake.store,
      'customer_ltv',
      marts.get('customer_ltv')!,
      'existing_customer_ltv',
    );
    const carried = options.customerPurchases;
    if (
      since.removed.length === 0 &&
      carried.snapshot &&
      carried.snapshot.txnVersion(options.appId) === fromVersion &&
      carried.snapshot.txnVersion(SETTINGS_APP_ID) === carried.fingerprint
    ) {
      customerPurchases = 'append';
      await registerSnapshot(
        db,
        lake.store,
        CUSTOMER_PURCHASES,
        carried.snapshot,
        'existing_customer_purchases',
      );
      registered.add('existing_customer_purchases');
      await db.run('CREATE OR REPLACE TEMP VIEW ltv_purchase_events AS SELECT * FROM changed_raw_events');
      await db.run(
        'CREATE OR REPLACE TEMP VIEW ltv_purchase_users AS SELECT user_id, user_key FROM scope_ltv_users',
      );
    } else {
      // every customer's purchases, to rewrite customer_purchases with
      await registerAll();
      await db.run('CREATE OR REPLACE TEMP VIEW ltv_purchase_events AS SELECT * FROM all_raw_events');
      await db.run(
        `CREATE OR REPLACE TEMP VIEW ltv_purchase_users AS
         SELECT user_id, pseudonym(user_id) AS user_key
         FROM (SELECT DISTINCT user_id FROM all_raw_events WHERE event_type = 'purchase')`,
      );
    }
    if (recountTouchedUsers)
      previousSessionFiles = { snapshot: sessions, files: filesInDays(sessions, readHours) };
    registered.add('existing_sessions').add('existing_customer_ltv').add('existing_fraud_flags');
  }

  return {
    mode: full ? 'full' : 'incremental',
    fromVersion,
    changedRawFiles: rawFilesToCheck,
    customerPurchases,
    async partitionsFor(scopeTable, columns) {
      const [dateColumn, hourColumn] = columns as [string, string | undefined];
      if (hourColumn) {
        const rows = await db.all<{ d: string; h: string }>(
          `SELECT DISTINCT strftime(hour_start, '%Y-%m-%d') AS d, CAST(hour(hour_start) AS VARCHAR) AS h FROM ${scopeTable} ORDER BY 1, 2`,
        );
        return rows.map((r) => ({ [dateColumn]: r.d, [hourColumn]: r.h }));
      }
      const rows = await db.all<{ d: string }>(
        `SELECT DISTINCT CAST(day AS VARCHAR) AS d FROM ${scopeTable} ORDER BY 1`,
      );
      return rows.map((r) => ({ [dateColumn]: r.d }));
    },
    async afterTempModel(model) {
      const existing = EXISTING_OF[model];
      if (existing && !registered.has(existing)) {
        await db.run(`CREATE OR REPLACE TEMP VIEW ${existing} AS SELECT * FROM ${model} WHERE false`);
        registered.add(existing);
      }
    },
    async registerMartForDownstream(name, snapshot) {
      // whole days: conversion_daily needs every session of a touched date
      await registerSnapshot(
        db,
        lake.store,
        name,
        snapshot,
        name,
        readHours ? filesInDays(snapshot, readHours) : snapshot.files,
      );
      // and the whole table, where a model needs all of it (CLV leaves every flagged user out)
      if (WHOLE_MARTS.has(name)) await registerSnapshot(db, lake.store, name, snapshot, `all_${name}`);
      if (name === 'sessions') {
        // conversion_daily's sessions (sql/marts/conversion_daily.sql): the files this build kept
        // (read once for the figures now and before), those it added (now) and removed (before);
        // without a before, every file of the days read is "added"
        const days = readHours ? filesInDays(snapshot, readHours) : [...snapshot.files];
        const before = new Set(previousSessionFiles?.files.map((f) => f.path));
        const now = new Set(days.map((f) => f.path));
        const kept = days.filter((f) => before.has(f.path));
        await registerSnapshot(db, lake.store, name, snapshot, 'conversion_sessions_kept', kept);
        await registerSnapshot(
          db,
          lake.store,
          name,
          snapshot,
          'conversion_sessions_added',
          days.filter((f) => !before.has(f.path)),
        );
        await registerSnapshot(
          db,
          lake.store,
          name,
          previousSessionFiles?.snapshot ?? snapshot,
          'conversion_sessions_removed',
          previousSessionFiles?.files.filter((f) => !now.has(f.path)) ?? [],
        );
        await db.run(
          recountTouchedUsers
            ? 'CREATE OR REPLACE TEMP VIEW conversion_users AS SELECT user_key FROM scope_session_ranges'
            : 'CREATE OR REPLACE TEMP VIEW conversion_users AS SELECT DISTINCT user_key FROM sessions',
        );
      }
      if (HOURLY_MARTS.has(name)) {
        const files = readHours ? filesInHours(snapshot, readHours) : snapshot.files;
        await registerSnapshot(db, lake.store, name, snapshot, `${name}_read_hours`, files);
      }
    },
  };
}

/**
 * Whether `mart`'s latest commit was computed from `upstream` at `version` (its commitInfo's inputs,
 * as build-marts records them): no other commit (a GDPR erasure, a compaction, a build interrupted
 * between the two) changed the upstream since.
 */
async function countedFrom(
  lake: Lake,
  name: string,
  mart: Snapshot,
  upstream: string,
  version: number,
): Promise<boolean> {
  const actions = await lake.table(name).log.readCommit(mart.version);
  for (const action of actions) {
    if (!('commitInfo' in action)) continue;
    const inputs = action.commitInfo.inputs;
    if (!Array.isArray(inputs)) return false;
    return inputs.some(
      (input: { table?: unknown; version?: unknown }) =>
        input.table === upstream && input.version === version,
    );
  }
  return false;
}

/** The plan of a build with nothing to do. */
function upToDate(fromVersion: number | null): BuildPlan {
  return {
    mode: 'up-to-date',
    fromVersion,
    changedRawFiles: [],
    customerPurchases: 'none',
    partitionsFor: async () => [],
    afterTempModel: async () => undefined,
    registerMartForDownstream: async () => undefined,
  };
}

/** The `YYYY-MM-DD|H` keys of the hours in a scope table (hour_start). */
async function hourKeysIn(db: DuckDb, table: string): Promise<Set<string>> {
  const rows = await db.all<{ key: string }>(
    `SELECT DISTINCT strftime(hour_start, '%Y-%m-%d') || '|' || CAST(hour(hour_start) AS VARCHAR) AS key FROM ${table}`,
  );
  return new Set(rows.map((r) => r.key));
}

/** `YYYY-MM-DD|H` for a date and hour partition pair. */
function hourKeyOf(day: string | null | undefined, hour: string | null | undefined): string | null {
  return day == null || hour == null ? null : `${day}|${Number(hour)}`;
}

/** The files of a date-partitioned table on the days of the given hours. */
function filesInDays(snapshot: Snapshot, hours: ReadonlySet<string>): AddFile[] {
  const [dateColumn] = snapshot.partitionColumns;
  if (!dateColumn) return [...snapshot.files];
  const days = new Set([...hours].map((h) => h.split('|')[0]));
  return snapshot.files.filter((f) => days.has(f.partitionValues[dateColumn] ?? ''));
}

/** The files of a (date[, hour])-partitioned table within the given hours (or their days). */
function filesInHours(snapshot: Snapshot, hours: ReadonlySet<string>): AddFile[] {
  const [dateColumn, hourColumn] = snapshot.partitionColumns;
  if (!dateColumn) return [...snapshot.files];
  if (!hourColumn) {
    const days = new Set([...hours].map((h) => h.split('|')[0]));
    return snapshot.files.filter((f) => days.has(f.partitionValues[dateColumn] ?? ''));
  }
  return snapshot.files.filter((f) =>
    hours.has(hourKeyOf(f.partitionValues[dateColumn], f.partitionValues[hourColumn]) ?? ''),
  );
}

/**
 * The sessions files that can hold a session within the timeout of a changed event, by the files'
 * statistics (start_time's minimum, end_time's maximum) against the changed files' event times: the
 * session-range model then reads the sessions of the last hours, not all of them. A file without
 * statistics is kept, and so is every file when a changed file has none (e.g. a removed one).
 */
function sessionFilesNear(sessions: Snapshot, changed: readonly AddFile[], timeoutMs: number): AddFile[] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const file of changed) {
    const stats = parseStats(file);
    const min = Date.parse(String(stats?.minValues?.event_time));
    const max = Date.parse(String(stats?.maxValues?.event_time));
    if (!Number.isFinite(min) || !Number.isFinite(max)) return [...sessions.files];
    lo = Math.min(lo, min);
    hi = Math.max(hi, max);
  }
  return sessions.files.filter((file) => {
    const stats = parseStats(file);
    const start = Date.parse(String(stats?.minValues?.start_time));
    const end = Date.parse(String(stats?.maxValues?.end_time));
    if (!Number.isFinite(start) || !Number.isFinite(end)) return true;
    return end + timeoutMs >= lo && start - timeoutMs <= hi;
  });
}

/**
 * raw_events_last_day(day): the date of the latest event in raw_events (the CLV's end of
 * observation), from the files' statistics rather than a scan of every event time. A statistic's
 * maximum is rounded up to the millisecond, so it gives the date exactly unless a day starts within
 * that millisecond; then, or when a file has no statistic, it is scanned.
 */
async function createLastDay(
  db: DuckDb,
  files: readonly AddFile[],
  registerAll: () => Promise<void>,
): Promise<void> {
  let latest = Number.NEGATIVE_INFINITY;
  for (const file of files)
    latest = Math.max(latest, Date.parse(String(parseStats(file)?.maxValues?.event_time)));
  if (Number.isFinite(latest)) {
    await db.run(
      `CREATE OR REPLACE TEMP TABLE raw_events_last_day AS
       SELECT CASE WHEN CAST(m - INTERVAL 1 MILLISECOND AS DATE) = CAST(m AS DATE) THEN CAST(m AS DATE) END AS day
       FROM (SELECT CAST($latest AS TIMESTAMPTZ) AS m)`,
      { latest: new Date(latest).toISOString() },
    );
    const [row] = await db.all<{ day: unknown }>('SELECT day FROM raw_events_last_day');
    if (row?.day != null) return;
  }
  await registerAll();
  await db.run(
    'CREATE OR REPLACE TEMP TABLE raw_events_last_day AS SELECT CAST(max(event_time) AS DATE) AS day FROM all_raw_events',
  );
}

/**
 * What raw_events' commits since `fromVersion` changed: the files added that are still live, and the
 * files whose rows were removed (on disk or not), which an append alone cannot have.
 */
async function changesSince(
  lake: Lake,
  raw: Snapshot,
  fromVersion: number,
): Promise<{ added: AddFile[]; removed: RemoveFile[] }> {
  const log = lake.table(RAW_EVENTS).log;
  const live = new Set(raw.files.map((f) => f.path));
  const added = new Map<string, AddFile>();
  const removed: RemoveFile[] = [];
  for (let version = fromVersion + 1; version <= raw.version; version++) {
    for (const action of await log.readCommit(version)) {
      if ('add' in action && action.add.dataChange && live.has(action.add.path))
        added.set(action.add.path, action.add);
      if ('remove' in action && action.remove.dataChange) removed.push(action.remove);
    }
  }
  return { added: [...added.values()], removed };
}

/**
 * Files whose rows changed, as the build recomputes from them: the added ones, and the removed ones
 * still on disk (read to recompute the hours they held; a live file removed and added again is live).
 */
async function changedFiles(
  lake: Lake,
  since: { added: AddFile[]; removed: RemoveFile[] },
): Promise<AddFile[]> {
  const out = new Map<string, AddFile>();
  for (const remove of since.removed) {
    if (await lake.store.head(`${RAW_EVENTS}/${decodeURIComponent(remove.path)}`)) {
      out.set(remove.path, {
        path: remove.path,
        partitionValues: remove.partitionValues ?? {},
        size: remove.size ?? 0,
        modificationTime: 0,
        dataChange: true,
      });
    }
  }
  for (const add of since.added) out.set(add.path, add);
  return [...out.values()];
}

/** The distinct `YYYY-MM-DD|H` hour partitions of raw_events files. */
function hourKeysOf(files: readonly AddFile[]): string[] {
  const keys = files.map((f) => hourKeyOf(f.partitionValues.dt, f.partitionValues.hour));
  return [...new Set(keys.filter((v): v is string => v !== null))].sort();
}

/** Runs the scope models of a mode (sql/scope/) in dependency order, each as a temp table. */
async function runScopeModels(
  db: DuckDb,
  mode: 'full' | 'incremental',
  params: Readonly<Record<string, string>>,
): Promise<void> {
  for (const model of loadScopeModels(mode)) {
    const bound: Record<string, string> = {};
    for (const name of model.parameters) {
      const value = params[name];
      if (value === undefined) throw new Error(`${model.file}: unknown parameter $${name}`);
      bound[name] = value;
    }
    await db.run(`CREATE OR REPLACE TEMP TABLE ${model.name} AS ${model.sql}`, bound);
  }
}

async function createHourTable(db: DuckDb, name: string, hourKeys: readonly string[]): Promise<void> {
  await db.run(
    `CREATE OR REPLACE TEMP TABLE ${name} AS
     SELECT CAST(split_part(v, '|', 1) AS DATE) + to_hours(CAST(split_part(v, '|', 2) AS INTEGER)) AS hour_start
     FROM (SELECT unnest(string_split($keys, ',')) AS v) WHERE v <> ''`,
    { keys: hourKeys.join(',') },
  );
  await db.run(`ALTER TABLE ${name} ALTER hour_start TYPE TIMESTAMPTZ`);
}

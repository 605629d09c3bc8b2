import { RAW_EVENTS } from '../catalog/tables/raw-events.js';
import type { DuckDb } from '../engine/duckdb.js';
import type { AddFile, PartitionValues } from '../lake/log/actions.js';
import type { Snapshot } from '../lake/log/snapshot.js';
import type { Lake } from '../lake/table/lake.js';
import { registerSnapshot } from '../lake/table/table-scan.js';

/**
 * What a build recomputes. Full: everything. Incremental: from the raw_events commits since the
 * marts' recorded version, the event hours whose files changed and, for sessions, per touched user
 * the time range from the earliest to the latest session within the timeout of a changed event, so
 * that range edges fall in gaps longer than the timeout and the result equals a full rebuild. An
 * event's value at risk looks back at the cart state up to the session timeout, so the event hours
 * also cover the hours the timeout reaches after each changed one, and reads reach as far back.
 *
 * It provides the models' inputs as temp tables and views: scoped_raw_events (the hour partitions
 * the models read: the scoped hours and the hour before each), all_raw_events,
 * scope_session_ranges(user_id, user_key, lo, hi), scope_ltv_users(user_id, user_key), and the partitions each mart
 * replaces: scope_event_hours, scope_flag_hours, scope_session_hours (hour_start TIMESTAMPTZ) and
 * scope_session_dates (day DATE); plus existing_sessions and existing_customer_ltv; and all_fraud_flags.
 */
export interface BuildPlan {
  readonly mode: 'full' | 'incremental' | 'up-to-date';
  readonly fromVersion: number | null;
  /** raw_events files whose rows changed since fromVersion (empty for full builds). */
  readonly changedRawFiles: readonly AddFile[];
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
}

/** Marts the models after them read whole, as `all_<name>` (besides the touched days as `<name>`). */
const WHOLE_MARTS = new Set(['fraud_flags']);

const EXISTING_OF: Record<string, string> = {
  int_sessions_recomputed: 'existing_sessions',
  int_customer_ltv_recomputed: 'existing_customer_ltv',
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

  if (!options.fullRefresh && fromVersion !== null && fromVersion >= raw.version)
    return upToDate(fromVersion);

  await registerSnapshot(db, lake.store, rawTable.tableKey, raw, 'all_raw_events');
  const full = options.fullRefresh || fromVersion === null;
  const reachHours = Math.ceil(options.sessionTimeoutMinutes / 60);
  let readHours: Set<string> | undefined;
  let changed: AddFile[] = [];

  if (full) {
    const hours = distinct(raw.files.map((f) => hourKeyOf(f.partitionValues.dt, f.partitionValues.hour)));
    for (const table of ['scope_event_hours', 'scope_flag_hours', 'scope_session_hours'])
      await createHourTable(db, table, hours);
    await db.run('CREATE OR REPLACE TEMP VIEW scoped_raw_events AS SELECT * FROM all_raw_events');
    await db.run(
      `CREATE OR REPLACE TEMP TABLE scope_session_ranges AS
       SELECT user_id, pseudonym(user_id) AS user_key, min(event_time) AS lo, max(event_time) AS hi FROM all_raw_events GROUP BY user_id`,
    );
    await db.run(
      // every user is in scope_session_ranges already: reuse its keys rather than hash again
      "CREATE OR REPLACE TEMP TABLE scope_ltv_users AS SELECT user_id, user_key FROM scope_session_ranges WHERE user_id IN (SELECT user_id FROM all_raw_events WHERE event_type = 'purchase')",
    );
  } else {
    changed = await changedFiles(lake, raw, fromVersion);
    // only rearrangements (compaction) since the marts were built: nothing to recompute
    if (changed.length === 0) return upToDate(fromVersion);
    await registerSnapshot(db, lake.store, rawTable.tableKey, raw, '__changed_events', changed);
    await createHourTable(
      db,
      'scope_event_hours',
      distinct(changed.map((f) => hourKeyOf(f.partitionValues.dt, f.partitionValues.hour))),
    );
    // An event's value at risk is its cart's increase over the state up to the session timeout
    // earlier: a changed event changes the values of the hours the timeout reaches after it.
    await db.run(
      `CREATE OR REPLACE TEMP TABLE scope_event_hours AS
       SELECT DISTINCT hour_start + to_hours(CAST(ahead AS INTEGER)) AS hour_start
       FROM scope_event_hours, range(0, CAST($reach AS INTEGER) + 1) AS t(ahead)`,
      { reach: String(reachHours) },
    );
    const sessions = marts.get('sessions')!;
    await registerSnapshot(db, lake.store, 'sessions', sessions, '__sessions_all');
    await db.run(
      `CREATE OR REPLACE TEMP TABLE scope_session_ranges AS
       WITH touched AS (
           SELECT user_id, pseudonym(user_id) AS user_key, min(event_time) AS lo, max(event_time) AS hi
           FROM __changed_events GROUP BY user_id
       ),
       touched_events AS (SELECT DISTINCT t.user_key, e.event_time FROM __changed_events AS e JOIN touched AS t USING (user_id)),
       hit AS (
           SELECT s.user_key, min(s.start_time) AS lo, max(s.end_time) AS hi
           FROM __sessions_all AS s
           JOIN touched_events AS t
             ON s.user_key = t.user_key
            AND t.event_time BETWEEN s.start_time - to_minutes(CAST($timeout AS BIGINT))
                                 AND s.end_time + to_minutes(CAST($timeout AS BIGINT))
           GROUP BY s.user_key
       )
       SELECT t.user_id, t.user_key, least(t.lo, coalesce(h.lo, t.lo)) AS lo, greatest(t.hi, coalesce(h.hi, t.hi)) AS hi
       FROM touched AS t LEFT JOIN hit AS h ON t.user_key = h.user_key`,
      { timeout: String(options.sessionTimeoutMinutes) },
    );
    await db.run(
      `CREATE OR REPLACE TEMP TABLE scope_session_hours AS
       SELECT DISTINCT h AS hour_start
       FROM scope_session_ranges,
            generate_series(date_trunc('hour', lo), date_trunc('hour', hi), INTERVAL 1 HOUR) AS g(h)`,
    );
    // A flag of hour h can change when its events, the sliding window reaching into h from the hour
    // before, or a session starting in h changed.
    await db.run(
      `CREATE OR REPLACE TEMP TABLE scope_flag_hours AS
       SELECT hour_start FROM scope_event_hours
       UNION SELECT hour_start + INTERVAL 1 HOUR FROM scope_event_hours
       UNION SELECT hour_start FROM scope_session_hours`,
    );
    await db.run(
      "CREATE OR REPLACE TEMP TABLE scope_ltv_users AS SELECT user_id, pseudonym(user_id) AS user_key FROM (SELECT DISTINCT user_id FROM __changed_events WHERE event_type = 'purchase')",
    );
    // Models read whole hours: the scoped ones and the hour before each (sliding windows), or as
    // many as the session timeout reaches back (cart state).
    const scoped = await db.all<{ key: string }>(
      `SELECT DISTINCT strftime(h, '%Y-%m-%d') || '|' || CAST(hour(h) AS VARCHAR) AS key
       FROM (SELECT hour_start FROM scope_flag_hours UNION SELECT hour_start FROM scope_session_hours),
            range(0, greatest(CAST($reach AS INTEGER), 1) + 1) AS t(back),
            LATERAL (SELECT hour_start - to_hours(CAST(back AS INTEGER)) AS h)`,
      { reach: String(reachHours) },
    );
    readHours = new Set(scoped.map((r) => r.key));
    await registerSnapshot(
      db,
      lake.store,
      rawTable.tableKey,
      raw,
      'scoped_raw_events',
      raw.files.filter((f) => readHours!.has(hourKeyOf(f.partitionValues.dt, f.partitionValues.hour) ?? '')),
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
    registered.add('existing_sessions').add('existing_customer_ltv');
  }
  await db.run(
    'CREATE OR REPLACE TEMP TABLE scope_session_dates AS SELECT DISTINCT CAST(hour_start AS DATE) AS day FROM scope_session_hours',
  );

  return {
    mode: full ? 'full' : 'incremental',
    fromVersion,
    changedRawFiles: changed,
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
    },
  };
}

/** The plan of a build with nothing to do. */
function upToDate(fromVersion: number | null): BuildPlan {
  return {
    mode: 'up-to-date',
    fromVersion,
    changedRawFiles: [],
    partitionsFor: async () => [],
    afterTempModel: async () => undefined,
    registerMartForDownstream: async () => undefined,
  };
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

/** Files whose rows changed since `fromVersion`: added ones still live, and removed ones still on disk. */
async function changedFiles(lake: Lake, raw: Snapshot, fromVersion: number): Promise<AddFile[]> {
  const log = lake.table(RAW_EVENTS).log;
  const live = new Map(raw.files.map((f) => [f.path, f]));
  const out = new Map<string, AddFile>();
  for (let version = fromVersion + 1; version <= raw.version; version++) {
    for (const action of await log.readCommit(version)) {
      if ('add' in action && action.add.dataChange && live.has(action.add.path))
        out.set(action.add.path, action.add);
      if ('remove' in action && action.remove.dataChange) {
        const key = `${RAW_EVENTS}/${decodeURIComponent(action.remove.path)}`;
        if (await lake.store.head(key)) {
          out.set(action.remove.path, {
            path: action.remove.path,
            partitionValues: action.remove.partitionValues ?? {},
            size: action.remove.size ?? 0,
            modificationTime: 0,
            dataChange: true,
          });
        }
      }
    }
  }
  return [...out.values()];
}

function distinct(values: readonly (string | null)[]): string[] {
  return [...new Set(values.filter((v): v is string => v !== null))].sort();
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

import type { DuckDb } from '../engine/duckdb.js';
import { RAW_EVENTS } from '../ingest/ingest.js';
import type { AddFile, PartitionValues } from '../lake/actions.js';
import type { Lake } from '../lake/lake.js';
import type { Snapshot } from '../lake/snapshot.js';
import { registerSnapshot } from '../lake/table-scan.js';

/**
 * What a build recomputes. Full: everything. Incremental: from the raw_events commits since the
 * marts' recorded version, the days whose files changed and, for sessions, per touched user the
 * time range from the earliest to the latest session within the timeout of a changed event, so
 * that range edges fall in gaps longer than the timeout and the result equals a full rebuild.
 *
 * It provides the models' inputs as temp tables and views: scoped_raw_events (the partitions the
 * models read), all_raw_events, scope_session_ranges(user_id, lo, hi), scope_session_dates,
 * scope_event_days, scope_flag_days, scope_ltv_users (scope tables hold `day DATE` or `user_id`),
 * existing_sessions and existing_customer_ltv.
 */
export interface BuildPlan {
  readonly mode: 'full' | 'incremental' | 'up-to-date';
  readonly fromVersion: number | null;
  /** Partition values a partitioned mart replaces, from its scope table. */
  partitionsFor(scopeTable: string, column: string): Promise<PartitionValues[]>;
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

  if (!options.fullRefresh && fromVersion !== null && fromVersion >= raw.version) {
    return {
      mode: 'up-to-date',
      fromVersion,
      partitionsFor: async () => [],
      afterTempModel: async () => undefined,
      registerMartForDownstream: async () => undefined,
    };
  }

  await registerSnapshot(db, lake.store, rawTable.tableKey, raw, 'all_raw_events');
  const full = options.fullRefresh || fromVersion === null;
  let readDays: Set<string> | undefined;

  if (full) {
    const days = distinct(raw.files.map((f) => f.partitionValues.dt ?? null));
    await createDayTable(db, 'scope_event_days', days);
    await createDayTable(db, 'scope_flag_days', days);
    await createDayTable(db, 'scope_session_dates', days);
    await db.run('CREATE OR REPLACE TEMP VIEW scoped_raw_events AS SELECT * FROM all_raw_events');
    await db.run(
      `CREATE OR REPLACE TEMP TABLE scope_session_ranges AS
       SELECT user_id, min(event_time) AS lo, max(event_time) AS hi FROM all_raw_events GROUP BY user_id`,
    );
    await db.run(
      "CREATE OR REPLACE TEMP TABLE scope_ltv_users AS SELECT DISTINCT user_id FROM all_raw_events WHERE event_type = 'purchase'",
    );
  } else {
    const changed = await changedFiles(lake, raw, fromVersion);
    await registerSnapshot(db, lake.store, rawTable.tableKey, raw, '__changed_events', changed);
    const eventDays = distinct(changed.map((f) => f.partitionValues.dt ?? null));
    await createDayTable(db, 'scope_event_days', eventDays);
    const sessions = marts.get('sessions')!;
    await registerSnapshot(db, lake.store, 'sessions', sessions, '__sessions_all');
    await db.run(
      `CREATE OR REPLACE TEMP TABLE scope_session_ranges AS
       WITH touched AS (
           SELECT user_id, min(event_time) AS lo, max(event_time) AS hi FROM __changed_events GROUP BY user_id
       ),
       touched_events AS (SELECT DISTINCT user_id, event_time FROM __changed_events),
       hit AS (
           SELECT s.user_id, min(s.start_time) AS lo, max(s.end_time) AS hi
           FROM __sessions_all AS s
           JOIN touched_events AS t
             ON s.user_id = t.user_id
            AND t.event_time BETWEEN s.start_time - to_minutes(CAST($timeout AS BIGINT))
                                 AND s.end_time + to_minutes(CAST($timeout AS BIGINT))
           GROUP BY s.user_id
       )
       SELECT t.user_id, least(t.lo, coalesce(h.lo, t.lo)) AS lo, greatest(t.hi, coalesce(h.hi, t.hi)) AS hi
       FROM touched AS t LEFT JOIN hit AS h ON t.user_id = h.user_id`,
      { timeout: String(options.sessionTimeoutMinutes) },
    );
    await db.run(
      `CREATE OR REPLACE TEMP TABLE scope_session_dates AS
       SELECT DISTINCT CAST(d AS DATE) AS day
       FROM scope_session_ranges, generate_series(CAST(lo AS DATE), CAST(hi AS DATE), INTERVAL 1 DAY) AS g(d)`,
    );
    await db.run(
      `CREATE OR REPLACE TEMP TABLE scope_flag_days AS
       SELECT day FROM scope_event_days
       UNION SELECT CAST(day + INTERVAL 1 DAY AS DATE) FROM scope_event_days
       UNION SELECT day FROM scope_session_dates`,
    );
    await db.run(
      "CREATE OR REPLACE TEMP TABLE scope_ltv_users AS SELECT DISTINCT user_id FROM __changed_events WHERE event_type = 'purchase'",
    );
    // Every model reads whole days: the scoped ones, with a day either side (sessions and sliding
    // windows that cross midnight).
    const scoped = await db.all<{ day: string }>(
      `SELECT DISTINCT CAST(CAST(day + INTERVAL (o) DAY AS DATE) AS VARCHAR) AS day
       FROM (SELECT day FROM scope_flag_days UNION SELECT day FROM scope_session_dates), (VALUES (-1), (0), (1)) AS t(o)`,
    );
    readDays = new Set(scoped.map((r) => r.day));
    await registerSnapshot(
      db,
      lake.store,
      rawTable.tableKey,
      raw,
      'scoped_raw_events',
      raw.files.filter((f) => readDays!.has(f.partitionValues.dt ?? '')),
    );
    const sessionDates = new Set(
      (await db.all<{ day: string }>('SELECT CAST(day AS VARCHAR) AS day FROM scope_session_dates')).map(
        (r) => r.day,
      ),
    );
    await registerSnapshot(
      db,
      lake.store,
      'sessions',
      sessions,
      'existing_sessions',
      sessions.files.filter((f) => sessionDates.has(f.partitionValues.session_date ?? '')),
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

  return {
    mode: full ? 'full' : 'incremental',
    fromVersion,
    async partitionsFor(scopeTable, column) {
      const rows = await db.all<{ day: string }>(
        `SELECT DISTINCT CAST(day AS VARCHAR) AS day FROM ${scopeTable} ORDER BY 1`,
      );
      return rows.map((r) => ({ [column]: r.day }));
    },
    async afterTempModel(model) {
      const existing = EXISTING_OF[model];
      if (existing && !registered.has(existing)) {
        await db.run(`CREATE OR REPLACE TEMP VIEW ${existing} AS SELECT * FROM ${model} WHERE false`);
        registered.add(existing);
      }
    },
    async registerMartForDownstream(name, snapshot) {
      const [partition] = snapshot.partitionColumns;
      const files =
        readDays && partition
          ? snapshot.files.filter((f) => readDays!.has(f.partitionValues[partition] ?? ''))
          : snapshot.files;
      await registerSnapshot(db, lake.store, name, snapshot, name, files);
    },
  };
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

async function createDayTable(db: DuckDb, name: string, days: readonly string[]): Promise<void> {
  await db.run(
    `CREATE OR REPLACE TEMP TABLE ${name} AS
     SELECT CAST(v AS DATE) AS day FROM (SELECT unnest(string_split($days, ',')) AS v) WHERE v <> ''`,
    { days: days.join(',') },
  );
}

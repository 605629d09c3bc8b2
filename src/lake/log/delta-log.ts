/**
 * The log kernel (`src/lake/log/`): reading, replaying and committing a table's `_delta_log/`. It
 * imports neither the table API, the operations nor run state: what a commit says about its caller
 * (run id, inputs) comes in as {@link CommitProperties}, and table policies (which statistics a
 * checkpoint drops) as {@link DeltaLogOptions}. A commit file is created once, never overwritten.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { DuckDb } from '../../engine/duckdb.js';
import { conflictError, dataError, ShopstreamError } from '../../errors.js';
import { joinKey, type ObjectInfo, type ObjectStore } from '../../storage/object-store.js';
import { parseDeltaIntervalMs } from '../../util/durations.js';
import { mapLimit } from '../../util/map-limit.js';
import { type Action, type CommitInfo, SUPPORTED_PROTOCOL } from './actions.js';
import { lakeActivity } from './activity.js';
import { checkpointActions, readCheckpointFile, writeCheckpointFile } from './checkpoint.js';
import { type ConflictScope, findConflict } from './conflicts.js';
import { checkpointFileName, commitFileName, LOG_DIR, parseLogFileName } from './log-files.js';
import { parseCommit, ReplayState, type Snapshot } from './snapshot.js';

export const ENGINE_INFO = 'shopstream/0.1.0';
export const CHECKPOINT_INTERVAL = 10;
const MAX_COMMIT_ATTEMPTS = 20;
const DAY_MS = 24 * 3600 * 1000;

interface SkippedCheckpoint {
  readonly version: number;
  readonly reason: string;
  readonly error: unknown;
}

interface LogListing {
  readonly commits: ReadonlyMap<number, ObjectInfo>;
  /** Complete checkpoints only (every part present), by version. */
  readonly checkpoints: ReadonlyMap<number, readonly string[]>;
}

export interface SnapshotTarget {
  readonly version?: number;
  /** Latest version committed at or before this instant (ms since epoch). */
  readonly timestamp?: number;
}

export interface CommitRequest {
  /** The snapshot version the actions were computed from; -1 for a new table. */
  readonly readVersion: number;
  readonly actions: readonly Action[];
  readonly operation: string;
  readonly parameters?: Record<string, unknown>;
  readonly metrics?: Record<string, unknown>;
  readonly scope: ConflictScope;
  /** What the caller says about the commit (its run id, its inputs): stamped into commitInfo. */
  readonly properties?: CommitProperties;
}

/**
 * What a caller says about a commit, as delta-rs's CommitProperties: written into the commit's
 * commitInfo after the fields the log sets. The log itself knows nothing of runs or commands: the
 * command or pipeline stage that writes passes its run id (pipeline_runs, the audit log, `table
 * history` and lineage join on it) and whatever else the commit should record.
 */
export interface CommitProperties {
  /** The run that made the commit. */
  readonly runId?: string;
  readonly [field: string]: unknown;
}

export interface DeltaLogOptions {
  /**
   * Columns whose min/max statistics a checkpoint must drop (statistics written before a column
   * lost them): the table API's policy, which the log applies without knowing it.
   */
  readonly withoutMinMax?: (column: string) => boolean;
}

export interface HistoryEntry {
  readonly version: number;
  readonly timestamp: number;
  readonly commitInfo: CommitInfo | undefined;
  readonly actionCounts: Readonly<Record<string, number>>;
}

/** The transaction log of one table: listing, replay, time travel, optimistic commits, checkpoints. */
export class DeltaLog {
  constructor(
    readonly store: ObjectStore,
    readonly tableKey: string,
    readonly db: DuckDb,
    readonly options: DeltaLogOptions = {},
  ) {}

  get logPrefix(): string {
    return `${joinKey(this.tableKey, LOG_DIR)}/`;
  }

  async list(): Promise<LogListing> {
    const commits = new Map<number, ObjectInfo>();
    const parts = new Map<number, { parts: number; names: Map<number, string> }>();
    for (const info of await this.store.list(this.logPrefix)) {
      const name = info.key.slice(this.logPrefix.length);
      if (name.includes('/')) continue;
      const file = parseLogFileName(name);
      if (!file) continue;
      if (file.kind === 'commit') commits.set(file.version, info);
      else {
        const entry = parts.get(file.version) ?? { parts: file.parts, names: new Map() };
        if (entry.parts === file.parts) entry.names.set(file.part, info.key);
        parts.set(file.version, entry);
      }
    }
    const checkpoints = new Map<number, string[]>();
    for (const [version, entry] of parts) {
      if (entry.names.size === entry.parts) {
        checkpoints.set(
          version,
          [...entry.names.entries()].sort((a, b) => a[0] - b[0]).map(([, key]) => key),
        );
      }
    }
    return { commits, checkpoints };
  }

  async exists(): Promise<boolean> {
    const listing = await this.list();
    return listing.commits.size > 0 || listing.checkpoints.size > 0;
  }

  async latestVersion(): Promise<number | undefined> {
    const listing = await this.list();
    return latestOf(listing);
  }

  async readCommit(version: number): Promise<Action[]> {
    const key = joinKey(this.logPrefix, commitFileName(version));
    const bytes = await this.store.get(key);
    return parseCommit(Buffer.from(bytes).toString('utf8'), key);
  }

  async snapshot(target: SnapshotTarget = {}): Promise<Snapshot> {
    const listing = await this.list();
    const latest = latestOf(listing);
    if (latest === undefined) {
      throw new ShopstreamError('usage', 'TABLE_NOT_FOUND', `no Delta table at ${this.describe()}`);
    }
    const version = resolveTargetVersion(listing, latest, target, this.describe());
    lakeActivity.recordRead(this.tableKey, version);
    const { state, from, skipped } = await this.replayCheckpoint(listing, version);
    for (let v = from; v <= version; v++) {
      if (!listing.commits.has(v)) {
        const unreadable = skipped.length
          ? ` (checkpoint ${skipped.map((s) => s.version).join(', ')} is unreadable: ${skipped[0]!.reason})`
          : '';
        throw dataError(
          'LOG_GAP',
          `the log of ${this.describe()} has no commit ${v} and no readable checkpoint covering it${unreadable}`,
          skipped.length ? { cause: skipped[0]!.error } : undefined,
        );
      }
    }
    const commits = await mapLimit(range(from, version + 1), 16, (v) => this.readCommit(v));
    for (const actions of commits) for (const action of actions) state.apply(action);
    const snapshot = state.toSnapshot(version, listing.commits.get(version)?.lastModified, this.describe());
    if (snapshot.protocol.minReaderVersion > SUPPORTED_PROTOCOL.minReaderVersion) {
      throw dataError(
        'PROTOCOL_UNSUPPORTED',
        `${this.describe()} needs Delta reader version ${snapshot.protocol.minReaderVersion}; shopstream reads version ${SUPPORTED_PROTOCOL.minReaderVersion}`,
      );
    }
    return snapshot;
  }

  /**
   * The state at the newest readable checkpoint at or before `version`, or empty state to replay
   * from version 0. A checkpoint that cannot be read (a partial or corrupt Parquet file, a part
   * missing its actions) is skipped for an older one or the JSON commits, as the protocol allows:
   * checkpoints only shortcut the replay. `_last_checkpoint` is not read: the listing names every
   * complete checkpoint, and the hint can be stale or garbage (it is still written, for other engines).
   */
  private async replayCheckpoint(
    listing: LogListing,
    version: number,
  ): Promise<{ state: ReplayState; from: number; skipped: SkippedCheckpoint[] }> {
    const skipped: SkippedCheckpoint[] = [];
    const candidates = [...listing.checkpoints.keys()].filter((v) => v <= version).sort((a, b) => b - a);
    for (const checkpoint of candidates) {
      const state = new ReplayState();
      try {
        for (const key of listing.checkpoints.get(checkpoint)!) {
          const local = await this.store.localPath(key);
          for (const action of await readCheckpointFile(this.db, local)) state.apply(action);
        }
        if (!state.protocol || !state.metadata) throw new Error('it has no protocol or metaData action');
        return { state, from: checkpoint + 1, skipped };
      } catch (error) {
        // the store being down is not a broken checkpoint: the commits would not be readable either
        if (error instanceof ShopstreamError && error.kind !== 'data') throw error;
        skipped.push({ version: checkpoint, reason: (error as Error).message, error });
      }
    }
    return { state: new ReplayState(), from: 0, skipped };
  }

  async history(limit?: number): Promise<HistoryEntry[]> {
    const listing = await this.list();
    const versions = [...listing.commits.keys()]
      .sort((a, b) => b - a)
      .slice(0, limit ?? Number.MAX_SAFE_INTEGER);
    return mapLimit(versions, 16, async (version) => {
      const actions = await this.readCommit(version);
      const counts: Record<string, number> = {};
      let commitInfo: CommitInfo | undefined;
      for (const action of actions) {
        const kind = Object.keys(action)[0]!;
        counts[kind] = (counts[kind] ?? 0) + 1;
        if ('commitInfo' in action) commitInfo = action.commitInfo;
      }
      return {
        version,
        timestamp: listing.commits.get(version)!.lastModified,
        commitInfo,
        actionCounts: counts,
      };
    });
  }

  /**
   * Commits optimistically: try `readVersion + 1`; when another writer took it, read what it
   * committed, fail on a logical conflict, otherwise try the next version.
   */
  async commit(request: CommitRequest): Promise<number> {
    let version = request.readVersion + 1;
    for (let attempt = 0; attempt < MAX_COMMIT_ATTEMPTS; attempt++) {
      const commitInfo: CommitInfo = {
        timestamp: Date.now(),
        operation: request.operation,
        operationParameters: request.parameters ?? {},
        operationMetrics: request.metrics ?? {},
        readVersion: request.readVersion,
        isBlindAppend: request.scope.kind === 'append' && !request.scope.readPartitions,
        engineInfo: ENGINE_INFO,
        ...request.properties,
      };
      const body = `${[{ commitInfo }, ...request.actions].map((a) => JSON.stringify(a)).join('\n')}\n`;
      const key = joinKey(this.logPrefix, commitFileName(version));
      if (await this.store.putIfAbsent(key, body)) {
        lakeActivity.recordWrite(this.tableKey, version, request.operation);
        if (version > 0 && version % CHECKPOINT_INTERVAL === 0) {
          await this.checkpoint(version).catch(() => undefined);
        }
        return version;
      }
      const winning = await this.readCommit(version);
      const conflict = findConflict(request, winning);
      if (conflict) {
        throw conflictError(
          conflict.code,
          `${this.describe()}: version ${version} was taken by a concurrent writer: ${conflict.message}`,
          {
            suggestions: ['rerun the command; it resumes from the new table state'],
          },
        );
      }
      version++;
    }
    throw conflictError(
      'COMMIT_RETRIES',
      `${this.describe()}: gave up after ${MAX_COMMIT_ATTEMPTS} concurrent commits`,
    );
  }

  /** Writes a Parquet checkpoint for `version` and points `_last_checkpoint` at it. */
  async checkpoint(version?: number): Promise<number> {
    const snapshot = await this.snapshot(version === undefined ? {} : { version });
    const retention =
      parseDeltaIntervalMs(snapshot.metadata.configuration['delta.deletedFileRetentionDuration']) ??
      7 * DAY_MS;
    const actions = checkpointActions(snapshot, retention, Date.now(), this.options.withoutMinMax);
    const dir = await this.store.stagingDir('checkpoint');
    try {
      const local = path.join(dir, checkpointFileName(snapshot.version));
      const size = await writeCheckpointFile(this.db, actions, local);
      await this.store.putFile(local, joinKey(this.logPrefix, checkpointFileName(snapshot.version)));
      const numOfAddFiles = snapshot.files.length;
      await this.store.put(
        joinKey(this.logPrefix, '_last_checkpoint'),
        JSON.stringify({ version: snapshot.version, size, numOfAddFiles }),
      );
      return snapshot.version;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  describe(): string {
    return `table ${this.tableKey} (${this.store.uri})`;
  }
}

function latestOf(listing: LogListing): number | undefined {
  const versions = [...listing.commits.keys(), ...listing.checkpoints.keys()];
  return versions.length ? Math.max(...versions) : undefined;
}

function resolveTargetVersion(
  listing: LogListing,
  latest: number,
  target: SnapshotTarget,
  where: string,
): number {
  if (target.version !== undefined) {
    if (target.version < 0 || target.version > latest) {
      throw new ShopstreamError(
        'usage',
        'VERSION_NOT_FOUND',
        `${where} has versions up to ${latest}; version ${target.version} does not exist`,
      );
    }
    return target.version;
  }
  if (target.timestamp !== undefined) {
    const eligible = [...listing.commits.entries()].filter(
      ([, info]) => info.lastModified <= target.timestamp!,
    );
    if (eligible.length === 0) {
      throw new ShopstreamError(
        'usage',
        'VERSION_NOT_FOUND',
        `${where} has no version committed at or before ${new Date(target.timestamp).toISOString()}`,
      );
    }
    return Math.max(...eligible.map(([v]) => v));
  }
  return latest;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}

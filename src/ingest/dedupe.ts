import type { DuckDBDoubleVector } from '@duckdb/node-api';
import { type DuckDb, quoteLiteral } from '../engine/duckdb.js';
import type { AddFile } from '../lake/log/actions.js';
import type { Snapshot } from '../lake/log/snapshot.js';
import type { DeltaTable } from '../lake/table/delta-table.js';
import { registerSnapshot } from '../lake/table/table-scan.js';
import { SeenHashes, TABLE_SOURCE } from './seen-hashes.js';

/**
 * Ingest, step 2 of 3 (stage → dedupe → commit), chunk by chunk: which staged rows are new events.
 * An event_id lands once: the first occurrence in the batch (by file, then line) wins, and none
 * already in the days (dt partitions) the batch touches.
 *
 * Memory stays flat in the batch size: the batch keeps only the seen set (seen-hashes.ts), the
 * 52-bit hashes of the event_ids it wrote (and of those already in the days it touched, loaded when
 * a chunk first touches a day). A chunk's row whose hash is not in it is new (in the chunk, the
 * first of its event_id wins, compared exactly); a row whose hash is in it is HELD, almost always a duplicate,
 * and decided exactly at the end (its event_id against the ids the batch wrote, kept in a journal
 * of small Parquet files, and the touched days' ids). A day loaded after rows were written may hold
 * one of their event_ids (the same id with another event time): those hashes are noted as LATE and
 * checked exactly at the end too (the caller rewrites the few files holding them).
 */

/** The staged chunk: sql/ingest/stage_events.sql's rows plus `__h` = EVENT_HASH. */
export const CHUNK = '__ingest_chunk';
/** The hash dedupe keys event_ids by: 52 bits, so that a JavaScript number holds it exactly. */
export const EVENT_HASH = 'hash(event_id) >> 12';
/** The good rows of CHUNK as the table's columns (plus __h): set up by the caller for each chunk. */
export const ROWS = '__ingest_rows';
/** ROWS without what dedupe held or dropped: the chunk's new events. */
export const NEW = '__ingest_new';
const HITS = '__ingest_hits';
const KEYS = '__ingest_keys';
const SKIP = '__ingest_skip';
const HELD = '__ingest_held';
const TAKEN = '__ingest_taken';
const LATE = '__ingest_late';
const EXISTING = '__ingest_existing';
/** Held rows that proved to be first occurrences: written with the batch's last files. */
export const HELD_NEW = '__ingest_held_new';

export interface ChunkSplit {
  /** Rows held for the exact check at the end (their hash was seen before). */
  readonly held: number;
}

export class StreamingDedupe {
  private readonly loaded = new Set<string>();
  private readonly seen = new SeenHashes();
  private held = 0;
  private heldExisting = false;
  private late = false;

  constructor(
    private readonly db: DuckDb,
    private readonly table: DeltaTable,
    private readonly snapshot: Snapshot,
  ) {}

  async start(): Promise<void> {
    await this.db.run(`CREATE OR REPLACE TEMP TABLE ${LATE} (h UBIGINT)`);
    await this.db.run(`CREATE OR REPLACE TEMP TABLE ${HITS} (h UBIGINT)`);
  }

  /** The table's files of these days, as of the snapshot the write is checked against. */
  existingFiles(days: ReadonlySet<string>): AddFile[] {
    return this.snapshot.files.filter((f) => days.has(f.partitionValues.dt ?? ''));
  }

  /** Adds the hashes of the event_ids already in the days not loaded yet to the seen set. */
  async loadDays(days: Iterable<string>): Promise<void> {
    const fresh = new Set([...days].filter((d) => !this.loaded.has(d)));
    for (const day of fresh) this.loaded.add(day);
    const files = this.existingFiles(fresh);
    if (files.length === 0) return;
    await this.registerExisting(files);
    const late: number[] = [];
    await this.readHashes(`SELECT DISTINCT CAST(${EVENT_HASH} AS DOUBLE) FROM ${EXISTING}`, (h) => {
      const owner = this.seen.addIfAbsent(h, TABLE_SOURCE);
      if (owner === undefined || owner === TABLE_SOURCE) return;
      // a row written before this day was loaded may repeat one of its events (another event time)
      late.push(h);
      this.seen.setOwner(h, TABLE_SOURCE);
    });
    if (late.length > 0) {
      this.late = true;
      await this.append(LATE, late);
    }
    await this.db.run(`DROP VIEW ${EXISTING}`);
  }

  /**
   * Splits ROWS (the good rows of source `f`'s chunk): rows whose hash was seen go to HELD; of the
   * others the first per event_id (by line) is new. Creates the view NEW over them.
   */
  async splitChunk(f: number): Promise<ChunkSplit> {
    const db = this.db;
    // one hash aggregate over the chunk: its distinct hashes, and which repeat within it
    await db.run(
      `CREATE OR REPLACE TEMP TABLE ${KEYS} AS
       SELECT __h AS h, count(*) AS n FROM ${CHUNK} WHERE error_reason IS NULL GROUP BY __h`,
    );
    // the seen set decides which keys are hits, and learns the others (for source f)
    const hitKeys: number[] = [];
    let repeated = 0;
    let existing = false;
    await this.readHashes(`SELECT CAST(h AS DOUBLE), n > 1 FROM ${KEYS}`, (h, many) => {
      if (many) repeated++;
      const owner = this.seen.addIfAbsent(h, f);
      if (owner === undefined) return;
      hitKeys.push(h);
      if (owner === TABLE_SOURCE) existing = true;
    });
    await db.run(`DELETE FROM ${HITS}`);
    await this.append(HITS, hitKeys);
    const hits = hitKeys.length;
    const repeats = repeated > 0;
    let held = 0;
    if (hits > 0) {
      await db.run(
        `CREATE TEMP TABLE IF NOT EXISTS ${HELD} AS
         SELECT *, CAST(0 AS INTEGER) AS __f FROM ${ROWS} WHERE false`,
      );
      const [before] = await db.all<{ n: string }>(`SELECT count(*) AS n FROM ${HELD}`);
      await db.run(
        `INSERT INTO ${HELD} SELECT r.*, ${Number(f)} FROM ${ROWS} AS r SEMI JOIN ${HITS} AS h ON r.__h = h.h`,
      );
      const [after] = await db.all<{ n: string }>(`SELECT count(*) AS n FROM ${HELD}`);
      held = Number(after!.n) - Number(before!.n);
      this.held += held;
      if (existing) this.heldExisting = true;
    }
    // the lines NEW leaves out: held ones, and repeats within the chunk after the first of their
    // event_id (compared exactly; equal hashes alone decide nothing)
    const skip = [
      ...(hits > 0
        ? [`SELECT source_line FROM ${CHUNK} WHERE error_reason IS NULL AND __h IN (SELECT h FROM ${HITS})`]
        : []),
      ...(repeats
        ? [
            `SELECT source_line FROM (
               SELECT source_line, row_number() OVER (PARTITION BY event_id ORDER BY source_line) AS k
               FROM ${CHUNK}
               WHERE error_reason IS NULL AND __h IN (SELECT h FROM ${KEYS} WHERE n > 1)
                 AND __h NOT IN (SELECT h FROM ${HITS})
             ) WHERE k > 1`,
          ]
        : []),
    ];
    if (skip.length > 0) await db.run(`CREATE OR REPLACE TEMP TABLE ${SKIP} AS ${skip.join(' UNION ALL ')}`);
    await db.run(
      `CREATE OR REPLACE TEMP VIEW ${NEW} AS
       SELECT r.* EXCLUDE (__h) FROM ${ROWS} AS r${
         skip.length > 0 ? ` ANTI JOIN ${SKIP} AS x ON r.source_line = x.source_line` : ''
       }`,
    );
    return { held };
  }

  /** Drops the chunk's working tables (NEW with them). */
  async endChunk(): Promise<void> {
    await this.db.run(`DROP VIEW IF EXISTS ${NEW}`);
    for (const table of [KEYS, SKIP]) await this.db.run(`DROP TABLE IF EXISTS ${table}`);
  }

  /** Forgets what source `f` added (it failed, or it is a copy of a landed one). */
  async dropSource(f: number): Promise<void> {
    this.seen.removeOwner(Number(f));
    if (this.held > 0) await this.db.run(`DELETE FROM ${HELD} WHERE __f = ${Number(f)}`);
  }

  /**
   * The exact check of the held rows, once every source is staged: a held row lands when no row
   * the batch wrote (`journal`: Parquet files of their event_ids) and no event of the final `days`
   * has its event_id, and it is the first held one of its id (by source, then line). Creates
   * HELD_NEW (ROWS' columns without __h) and returns its row count.
   */
  async resolveHeld(days: ReadonlySet<string>, journal: readonly string[]): Promise<number> {
    const [count] =
      this.held > 0 ? await this.db.all<{ n: string }>(`SELECT count(*) AS n FROM ${HELD}`) : [];
    if (!count || Number(count.n) === 0) return 0;
    const ids = `(SELECT DISTINCT event_id FROM ${HELD})`;
    const sources: string[] = [];
    if (journal.length > 0) {
      sources.push(`SELECT event_id FROM read_parquet(${fileList(journal)}) WHERE event_id IN ${ids}`);
    }
    if (this.heldExisting || this.late) {
      const files = this.existingFiles(days);
      if (files.length > 0) {
        await this.registerExisting(files);
        sources.push(`SELECT event_id FROM ${EXISTING} WHERE event_id IN ${ids}`);
      }
    }
    await this.db.run(
      `CREATE OR REPLACE TEMP TABLE ${TAKEN} AS ${
        sources.length > 0 ? sources.join(' UNION ') : 'SELECT CAST(NULL AS VARCHAR) AS event_id WHERE false'
      }`,
    );
    await this.db.run(
      `CREATE OR REPLACE TEMP TABLE ${HELD_NEW} AS
       SELECT * EXCLUDE (__h, __f, __k) FROM (
         SELECT *, row_number() OVER (PARTITION BY event_id ORDER BY __f, source_line) AS __k
         FROM ${HELD} WHERE event_id NOT IN (SELECT event_id FROM ${TAKEN})
       ) WHERE __k = 1`,
    );
    await this.db.run(`DROP VIEW IF EXISTS ${EXISTING}`);
    const [kept] = await this.db.all<{ n: string }>(`SELECT count(*) AS n FROM ${HELD_NEW}`);
    return Number(kept!.n);
  }

  /**
   * The event_ids the batch wrote before a day holding them was loaded (rare: the same id with
   * another event time), checked exactly against the final `days`: a relation of event_ids, or
   * undefined when there are none. The caller removes them from its files.
   */
  async lateDuplicates(days: ReadonlySet<string>, journal: readonly string[]): Promise<string | undefined> {
    if (!this.late || journal.length === 0) return undefined;
    const files = this.existingFiles(days);
    if (files.length === 0) return undefined;
    await this.registerExisting(files);
    const lateIds = '__ingest_late_ids';
    await this.db.run(
      `CREATE OR REPLACE TEMP TABLE ${lateIds} AS
       SELECT DISTINCT event_id FROM read_parquet(${fileList(journal)})
       WHERE ${EVENT_HASH} IN (SELECT h FROM ${LATE})
         AND event_id IN (SELECT event_id FROM ${EXISTING})`,
    );
    await this.db.run(`DROP VIEW IF EXISTS ${EXISTING}`);
    const [n] = await this.db.all<{ n: string }>(`SELECT count(*) AS n FROM ${lateIds}`);
    return Number(n!.n) > 0 ? lateIds : undefined;
  }

  /** Calls `each` with every row of `sql` (a DOUBLE hash, and optionally a BOOLEAN). */
  private async readHashes(sql: string, each: (hash: number, flag: boolean) => void): Promise<void> {
    const result = await this.db.connection.run(sql);
    for (
      let chunk = await result.fetchChunk();
      chunk && chunk.rowCount > 0;
      chunk = await result.fetchChunk()
    ) {
      const hashes = chunk.getColumnVector(0) as DuckDBDoubleVector;
      const flags = chunk.columnCount > 1 ? chunk.getColumnVector(1) : undefined;
      for (let i = 0; i < chunk.rowCount; i++) each(hashes.getItem(i)!, flags?.getItem(i) === true);
    }
  }

  /** Appends hashes to a one-column UBIGINT table. */
  private async append(table: string, hashes: readonly number[]): Promise<void> {
    if (hashes.length === 0) return;
    const appender = await this.db.connection.createAppender(table, 'main', 'temp');
    for (const h of hashes) {
      appender.appendUBigInt(BigInt(h));
      appender.endRow();
    }
    appender.closeSync();
  }

  private async registerExisting(files: readonly AddFile[]): Promise<void> {
    const { table } = this;
    await registerSnapshot(this.db, table.store, table.tableKey, this.snapshot, EXISTING, files);
  }

  async drop(): Promise<void> {
    for (const view of [NEW, EXISTING, ROWS]) await this.db.run(`DROP VIEW IF EXISTS ${view}`);
    for (const table of [
      KEYS,
      SKIP,
      HITS,
      HELD,
      TAKEN,
      LATE,
      HELD_NEW,
      '__ingest_late_ids',
      `__partition_values_${EXISTING}`,
    ]) {
      await this.db.run(`DROP TABLE IF EXISTS ${table}`);
    }
  }
}

/** `['a', 'b']` as a DuckDB list literal of paths. */
export function fileList(paths: readonly string[]): string {
  return `[${paths.map(quoteLiteral).join(', ')}]`;
}

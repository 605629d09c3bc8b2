import { rm } from 'node:fs/promises';
import path from 'node:path';
import { type DuckDb, quoteIdent, quoteLiteral } from '../engine/duckdb.js';
import type { AddFile } from '../lake/log/actions.js';
import { type DeltaSchema, isPrimitive } from '../lake/log/delta-schema.js';
import type { Snapshot } from '../lake/log/snapshot.js';
import { duckDbType } from '../lake/table/columns.js';
import type { DeltaTable } from '../lake/table/delta-table.js';
import { dataFileLocalPath } from '../lake/table/table-scan.js';
import { CHUNK, fileList, HELD_NEW, NEW, ROWS, StreamingDedupe } from './dedupe.js';

/**
 * Writes a batch's new events chunk by chunk, as they are staged, straight to data files of
 * raw_events (dt/hour partitions, zstd, the lake's own writer and statistics): nothing of the batch
 * is held but the seen set of event_id hashes (dedupe.ts), the few held rows and CARRY. The files stay invisible until
 * commit.ts adds them (with the quarantine's txns, as one write did before); a crash leaves only
 * unreferenced files, which vacuum removes.
 *
 * Files per partition: data is roughly time-ordered, so a chunk (262,144 lines) covers a few hours
 * with many rows each, plus a few stragglers (late events). A chunk's partition with fewer than
 * 1/CARRY_SHARE of its lines waits in CARRY and is written with the batch's last files (or when
 * CARRY passes a chunk's lines), so stragglers do not become one tiny file per chunk.
 */

/** The refused rows of staged chunks (quarantine), with the stagers' rejects in stage.ts's BAD. */
export const BAD_ROWS = '__ingest_bad_rows';
const PARTS = '__ingest_chunk_parts';
const CARRY = '__ingest_carry';
const OUT = '__ingest_out';
const JOURNAL_PREFIX = 'ids-';

/**
 * A chunk's partition with less than this share of the chunk's lines (1/128: 2,048 rows of a
 * 262,144-line chunk) waits in CARRY; CARRY is written out when it holds more than one chunk's
 * lines (scattered event times: memory stays bounded, files get smaller).
 */
export const CARRY_SHARE = 128;

/** What stage.ts hands each staged chunk to, and tells when a source is dropped. */
export interface ChunkSink {
  /** CHUNK holds the staged rows of source `index` (and __ingest_ext_file its extension values). */
  chunk(index: number): Promise<void>;
  /** Forgets everything of source `index` (it failed midway, or it is a copy of a landed one). */
  dropSource(index: number, sourcePath: string): Promise<void>;
}

interface WrittenFile {
  readonly add: AddFile;
  /** The sources (indexes) whose rows it holds. */
  readonly sources: ReadonlySet<number>;
}

export interface EventWriterOptions {
  readonly table: DeltaTable;
  /** The table as read: its days' events are the ones dedupe checks against. */
  readonly snapshot: Snapshot;
  /** The schema files are written with: the table's, plus every extension column the batch may add. */
  readonly schema: DeltaSchema;
  /** Extension column expressions over __ingest_ext_file AS e (schema evolution). */
  readonly extSelect: readonly string[];
  /** Lines per staged chunk (NDJSON): sizes CARRY. */
  readonly chunkLines: number;
}

export class EventWriter implements ChunkSink {
  readonly dedupe: StreamingDedupe;
  private written: WrittenFile[] = [];
  private carried = 0;
  private readonly carrySources = new Set<number>();
  private readonly journal = new Map<number, string[]>();
  private readonly good = new Map<number, number>();
  private readonly parts = new Map<number, Set<string>>();
  private chunks = 0;
  private journalDir: string | undefined;
  private schema: DeltaSchema;

  constructor(
    private readonly db: DuckDb,
    private readonly options: EventWriterOptions,
  ) {
    this.dedupe = new StreamingDedupe(db, options.table, options.snapshot);
    this.schema = options.schema;
  }

  async start(): Promise<void> {
    await this.dedupe.start();
    // the event_ids written, per chunk: what the exact check of held rows compares with
    this.journalDir = await this.options.table.store.stagingDir('ingest-ids');
  }

  async chunk(index: number): Promise<void> {
    const { db } = this;
    const f = Number(index);
    await db.run(
      `INSERT INTO ${BAD_ROWS} SELECT source_file, source_line, error_field, error_reason, raw
       FROM ${CHUNK} WHERE error_reason IS NOT NULL`,
    );
    await db.run(
      `CREATE OR REPLACE TEMP TABLE ${PARTS} AS
       SELECT dt, hour, count(*) AS n FROM ${CHUNK} WHERE error_reason IS NULL GROUP BY ALL`,
    );
    const parts = await db.all<{ dt: string; hour: number; n: string }>(
      `SELECT CAST(dt AS VARCHAR) AS dt, hour, n FROM ${PARTS}`,
    );
    if (parts.length === 0) return;
    this.good.set(f, (this.good.get(f) ?? 0) + parts.reduce((sum, p) => sum + Number(p.n), 0));
    const seen = this.parts.get(f) ?? new Set<string>();
    for (const p of parts) seen.add(`${p.dt}|${p.hour}`);
    this.parts.set(f, seen);

    await this.dedupe.loadDays(parts.map((p) => p.dt));
    const ext = this.options.extSelect;
    await db.run(
      `CREATE OR REPLACE TEMP VIEW ${ROWS} AS
       SELECT c.* EXCLUDE (error_field, error_reason, raw)${ext.map((c) => `, ${c}`).join('')}
       FROM ${CHUNK} AS c${ext.length > 0 ? ' LEFT JOIN __ingest_ext_file AS e ON e.__x_line = c.source_line' : ''}
       WHERE c.error_reason IS NULL`,
    );
    await this.dedupe.splitChunk(f);

    await this.writeJournal(f, NEW);

    const carryBelow = Math.max(1, Math.floor(this.options.chunkLines / CARRY_SHARE));
    const small = parts.filter((p) => Number(p.n) < carryBelow).length;
    const smallParts = `(SELECT dt, hour FROM ${PARTS} WHERE n < ${carryBelow}) AS s ON o.dt = s.dt AND o.hour = s.hour`;
    if (small > 0) {
      await this.carry(`SELECT o.*, ${f} AS __f FROM ${NEW} AS o SEMI JOIN ${smallParts}`);
      this.carrySources.add(f);
    }
    if (small < parts.length) {
      await db.run(
        `CREATE OR REPLACE TEMP VIEW ${OUT} AS ${small > 0 ? `SELECT o.* FROM ${NEW} AS o ANTI JOIN ${smallParts}` : `SELECT * FROM ${NEW}`}`,
      );
      await this.writeOut(new Set([f]));
    }
    await this.dedupe.endChunk();
    await db.run(`DROP VIEW IF EXISTS ${ROWS}`);
    await db.run(`DROP TABLE IF EXISTS ${PARTS}`);
    if (this.carried > this.options.chunkLines) await this.flushCarry();
  }

  /** The good records staged (duplicates included) and their dt/hour partitions, sorted. */
  counts(): { good: number; partitions: { dt: string; hour: number }[] } {
    let good = 0;
    for (const n of this.good.values()) good += n;
    const keys = new Set<string>();
    for (const set of this.parts.values()) for (const key of set) keys.add(key);
    const partitions = [...keys]
      .map((key) => {
        const [dt, hour] = key.split('|');
        return { dt: dt!, hour: Number(hour) };
      })
      .sort((a, b) => (a.dt < b.dt ? -1 : a.dt > b.dt ? 1 : a.hour - b.hour));
    return { good, partitions };
  }

  async dropSource(index: number, sourcePath: string): Promise<void> {
    const f = Number(index);
    const { db } = this;
    await this.dedupe.endChunk();
    await db.run(`DROP VIEW IF EXISTS ${ROWS}`);
    await this.dedupe.dropSource(f);
    if (this.carrySources.has(f)) {
      await db.run(`DELETE FROM ${CARRY} WHERE __f = ${f}`);
      await this.countCarry();
    }
    for (const file of this.journal.get(f) ?? []) await rm(file, { force: true });
    this.journal.delete(f);
    this.good.delete(f);
    this.parts.delete(f);
    const kept: WrittenFile[] = [];
    for (const file of this.written) {
      if (!file.sources.has(f)) kept.push(file);
      else if (file.sources.size === 1) await this.options.table.discardFiles([file.add]);
      else kept.push(...(await this.rewrite(file, `source_file <> ${quoteLiteral(sourcePath)}`)));
    }
    this.written = kept;
  }

  /**
   * Once every source is staged: the held rows that are first occurrences join CARRY, events a day
   * loaded late already held leave the files, CARRY is written; with `schema` (the table's plus
   * the columns the commit adds) the files are rewritten if it lacks a column they were written
   * with (a source that would have added it was dropped). Returns the files to commit.
   */
  async finish(days: ReadonlySet<string>, schema: DeltaSchema): Promise<readonly AddFile[]> {
    const journal = this.journalFiles();
    if ((await this.dedupe.resolveHeld(days, journal)) > 0) {
      await this.carry(`SELECT *, -1 AS __f FROM ${HELD_NEW}`);
      await this.writeJournal(-1, HELD_NEW);
    }
    const late = await this.dedupe.lateDuplicates(days, journal);
    if (late) {
      if (this.carried > 0)
        await this.db.run(`DELETE FROM ${CARRY} WHERE event_id IN (SELECT event_id FROM ${late})`);
      await this.removeEvents(late);
    }
    await this.flushCarry();
    if (schema.fields.length < this.schema.fields.length) {
      this.schema = schema;
      const rewritten: WrittenFile[] = [];
      for (const file of this.written) rewritten.push(...(await this.rewrite(file, 'true')));
      this.written = rewritten;
    }
    return this.files();
  }

  /** The journal: Parquet files of the event_ids written (what a concurrent commit may also have landed). */
  journalFiles(): string[] {
    return [...this.journal.values()].flat();
  }

  files(): AddFile[] {
    return this.written.map((w) => w.add);
  }

  /**
   * Removes the events whose event_id is in `idsRelation` (a table or view of event_id) from the
   * written files: each file holding one is rewritten without them (or dropped when nothing stays).
   */
  async removeEvents(idsRelation: string): Promise<void> {
    if (this.written.length === 0) return;
    const { table } = this.options;
    const locals = await Promise.all(
      this.written.map((w) => dataFileLocalPath(table.store, table.tableKey, w.add.path)),
    );
    const hits = await this.db.all<{ filename: string }>(
      `SELECT DISTINCT filename FROM read_parquet(${fileList(locals)}, filename = true, union_by_name = true)
       WHERE event_id IN (SELECT event_id FROM ${quoteIdent(idsRelation)})`,
    );
    const affected = new Set(hits.map((h) => h.filename));
    const kept: WrittenFile[] = [];
    for (const [i, file] of this.written.entries()) {
      if (!affected.has(locals[i]!)) kept.push(file);
      else
        kept.push(
          ...(await this.rewrite(file, `event_id NOT IN (SELECT event_id FROM ${quoteIdent(idsRelation)})`)),
        );
    }
    this.written = kept;
  }

  /** Deletes every file written (the batch failed before its commit). */
  async discard(): Promise<void> {
    await this.options.table.discardFiles(this.files());
    this.written = [];
  }

  async close(): Promise<void> {
    await this.dedupe.drop();
    for (const view of [OUT]) await this.db.run(`DROP VIEW IF EXISTS ${view}`);
    for (const table of [PARTS, CARRY]) await this.db.run(`DROP TABLE IF EXISTS ${table}`);
    if (this.journalDir) await rm(this.journalDir, { recursive: true, force: true });
  }

  private async writeJournal(f: number, relation: string): Promise<void> {
    const file = path.join(this.journalDir!, `${JOURNAL_PREFIX}${f}-${this.chunks++}.parquet`);
    await this.db.run(`COPY (SELECT event_id FROM ${relation}) TO ${quoteLiteral(file)} (FORMAT parquet)`);
    this.journal.set(f, [...(this.journal.get(f) ?? []), file]);
  }

  private async carry(select: string): Promise<void> {
    await this.db.run(`CREATE TEMP TABLE IF NOT EXISTS ${CARRY} AS ${select} LIMIT 0`);
    await this.db.run(`INSERT INTO ${CARRY} BY NAME ${select}`);
    await this.countCarry();
  }

  private async countCarry(): Promise<void> {
    const [n] = await this.db.all<{ n: string }>(`SELECT count(*) AS n FROM ${CARRY}`);
    this.carried = Number(n!.n);
  }

  private async flushCarry(): Promise<void> {
    if (this.carried === 0) return;
    await this.db.run(`CREATE OR REPLACE TEMP VIEW ${OUT} AS SELECT * EXCLUDE (__f) FROM ${CARRY}`);
    // held rows (source -1) are checked and written last, when no source can be dropped any more
    await this.writeOut(new Set([...this.carrySources]));
    await this.db.run(`DELETE FROM ${CARRY}`);
    this.carried = 0;
    this.carrySources.clear();
  }

  /** Writes OUT as files of the table (partitioned as the table), not committed. */
  private async writeOut(sources: ReadonlySet<number>): Promise<void> {
    const { table, snapshot } = this.options;
    const added = await table.writeFiles(OUT, this.schema, snapshot.partitionColumns);
    for (const add of added) this.written.push({ add, sources });
    await this.db.run(`DROP VIEW IF EXISTS ${OUT}`);
  }

  /** A written file again, with only its rows matching `where` (SQL over the file's columns). */
  private async rewrite(file: WrittenFile, where: string): Promise<WrittenFile[]> {
    const { table, snapshot } = this.options;
    const local = await dataFileLocalPath(table.store, table.tableKey, file.add.path);
    const present = new Set(
      (
        await this.db.all<{ column_name: string }>(
          `DESCRIBE SELECT * FROM read_parquet(${quoteLiteral(local)})`,
        )
      ).map((c) => c.column_name),
    );
    const partitionColumns = new Set(snapshot.partitionColumns);
    const columns = this.schema.fields
      .filter((field) => !partitionColumns.has(field.name))
      .map((field) =>
        present.has(field.name) || !isPrimitive(field.type)
          ? quoteIdent(field.name)
          : `CAST(NULL AS ${duckDbType(field.type)}) AS ${quoteIdent(field.name)}`,
      );
    await this.db.run(
      `CREATE OR REPLACE TEMP VIEW ${OUT} AS SELECT ${columns.join(', ')} FROM read_parquet(${quoteLiteral(local)}) WHERE ${where}`,
    );
    const added = await table.writeFiles(
      OUT,
      this.schema,
      snapshot.partitionColumns,
      file.add.partitionValues,
    );
    await this.db.run(`DROP VIEW IF EXISTS ${OUT}`);
    await table.discardFiles([file.add]);
    return added.map((add) => ({ add, sources: file.sources }));
  }
}

import { createHash } from 'node:crypto';
import type avro from 'avsc';
import { QUARANTINE, QUARANTINE_TABLE } from '../catalog/tables/quarantine.js';
import { RAW_EVENTS, RAW_EVENTS_COLUMNS, RAW_EVENTS_TABLE } from '../catalog/tables/raw-events.js';
import { dataError, type ShopstreamError } from '../errors.js';
import { listSchemaVersions, SCHEMAS_DIR } from '../governance/avro-registry.js';
import type { PartitionValues } from '../lake/log/actions.js';
import type { Snapshot } from '../lake/log/snapshot.js';
import { schemaFromColumns } from '../lake/table/columns.js';
import { type DeltaTable, schemaWithColumns } from '../lake/table/delta-table.js';
import type { Lake } from '../lake/table/lake.js';
import { currentRun } from '../runtime/run-context.js';
import type { S3StoreOptions } from '../storage/s3-store.js';
import { readAvroWriterSchema } from './avro-source.js';
import { commitEvents, commitQuarantine, type QuarantineSample, quarantineSamples } from './commit.js';
import {
  type AvroWriter,
  columnsToAdd,
  type EvolutionPlan,
  extensionSelect,
  planEvolution,
  requireRegistered,
  toColumnDefs,
} from './event-contract-evolution.js';
import { EventWriter } from './event-writer.js';
import { contentHash, resolveSources, type SourceFile } from './sources.js';
import { BAD, dropStaged, stageFiles, type UnreadableSource } from './stage.js';
import { NDJSON_CHUNK_LINES } from './stage-lines.js';
import { boundIngestMemory } from './staging-memory.js';
import { stagingParams } from './staging-sql.js';

export type { QuarantineSample, UnreadableSource };

export interface IngestOptions {
  readonly sources: readonly string[];
  readonly maxBadRatio: number;
  readonly maxFutureHours: number;
  readonly minEventDate: string;
  /**
   * How a source file is recognised as already landed: `stat` = path, size and mtime (fast; a copy
   * under another name is re-read and its events dropped as duplicates); `content` = also the
   * SHA-256 of its bytes (a renamed copy is skipped unread, at the cost of hashing every new file).
   */
  readonly fingerprint?: 'stat' | 'content';
  /** How to reach s3:// sources (endpoint, region). */
  readonly s3?: S3StoreOptions;
  /**
   * The schema registry (`<dir>/clickstream_event/v<N>.avsc`, default the package's `schemas/`): Avro
   * sources are checked against its highest version, and its fields raw_events lacks are added.
   */
  readonly schemaDir?: string;
  /**
   * A source that cannot be read whole (truncated or corrupt gzip, I/O error) never lands and the
   * other sources do; then `fail` (default) throws SOURCE_CORRUPT naming it, `report` returns the
   * summary with it under `unreadable` (the caller fails after printing).
   */
  readonly unreadable?: 'fail' | 'report';
  /** NDJSON lines staged per chunk (default NDJSON_CHUNK_LINES); small values serve tests. */
  readonly stageChunkLines?: number;
  readonly runId?: string;
  readonly now?: Date;
  readonly onProgress?: (progress: IngestProgress) => void;
}

export interface IngestProgress {
  readonly phase: 'read' | 'write';
  readonly filesDone: number;
  readonly filesTotal: number;
  readonly bytesDone: number;
  readonly bytesTotal: number;
}

export interface IngestSummary {
  readonly runId: string;
  readonly files: { readonly total: number; readonly alreadyIngested: number; readonly ingested: number };
  /**
   * Files that could not be read whole (truncated or corrupt gzip, I/O error): nothing of them was
   * landed or recorded, the other files were; callers fail the run (exit 65) after reporting.
   */
  readonly unreadable: readonly UnreadableSource[];
  readonly read: number;
  readonly written: number;
  readonly duplicates: number;
  readonly quarantined: number;
  /** written-or-duplicate / read: the share of records that were valid. 1 when nothing was read. */
  readonly qualityRatio: number;
  readonly badRatio: number;
  readonly maxBadRatio: number;
  readonly badRatioExceeded: boolean;
  readonly partitions: readonly string[];
  readonly rawEventsVersion: number | null;
  readonly quarantineVersion: number | null;
  readonly quarantineSamples: readonly QuarantineSample[];
  /** Columns this run added to raw_events (schema evolution), in the commit with the data. */
  readonly addedColumns: readonly string[];
  readonly durationMs: number;
}

/** The txn appId that marks a source's content as landed in a table. */
export function sourceAppId(hash: string): string {
  return `shopstream-ingest-${hash}`;
}

/**
 * Lands event files in `raw_events` (Hive-partitioned by event-time dt/hour) and bad records in
 * `quarantine`, in three steps: stage (stage.ts), dedupe (dedupe.ts), commit (commit.ts). Each
 * source's content hash is committed as a txn with the data, so re-running lands nothing twice and
 * a crash between the two commits is completed by the rerun, exactly once. Avro sources are
 * checked against the registered schema before anything is created or staged; new optional fields
 * (theirs or the registry's) become nullable raw_events columns in the data's commit.
 */
export async function ingest(lake: Lake, options: IngestOptions): Promise<IngestSummary> {
  // ingestFiles bounds DuckDB's memory once the sources resolve and the tables exist; this undoes it.
  const settings = { restore: async () => {} };
  let summary: IngestSummary;
  try {
    summary = await ingestFiles(lake, options, settings);
  } finally {
    await settings.restore();
  }
  const unreadable = options.unreadable === 'report' ? undefined : unreadableSourcesError(summary);
  if (unreadable) throw unreadable;
  return summary;
}

async function ingestFiles(
  lake: Lake,
  options: IngestOptions,
  settings: { restore: () => Promise<void> },
): Promise<IngestSummary> {
  const started = Date.now();
  const runId = options.runId ?? currentRun.id;
  const now = options.now ?? new Date();
  const files = await resolveSources(options.sources, process.cwd(), options.s3);
  const bytesTotal = files.reduce((sum, f) => sum + f.size, 0);
  const progress = (phase: IngestProgress['phase'], filesDone: number, bytesDone: number) =>
    options.onProgress?.({ phase, filesDone, filesTotal: files.length, bytesDone, bytesTotal });

  const { raw, quarantine, rawSnapshot, quarantineSnapshot, schemaPlan } = await openTables(
    lake,
    files,
    options.schemaDir ?? SCHEMAS_DIR,
    runId,
  );
  const extColumns = schemaPlan.columns;

  const db = lake.db;
  settings.restore = await boundIngestMemory(db, lake.store);
  // Events are written as they are staged, with every extension column the batch may add; the
  // commit adds the columns of the sources that land (finish rewrites if one was dropped).
  const existingExt = extColumns.filter((c) => schemaPlan.existing.has(c.name));
  const newExt = extColumns.filter((c) => !schemaPlan.existing.has(c.name));
  const writer = new EventWriter(db, {
    table: raw,
    snapshot: rawSnapshot,
    schema: schemaWithColumns(rawSnapshot, toColumnDefs(newExt)),
    extSelect: extensionSelect(
      extColumns,
      [...existingExt, ...newExt].map((c) => c.name),
      'e',
    ),
    chunkLines: options.stageChunkLines ?? NDJSON_CHUNK_LINES,
  });
  let committed = false;
  try {
    await writer.start();
    let bytesDone = 0;
    const { pending, unreadable } = await stageFiles(db, {
      files,
      snapshot: rawSnapshot,
      params: stagingParams(now, options),
      extColumns,
      chunkLines: options.stageChunkLines,
      statAppId,
      contentAppId:
        options.fingerprint === 'content'
          ? (file) => file.local().then(contentHash).then(sourceAppId)
          : undefined,
      onFile: (index, file) => {
        bytesDone += file.size;
        progress('read', index + 1, bytesDone);
      },
      sink: writer,
    });

    const base = {
      runId,
      files: {
        total: files.length,
        alreadyIngested: files.length - pending.length - unreadable.length,
        ingested: pending.length,
      },
      unreadable,
      maxBadRatio: options.maxBadRatio,
    };
    if (pending.length === 0) {
      await dropStaged(db);
      return { ...base, ...NOTHING_LANDED, durationMs: Date.now() - started };
    }

    // Quarantine first: its txns say which sources' bad records are already kept.
    const quarantineVersion = await commitQuarantine(db, {
      table: quarantine,
      snapshot: quarantineSnapshot,
      pending,
      runId,
      now,
    });
    const [bad] = await db.all<{ n: string }>(`SELECT count(*) AS n FROM ${BAD}`);
    const quarantined = Number(bad!.n);
    const { good, partitions } = writer.counts();
    const read = good + quarantined;
    // Extension columns this write adds: those of the sources that land.
    const addColumns = columnsToAdd(
      schemaPlan,
      pending.filter((p) => p.file.format === 'avro').map((p) => p.file.path),
    );
    const days = new Set(partitions.map((p) => p.dt));
    await writer.finish(days, schemaWithColumns(rawSnapshot, toColumnDefs(addColumns)));

    progress('write', pending.length, bytesDone);
    const events = await commitEvents({
      table: raw,
      snapshot: rawSnapshot,
      pending,
      writer,
      days,
      journal: writer.journalFiles(),
      runId,
      addColumns: toColumnDefs(addColumns),
    });
    committed = true;
    const samples = await quarantineSamples(db);
    await dropStaged(db);
    return landedSummary(base, events, {
      read,
      quarantined,
      partitions,
      quarantineVersion,
      samples,
      addColumns,
      started,
      options,
    });
  } finally {
    if (!committed) await writer.discard().catch(() => undefined);
    try {
      await writer.close();
    } finally {
      // a failed batch leaves none of its staged rows in the connection (a consumer reuses it)
      if (!committed) await dropStaged(db);
    }
  }
}

function landedSummary(
  base: Pick<IngestSummary, 'runId' | 'files' | 'unreadable' | 'maxBadRatio'>,
  events: { written: number; version: number },
  batch: {
    read: number;
    quarantined: number;
    partitions: readonly { dt: string; hour: number }[];
    quarantineVersion: number | null;
    samples: readonly QuarantineSample[];
    addColumns: readonly { name: string }[];
    started: number;
    options: IngestOptions;
  },
): IngestSummary {
  const { read, quarantined, partitions, options } = batch;
  const good = read - quarantined;
  const badRatio = read === 0 ? 0 : quarantined / read;
  currentRun.record({
    rowsIn: read,
    rowsOut: events.written,
    quarantined,
    qualityRatio: read === 0 ? 1 : good / read,
  });
  return {
    ...base,
    read,
    written: events.written,
    duplicates: good - events.written,
    quarantined,
    qualityRatio: read === 0 ? 1 : good / read,
    badRatio,
    badRatioExceeded: badRatio > options.maxBadRatio,
    partitions: partitions.map((t) => `dt=${t.dt}/hour=${t.hour}`),
    rawEventsVersion: events.version,
    quarantineVersion: batch.quarantineVersion,
    quarantineSamples: batch.samples,
    addedColumns: batch.addColumns.map((c) => c.name),
    durationMs: Date.now() - batch.started,
  };
}

/** The summary's figures when no source was new. */
const NOTHING_LANDED = {
  read: 0,
  written: 0,
  duplicates: 0,
  quarantined: 0,
  qualityRatio: 1,
  badRatio: 0,
  badRatioExceeded: false,
  partitions: [],
  rawEventsVersion: null,
  quarantineVersion: null,
  quarantineSamples: [],
  addedColumns: [],
} as const;

interface IngestTables {
  readonly raw: DeltaTable;
  readonly quarantine: DeltaTable;
  readonly rawSnapshot: Snapshot;
  readonly quarantineSnapshot: Snapshot;
  /** Extension columns (schema evolution) the batch reads and may add. */
  readonly schemaPlan: EvolutionPlan;
}

/**
 * raw_events and quarantine, created when missing. Avro sources are checked against the registry
 * first: an incompatible file is refused before anything is created.
 */
async function openTables(
  lake: Lake,
  files: readonly SourceFile[],
  schemaDir: string,
  runId: string,
): Promise<IngestTables> {
  const raw = lake.table(RAW_EVENTS);
  const quarantine = lake.table(QUARANTINE);
  const planFor = await avroEvolutionPlanner(files, schemaDir);
  if (!(await raw.exists())) await planFor(undefined);
  const rawSnapshot = await raw.ensure(RAW_EVENTS_TABLE.definition, { runId });
  const schemaPlan = await planFor(rawSnapshot);
  const quarantineSnapshot = await quarantine.ensure(QUARANTINE_TABLE.definition, { runId });
  return { raw, quarantine, rawSnapshot, quarantineSnapshot, schemaPlan };
}

/**
 * Which Avro files would be read (not landed as of `snapshot`), and are their writer schemas
 * compatible with raw_events? Writer schemas are read once per file.
 */
async function avroEvolutionPlanner(
  files: readonly SourceFile[],
  schemaDir: string,
): Promise<(snapshot: Snapshot | undefined) => Promise<EvolutionPlan>> {
  const registered = (await listSchemaVersions(schemaDir)).at(-1);
  const writerSchemas = new Map<string, avro.Schema>();
  return async (snapshot) => {
    const writers: AvroWriter[] = [];
    for (const file of files) {
      if (file.format !== 'avro' || snapshot?.txnVersion(statAppId(file)) !== undefined) continue;
      let schema = writerSchemas.get(file.path);
      if (schema === undefined) {
        schema = readAvroWriterSchema(await file.local(), file.path);
        writerSchemas.set(file.path, schema);
      }
      writers.push({ path: file.path, schema });
    }
    if (writers.length > 0) requireRegistered(registered, schemaDir);
    const fields = snapshot ? snapshot.schema.fields : schemaFromColumns(RAW_EVENTS_COLUMNS).fields;
    return planEvolution(fields, registered, writers);
  };
}

/**
 * The error that fails a run after unreadable files were reported (exit 65): it names each file and
 * why; the other files' records were landed, and a rerun after the file is fixed reads it.
 */
export function unreadableSourcesError(summary: IngestSummary): ShopstreamError | undefined {
  if (summary.unreadable.length === 0) return undefined;
  const list = summary.unreadable.map((u) => u.reason).join('; ');
  return dataError(
    'SOURCE_CORRUPT',
    `${summary.unreadable.length} of ${summary.files.total} source files could not be read and were not landed: ${list}`,
    {
      suggestions: [
        'the other files were landed; replace each named file with a complete copy and rerun: it is read then',
      ],
    },
  );
}

/** The txn appId that marks a path with this size and mtime as landed: lets reruns skip hashing. */
export function statAppId(file: SourceFile): string {
  const key = createHash('sha256').update(`${file.path}\0${file.size}\0${file.mtimeMs}`).digest('hex');
  return `shopstream-ingest-file-${key}`;
}

export type { PartitionValues };

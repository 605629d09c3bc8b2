import { randomUUID } from 'node:crypto';
import { withoutMinMax } from '../../catalog/column-privacy.js';
import type { DuckDb } from '../../engine/duckdb.js';
import { dataError, ShopstreamError } from '../../errors.js';
import { joinKey, type ObjectStore } from '../../storage/object-store.js';
import {
  type Action,
  type AddFile,
  type Metadata,
  type PartitionValues,
  recordsIn,
  SUPPORTED_PROTOCOL,
  type Txn,
  toRemove,
} from '../log/actions.js';
import { matchesPartition } from '../log/conflicts.js';
import { type CommitProperties, DeltaLog, type SnapshotTarget } from '../log/delta-log.js';
import { type DeltaSchema, schemaToString } from '../log/delta-schema.js';
import type { Snapshot } from '../log/snapshot.js';
import { type ColumnDef, schemaFromColumns } from './columns.js';
import { writeDataFiles } from './data-writer.js';
import { decodeDataPath } from './paths.js';
import { registerSnapshot } from './table-scan.js';

export interface TableDefinition {
  readonly columns: readonly ColumnDef[];
  readonly partitionColumns?: readonly string[];
  readonly description?: string;
  readonly configuration?: Record<string, string>;
}

export interface WriteRequest {
  /** A table or view in the DuckDB session holding the rows to write. */
  readonly relation: string;
  readonly mode: 'append' | 'overwrite';
  /** With overwrite: replace only files in partitions matching one of these; all files when absent. */
  readonly replacePartitions?: readonly PartitionValues[];
  readonly txns?: readonly Txn[];
  readonly operation: string;
  readonly parameters?: Record<string, unknown>;
  readonly metrics?: Record<string, unknown>;
  /** The caller's run id and other commitInfo fields (the log adds none of its own). */
  readonly commitProperties?: CommitProperties;
  /** The snapshot the rows were computed from (defaults to the latest). */
  readonly readSnapshot?: Snapshot;
  /**
   * With append: the partitions of `readSnapshot` the rows were computed against (an ingest drops
   * events already there). Data committed there concurrently makes the write fail with a
   * CONCURRENT_APPEND conflict (exit 75) instead of committing on top of what it did not see:
   * recompute from a new snapshot and write again.
   */
  readonly readPartitions?: readonly PartitionValues[];
  /** With a whole-table overwrite: replace the schema (and partitioning) too, in a new metaData action. */
  readonly replaceColumns?: readonly ColumnDef[];
  readonly replacePartitionColumns?: readonly string[];
  /**
   * Schema evolution: append these columns (always nullable) to the table schema in a metaData action
   * committed with the data. Existing files are not rewritten: they read the new columns as NULL.
   */
  readonly addColumns?: readonly ColumnDef[];
}

export interface WriteResult {
  readonly version: number;
  readonly added: readonly AddFile[];
  readonly removed: number;
}

/** A Delta table in the lake: create, snapshot, scan and write in one place. */
export class DeltaTable {
  readonly log: DeltaLog;

  constructor(
    readonly store: ObjectStore,
    readonly db: DuckDb,
    readonly name: string,
    readonly tableKey: string = name,
  ) {
    this.log = new DeltaLog(store, tableKey, db, { withoutMinMax });
  }

  exists(): Promise<boolean> {
    return this.log.exists();
  }

  snapshot(target?: SnapshotTarget): Promise<Snapshot> {
    return this.log.snapshot(target);
  }

  /**
   * Creates the table at version 0 unless it exists; a concurrent creator winning is fine.
   * `commitProperties` (the caller's run id) go into the creating commit.
   */
  async ensure(definition: TableDefinition, commitProperties?: CommitProperties): Promise<Snapshot> {
    if (!(await this.exists())) {
      const metaData: Metadata = {
        id: randomUUID(),
        name: this.name,
        description: definition.description ?? null,
        format: { provider: 'parquet', options: {} },
        schemaString: schemaToString(schemaFromColumns(definition.columns)),
        partitionColumns: [...(definition.partitionColumns ?? [])],
        configuration: { ...definition.configuration },
        createdTime: Date.now(),
      };
      const actions: Action[] = [{ protocol: SUPPORTED_PROTOCOL }, { metaData }];
      try {
        await this.log.commit({
          readVersion: -1,
          actions,
          operation: 'CREATE TABLE',
          parameters: { partitionBy: JSON.stringify(metaData.partitionColumns) },
          scope: { kind: 'rewrite' },
          ...(commitProperties ? { properties: commitProperties } : {}),
        });
      } catch (error) {
        if (!(await this.exists())) throw error;
      }
    }
    const snapshot = await this.snapshot();
    assertWritable(snapshot, this.name);
    return snapshot;
  }

  /** Registers the table (at a version) as a DuckDB view. */
  async register(
    viewName: string,
    target?: SnapshotTarget,
    files?: (snapshot: Snapshot) => readonly AddFile[],
  ): Promise<Snapshot> {
    const snapshot = await this.snapshot(target);
    await registerSnapshot(
      this.db,
      this.store,
      this.tableKey,
      snapshot,
      viewName,
      files ? files(snapshot) : snapshot.files,
    );
    return snapshot;
  }

  /** Writes rows and commits adds (and removes for overwrite) with the given txns in one commit. */
  async write(request: WriteRequest): Promise<WriteResult> {
    const snapshot = request.readSnapshot ?? (await this.snapshot());
    assertWritable(snapshot, this.name);
    const plan = planWrite(snapshot, request, this.name);
    const added = await writeDataFiles(this.db, this.store, this.tableKey, request.relation, {
      schema: plan.schema,
      partitionColumns: plan.partitionColumns,
    });
    try {
      return await this.commitPlanned(snapshot, request, plan, added);
    } catch (error) {
      // A conflict means no version holds these files: remove them rather than leave them to vacuum.
      if (error instanceof ShopstreamError && error.kind === 'conflict') await this.discardFiles(added);
      throw error;
    }
  }

  /**
   * Writes the rows of `relation` as data files of this table with `schema` (partitioned as the
   * table, or all into `fixedPartition`) WITHOUT committing them: no reader sees them until
   * {@link commitFiles} adds them; a crash leaves them unreferenced (vacuum removes them).
   */
  writeFiles(
    relation: string,
    schema: DeltaSchema,
    partitionColumns: readonly string[],
    fixedPartition?: PartitionValues,
  ): Promise<AddFile[]> {
    return writeDataFiles(this.db, this.store, this.tableKey, relation, {
      schema,
      partitionColumns,
      ...(fixedPartition ? { fixedPartition } : {}),
    });
  }

  /**
   * Commits files written ahead by {@link writeFiles} as {@link write} would have committed them
   * (same actions, metrics, conflict scope). On a conflict the files stay: the caller may rewrite
   * some and commit again, or {@link discardFiles} them.
   */
  async commitFiles(
    request: Omit<WriteRequest, 'relation'>,
    added: readonly AddFile[],
  ): Promise<WriteResult> {
    const snapshot = request.readSnapshot ?? (await this.snapshot());
    assertWritable(snapshot, this.name);
    return this.commitPlanned(snapshot, request, planWrite(snapshot, request, this.name), added);
  }

  /** Deletes data files no version references (written ahead, then rewritten or abandoned). */
  async discardFiles(added: readonly AddFile[]): Promise<void> {
    for (const add of added) {
      await this.store.delete(joinKey(this.tableKey, decodeDataPath(add.path))).catch(() => undefined);
    }
  }

  private async commitPlanned(
    snapshot: Snapshot,
    request: Omit<WriteRequest, 'relation'>,
    plan: WritePlan,
    added: readonly AddFile[],
  ): Promise<WriteResult> {
    const { metaData } = plan;
    const addedColumns = request.addColumns ?? [];
    const now = Date.now();
    const removed =
      request.mode === 'overwrite'
        ? snapshot.files.filter(
            (file) =>
              !request.replacePartitions ||
              request.replacePartitions.some((p) => matchesPartition(file.partitionValues, p)),
          )
        : [];
    if (removed.length > 0 && snapshot.metadata.configuration['delta.appendOnly'] === 'true') {
      throw dataError(
        'APPEND_ONLY',
        `table ${this.name} is append-only (delta.appendOnly=true); refusing to remove files`,
      );
    }
    const actions: Action[] = [
      ...(metaData ? [{ metaData }] : []),
      ...(request.txns ?? []).map((txn) => ({ txn: { ...txn, lastUpdated: now } })),
      ...removed.map((file) => ({ remove: toRemove(file, now, true) })),
      ...added.map((add) => ({ add })),
    ];
    const rows = recordsIn(added);
    const version = await this.log.commit({
      readVersion: snapshot.version,
      actions,
      operation: request.operation,
      parameters: {
        mode: request.mode === 'append' ? 'Append' : 'Overwrite',
        ...(request.replacePartitions ? { predicate: JSON.stringify(request.replacePartitions) } : {}),
        ...(addedColumns.length > 0 ? { addedColumns: JSON.stringify(addedColumns.map((c) => c.name)) } : {}),
        ...request.parameters,
      },
      metrics: {
        numFiles: added.length,
        numOutputRows: rows,
        numOutputBytes: added.reduce((sum, add) => sum + add.size, 0),
        numRemovedFiles: removed.length,
        ...request.metrics,
      },
      scope:
        request.mode === 'append'
          ? { kind: 'append', ...(request.readPartitions ? { readPartitions: request.readPartitions } : {}) }
          : {
              kind: 'rewrite',
              ...(request.replacePartitions ? { partitions: request.replacePartitions } : {}),
            },
      ...(request.commitProperties ? { properties: request.commitProperties } : {}),
    });
    return { version, added, removed: removed.length };
  }
}

interface WritePlan {
  /** A new metaData action (replaced or added columns), if the write changes the schema. */
  readonly metaData: Metadata | undefined;
  /** The schema the written files follow. */
  readonly schema: DeltaSchema;
  readonly partitionColumns: readonly string[];
}

/** The schema of a write: the snapshot's, replaced (whole-table overwrite) or with columns added. */
function planWrite(snapshot: Snapshot, request: Omit<WriteRequest, 'relation'>, name: string): WritePlan {
  let metaData: Metadata | undefined;
  if (request.replaceColumns) {
    if (request.mode !== 'overwrite' || request.replacePartitions) {
      throw new Error('replacing the schema needs a whole-table overwrite');
    }
    metaData = {
      ...snapshot.metadata,
      schemaString: schemaToString(schemaFromColumns(request.replaceColumns)),
      partitionColumns: [...(request.replacePartitionColumns ?? snapshot.partitionColumns)],
    };
  }
  let schema = metaData ? schemaFromColumns(request.replaceColumns!) : snapshot.schema;
  const addedColumns = request.addColumns ?? [];
  if (addedColumns.length > 0) {
    if (request.replaceColumns) throw new Error('addColumns and replaceColumns cannot be combined');
    const existing = new Set(snapshot.schema.fields.map((f) => f.name));
    const clash = addedColumns.find((c) => existing.has(c.name));
    if (clash) throw new Error(`table ${name} already has a column ${clash.name}`);
    schema = schemaWithColumns(snapshot, addedColumns);
    metaData = { ...snapshot.metadata, schemaString: schemaToString(schema) };
  }
  return {
    metaData,
    schema,
    partitionColumns: metaData ? metaData.partitionColumns : snapshot.partitionColumns,
  };
}

/** The snapshot's schema with `columns` appended (always nullable): what a write adding them writes. */
export function schemaWithColumns(snapshot: Snapshot, columns: readonly ColumnDef[]): DeltaSchema {
  if (columns.length === 0) return snapshot.schema;
  return {
    type: 'struct',
    fields: [
      ...snapshot.schema.fields,
      ...schemaFromColumns(columns.map((c) => ({ ...c, nullable: true }))).fields,
    ],
  };
}

function assertWritable(snapshot: Snapshot, name: string): void {
  const { minReaderVersion, minWriterVersion } = snapshot.protocol;
  if (
    minReaderVersion > SUPPORTED_PROTOCOL.minReaderVersion ||
    minWriterVersion > SUPPORTED_PROTOCOL.minWriterVersion
  ) {
    throw dataError(
      'PROTOCOL_UNSUPPORTED',
      `table ${name} uses Delta protocol reader ${minReaderVersion} / writer ${minWriterVersion}; shopstream writes reader 1 / writer 2 only`,
    );
  }
}

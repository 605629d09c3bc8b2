import { rm } from 'node:fs/promises';
import path from 'node:path';
import { type DuckDb, quoteIdent, quoteLiteral } from '../../engine/duckdb.js';
import { joinKey, type ObjectStore } from '../../storage/object-store.js';
import { mapLimit } from '../../util/map-limit.js';
import type { AddFile, PartitionValues } from '../log/actions.js';
import { type DeltaSchema, isPrimitive } from '../log/delta-schema.js';
import { duckDbType } from './columns.js';
import { type CopiedFile, statsFromCopy } from './file-stats.js';
import { encodeDataPath } from './paths.js';

export interface DataWriteOptions {
  readonly schema: DeltaSchema;
  readonly partitionColumns: readonly string[];
  /** Roll over to a new file past this size (DuckDB's FILE_SIZE_BYTES). */
  readonly targetFileSize?: string;
  /**
   * Every row belongs to this one partition (compaction): files are written unpartitioned, rolled
   * at the target size, and placed in the partition's folder.
   */
  readonly fixedPartition?: PartitionValues;
}

const HIVE_NULL = '__HIVE_DEFAULT_PARTITION__';

/**
 * Writes the rows of `relation` (a table or view name in `db`) as zstd Parquet files under the
 * table, Hive-partitioned, and returns their add actions. Files land first in the store's private
 * staging folder (inside a local lake, so they move in by rename), then move (or upload) into the
 * table: until the caller commits the adds, no reader sees them.
 */
export async function writeDataFiles(
  db: DuckDb,
  store: ObjectStore,
  tableKey: string,
  relation: string,
  options: DataWriteOptions,
): Promise<AddFile[]> {
  const dir = await store.stagingDir('write');
  try {
    // Cast to the table's types: the files must hold what the schema says, whatever the query produced.
    const fixed = options.fixedPartition;
    const columns = options.schema.fields
      .filter((f) => !(fixed && options.partitionColumns.includes(f.name)))
      .map((f) =>
        isPrimitive(f.type)
          ? `CAST(${quoteIdent(f.name)} AS ${duckDbType(f.type)}) AS ${quoteIdent(f.name)}`
          : quoteIdent(f.name),
      )
      .join(', ');
    // DuckDB cannot roll files by size within partitions; unpartitioned output rolls at the target.
    const layout =
      options.partitionColumns.length && !fixed
        ? `PARTITION_BY (${options.partitionColumns.map(quoteIdent).join(', ')}), `
        : `FILE_SIZE_BYTES ${quoteLiteral(options.targetFileSize ?? '512MB')}, `;
    const copied = await db.all<CopiedFile>(
      `COPY (SELECT ${columns} FROM ${quoteIdent(relation)}) TO ${quoteLiteral(dir)}
       (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1, ${layout}FILENAME_PATTERN 'part-{uuid}', RETURN_STATS, OVERWRITE_OR_IGNORE)`,
    );
    const partitionSet = new Set(options.partitionColumns);
    const dataFields = options.schema.fields.filter((f) => !partitionSet.has(f.name));
    const now = Date.now();
    const written = copied.filter((file) => Number(file.count) > 0);
    return await mapLimit(written, 8, async (file) => {
      const name = path.relative(dir, file.filename).split(path.sep).join('/');
      const relative = fixed ? `${hiveFolder(options.partitionColumns, fixed)}/${name}` : name;
      await store.putFile(file.filename, joinKey(tableKey, relative));
      const partitionValues: Record<string, string | null> = {};
      if (fixed) Object.assign(partitionValues, fixed);
      for (const { key, value } of fixed ? [] : (file.partition_keys ?? [])) {
        partitionValues[key] = value === HIVE_NULL || value === 'NULL' ? null : value;
      }
      return {
        path: encodeDataPath(relative),
        partitionValues: partitionValues as PartitionValues,
        size: Number(file.file_size_bytes),
        modificationTime: now,
        dataChange: true,
        stats: JSON.stringify(statsFromCopy(file, dataFields)),
      } satisfies AddFile;
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `a=1/b=x%2Fy`: the Hive folder of a partition (the log, not this name, is the authority). */
function hiveFolder(columns: readonly string[], values: PartitionValues): string {
  return columns
    .map((c) => {
      const value = values[c];
      return `${c}=${value == null ? HIVE_NULL : encodeURIComponent(value)}`;
    })
    .join('/');
}

import type { HistoryEntry } from '../log/delta-log.js';
import type { Lake } from './lake.js';

export interface TableSummary {
  readonly name: string;
  readonly version: number;
  readonly files: number;
  readonly rows: number | null;
  readonly bytes: number;
  readonly partitionColumns: readonly string[];
}

export interface TableDetail extends TableSummary {
  readonly location: string;
  readonly id: string;
  readonly description: string | null;
  readonly protocol: { readonly minReaderVersion: number; readonly minWriterVersion: number };
  readonly columns: readonly { readonly name: string; readonly type: string; readonly nullable: boolean }[];
  readonly configuration: Readonly<Record<string, string>>;
  readonly partitions: readonly {
    readonly partition: string;
    readonly files: number;
    readonly rows: number | null;
    readonly bytes: number;
  }[];
  readonly lastModified: string | null;
}

export async function listTables(lake: Lake): Promise<TableSummary[]> {
  const out: TableSummary[] = [];
  for (const name of await lake.tableNames()) out.push(summarize(name, await lake.table(name).snapshot()));
  return out;
}

export async function tableHistory(lake: Lake, name: string, limit?: number): Promise<HistoryEntry[]> {
  return lake.table(name).log.history(limit);
}

export async function showTable(lake: Lake, name: string, version?: number): Promise<TableDetail> {
  const table = lake.table(name);
  const snapshot = await table.snapshot(version === undefined ? {} : { version });
  const partitions = new Map<string, { files: number; rows: number | null; bytes: number }>();
  for (const file of snapshot.files) {
    const key =
      snapshot.partitionColumns.map((c) => `${c}=${file.partitionValues[c] ?? 'null'}`).join('/') ||
      '(unpartitioned)';
    const entry = partitions.get(key) ?? { files: 0, rows: 0, bytes: 0 };
    const rows = file.stats ? (JSON.parse(file.stats) as { numRecords?: number }).numRecords : undefined;
    entry.files += 1;
    entry.bytes += file.size;
    entry.rows = entry.rows === null || rows === undefined ? null : entry.rows + rows;
    partitions.set(key, entry);
  }
  return {
    ...summarize(name, snapshot),
    location: `${lake.store.uri}/${table.tableKey}`,
    id: snapshot.metadata.id,
    description: snapshot.metadata.description ?? null,
    protocol: snapshot.protocol,
    columns: snapshot.schema.fields.map((f) => ({
      name: f.name,
      type: typeof f.type === 'string' ? f.type : f.type.type,
      nullable: f.nullable,
    })),
    configuration: snapshot.metadata.configuration,
    partitions: [...partitions.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([partition, v]) => ({ partition, ...v })),
    lastModified: snapshot.timestamp === undefined ? null : new Date(snapshot.timestamp).toISOString(),
  };
}

function summarize(
  name: string,
  snapshot: Awaited<ReturnType<ReturnType<Lake['table']>['snapshot']>>,
): TableSummary {
  return {
    name,
    version: snapshot.version,
    files: snapshot.files.length,
    rows: snapshot.numRecords ?? null,
    bytes: snapshot.files.reduce((sum, f) => sum + f.size, 0),
    partitionColumns: snapshot.partitionColumns,
  };
}

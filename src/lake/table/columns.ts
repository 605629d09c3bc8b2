import type { DeltaSchema, DeltaType } from '../log/delta-schema.js';

/**
 * Columns as writers declare them, and Delta types (`log/delta-schema.ts`) in DuckDB terms.
 * `timestamp` is UTC-adjusted and maps to DuckDB TIMESTAMPTZ; `timestamp_ntz` (reader 3) is refused
 * on write.
 */

const PRIMITIVE_TO_DUCKDB: Record<string, string> = {
  string: 'VARCHAR',
  long: 'BIGINT',
  integer: 'INTEGER',
  short: 'SMALLINT',
  byte: 'TINYINT',
  float: 'FLOAT',
  double: 'DOUBLE',
  boolean: 'BOOLEAN',
  binary: 'BLOB',
  date: 'DATE',
  timestamp: 'TIMESTAMPTZ',
  timestamp_ntz: 'TIMESTAMP',
};

export function duckDbType(type: DeltaType): string {
  if (typeof type === 'string') {
    const primitive = PRIMITIVE_TO_DUCKDB[type];
    if (primitive) return primitive;
    const decimal = /^decimal\((\d+),\s*(\d+)\)$/.exec(type);
    if (decimal) return `DECIMAL(${decimal[1]},${decimal[2]})`;
    throw new Error(`unsupported Delta type: ${type}`);
  }
  switch (type.type) {
    case 'struct':
      return `STRUCT(${type.fields.map((f) => `"${f.name.replaceAll('"', '""')}" ${duckDbType(f.type)}`).join(', ')})`;
    case 'array':
      return `${duckDbType(type.elementType)}[]`;
    case 'map':
      return `MAP(${duckDbType(type.keyType)}, ${duckDbType(type.valueType)})`;
  }
}

/** A column as the writers in this codebase declare it. */
export interface ColumnDef {
  readonly name: string;
  /** A Delta type: a primitive name (string, long, timestamp, decimal(p,s), ...) or an array/struct/map. */
  readonly type: DeltaType;
  readonly nullable?: boolean;
  readonly comment?: string;
}

export function schemaFromColumns(columns: readonly ColumnDef[]): DeltaSchema {
  return {
    type: 'struct',
    fields: columns.map((c) => ({
      name: c.name,
      type: c.type,
      nullable: c.nullable ?? true,
      metadata: c.comment ? { comment: c.comment } : {},
    })),
  };
}

const DUCKDB_TO_PRIMITIVE: Record<string, string> = {
  VARCHAR: 'string',
  BIGINT: 'long',
  INTEGER: 'integer',
  SMALLINT: 'short',
  TINYINT: 'byte',
  FLOAT: 'float',
  DOUBLE: 'double',
  BOOLEAN: 'boolean',
  BLOB: 'binary',
  DATE: 'date',
  'TIMESTAMP WITH TIME ZONE': 'timestamp',
};

/**
 * The Delta type of a DuckDB column type (as DESCRIBE prints it). Types a reader-1 table cannot hold
 * (HUGEINT, unsigned, TIMESTAMP without zone, nanoseconds) are refused: cast them in the model.
 */
export function deltaTypeOf(duckDbType: string): DeltaType {
  const primitive = DUCKDB_TO_PRIMITIVE[duckDbType];
  if (primitive) return primitive;
  const decimal = /^DECIMAL\((\d+),\s*(\d+)\)$/.exec(duckDbType);
  if (decimal) return `decimal(${decimal[1]},${decimal[2]})`;
  if (duckDbType.endsWith('[]')) {
    return { type: 'array', elementType: deltaTypeOf(duckDbType.slice(0, -2)), containsNull: true };
  }
  throw new Error(`DuckDB type ${duckDbType} has no Delta (reader 1) equivalent; cast it in the model`);
}

/** True when two schemas have the same column names, types and order. */
export function sameColumns(a: DeltaSchema, b: DeltaSchema): boolean {
  return (
    a.fields.length === b.fields.length &&
    a.fields.every(
      (f, i) => f.name === b.fields[i]!.name && JSON.stringify(f.type) === JSON.stringify(b.fields[i]!.type),
    )
  );
}

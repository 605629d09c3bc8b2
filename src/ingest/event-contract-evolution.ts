import path from 'node:path';
import type avro from 'avsc';
import { RAW_EVENTS_COLUMNS } from '../catalog/tables/raw-events.js';
import { quoteIdent, quoteLiteral } from '../engine/duckdb.js';
import { configError, dataError } from '../errors.js';
import {
  type BreakingChange,
  newOptionalFields,
  readProblems,
  type SchemaVersion,
} from '../governance/avro-registry.js';
import { type DeltaField, isPrimitive } from '../lake/log/delta-schema.js';
import { type ColumnDef, duckDbType } from '../lake/table/columns.js';

/**
 * Event contract evolution: raw_events grows with the event contract at ingest. Extension columns
 * are the raw_events columns beyond the built-in event fields (src/catalog/event-fields.ts): fields
 * the registered Avro schema (schemas/clickstream_event/v<N>.avsc) or an Avro file's writer schema
 * has that the table lacked. They are added as nullable columns in the
 * commit that lands the data; their values are read from each record's JSON text.
 */

/** A column name raw_events can take (and DuckDB/Parquet/Spark read without quoting surprises). */
const COLUMN_NAME = /^[a-z_][a-z0-9_]*$/;

/** A column beyond the built-in event fields: in raw_events already, or to be added. */
export interface ExtensionColumn {
  readonly name: string;
  /** Delta type. */
  readonly type: DeltaField['type'];
  /** Doc of the Avro field it came from, or where it came from. */
  readonly comment?: string;
}

export interface EvolutionPlan {
  /** Every column to extract from staged records: the table's extension columns, then candidates. */
  readonly columns: readonly ExtensionColumn[];
  /** The table's extension columns (a subset of `columns`). */
  readonly existing: ReadonlySet<string>;
  /** Columns the registered schema has and raw_events lacks: added whenever anything is written. */
  readonly fromRegistry: readonly string[];
  /** Per Avro source path: the new columns (not in the table, not from the registry) it carries. */
  readonly carriedBy: ReadonlyMap<string, readonly string[]>;
}

/** An Avro source to check: its name (lineage path) and writer schema. */
export interface AvroWriter {
  readonly path: string;
  readonly schema: avro.Schema;
}

const BUILT_IN = new Set(RAW_EVENTS_COLUMNS.map((c) => c.name));

/**
 * Checks each Avro writer schema against raw_events' reader schema (the registered schema plus the
 * table's extension columns, plus the columns earlier files of the batch add) and plans the columns
 * to extract and add. Any incompatibility is a SCHEMA_INCOMPATIBLE data error naming the file and
 * every breaking field; nothing is staged or written before this passes.
 */
export function planEvolution(
  tableFields: readonly DeltaField[],
  registered: SchemaVersion | undefined,
  writers: readonly AvroWriter[],
): EvolutionPlan {
  const tableNames = new Set(tableFields.map((f) => f.name));
  const columns: ExtensionColumn[] = tableFields
    .filter((f) => !BUILT_IN.has(f.name))
    .map((f) => ({ name: f.name, type: f.type }));
  const existing = new Set(columns.map((c) => c.name));

  const fromRegistry: string[] = [];
  if (registered) {
    const table = { type: 'record', name: 'raw_events', fields: [...tableNames].map(stringField) };
    for (const field of newOptionalFields(table as avro.Schema, registered.schema)) {
      if (!COLUMN_NAME.test(field.name)) {
        throw configError(
          'SCHEMA_COLUMN_NAME',
          `${registered.file}: field ${field.name} cannot become a raw_events column: ${BAD_NAME}`,
        );
      }
      columns.push({
        name: field.name,
        type: deltaTypeOfAvro(field.type),
        comment: docOf(registered.schema, field.name) ?? `From ${registeredName(registered)}.`,
      });
      fromRegistry.push(field.name);
    }
  }

  const carriedBy = new Map<string, string[]>();
  for (const writer of writers) {
    if (!registered) throw new Error('an Avro source needs a registered schema');
    const known = new Map(columns.map((c) => [c.name, c]));
    const reader = readerSchema(registered.schema, columns, writer.schema);
    const problems: BreakingChange[] = readProblems(reader, writer.schema);
    for (const field of newOptionalFields(reader, writer.schema)) {
      // known: an extension column the reader left out, the writer's type mapping to the same type;
      // a lineage or partition column is not read from records
      if (known.has(field.name) || tableNames.has(field.name)) continue;
      if (!COLUMN_NAME.test(field.name)) {
        problems.push({ field: field.name, reason: `new field cannot become a column: ${BAD_NAME}` });
      } else if (!field.optional) {
        problems.push({
          field: field.name,
          reason: `new field ${field.name} is required (no default): old events cannot have it; make it optional`,
        });
      } else {
        columns.push({
          name: field.name,
          type: deltaTypeOfAvro(field.type),
          comment: docOf(writer.schema, field.name) ?? `Added by ingest of ${path.basename(writer.path)}.`,
        });
      }
    }
    if (problems.length > 0) {
      const added = columns.filter((c) => !BUILT_IN.has(c.name) && !fromRegistry.includes(c.name));
      const against = `${registered.subject} v${registered.version}${added.length > 0 ? ` + columns ${added.map((c) => c.name).join(', ')}` : ''}`;
      throw dataError(
        'SCHEMA_INCOMPATIBLE',
        `${writer.path}: incompatible with raw_events (${against}): ${problems
          .map((p) => (p.field === '(record)' ? p.reason : `field ${p.field}: ${p.reason}`))
          .join('; ')}`,
        {
          location: writer.path,
          suggestions: [
            'nothing was written; the producer must keep raw_events readable: new fields optional, types only widened (int → long), required fields kept (check a schema with: shopstream schema check <file.avsc>)',
          ],
        },
      );
    }
    const candidates = new Set(
      columns.filter((c) => !existing.has(c.name) && !fromRegistry.includes(c.name)).map((c) => c.name),
    );
    carriedBy.set(
      writer.path,
      fieldsOf(writer.schema)
        .map((f) => f.name)
        .filter((name) => candidates.has(name)),
    );
  }
  return { columns, existing, fromRegistry, carriedBy };
}

/** The columns to add when the given Avro sources (and any NDJSON/CSV) are written. */
export function columnsToAdd(plan: EvolutionPlan, avroSources: readonly string[]): ExtensionColumn[] {
  const wanted = new Set([...plan.fromRegistry, ...avroSources.flatMap((s) => plan.carriedBy.get(s) ?? [])]);
  return plan.columns.filter((c) => wanted.has(c.name) && !plan.existing.has(c.name));
}

/**
 * The Delta type of an Avro field type: primitives map to their Delta twins, timestamp-millis/micros
 * longs to timestamp, date ints to date; anything else (records, arrays, maps, enums, bytes, fixed,
 * unions of several types) to string holding the value's JSON text (an enum's symbol, base64 bytes).
 */
export function deltaTypeOfAvro(schema: avro.Schema): string {
  if (Array.isArray(schema)) {
    const others = schema.filter((branch) => typeName(branch) !== 'null');
    return others.length === 1 ? deltaTypeOfAvro(others[0] as avro.Schema) : 'string';
  }
  const logical =
    typeof schema === 'object' && schema !== null
      ? (schema as { logicalType?: unknown }).logicalType
      : undefined;
  switch (typeName(schema)) {
    case 'int':
      return logical === 'date' ? 'date' : 'integer';
    case 'long':
      return logical === 'timestamp-millis' || logical === 'timestamp-micros' ? 'timestamp' : 'long';
    case 'float':
    case 'double':
    case 'boolean':
      return typeName(schema)!;
    default:
      return 'string';
  }
}

/**
 * The SQL that reads the extension columns of the lines in __ingest_lines into
 * __ingest_ext_file(__x_file, __x_line, __x_raw, __x0.., __x_field, __x_reason): `__x<i>` typed, and
 * the first column whose value is present but does not convert, with the reason.
 */
export function extensionSql(columns: readonly ExtensionColumn[]): string {
  const paths = columns.flatMap((c) => [
    jsonPath(`$.${pathKey(c.name)}`),
    jsonPath(`$.properties.${pathKey(c.name)}`),
  ]);
  const texts = columns.map((_, i) => `coalesce(__v[${2 * i + 1}], __v[${2 * i + 2}]) AS __t${i}`);
  const typed = columns.map((c, i) => `${castSql(`__t${i}`, c.type)} AS __x${i}`);
  const problems = columns.map(
    (c, i) =>
      `WHEN __t${i} IS NOT NULL AND __x${i} IS NULL THEN ${quoteLiteral(`${c.name}|wrong type: expected ${typeLabel(c.type)}, got `)} || left(__t${i}, 64)`,
  );
  return `CREATE OR REPLACE TEMP TABLE __ingest_ext_file AS
    WITH v AS (
      SELECT source_file, line_number, raw,
             CASE WHEN json_valid(raw) THEN json_extract_string(raw, [${paths.join(', ')}]) END AS __v
      FROM __ingest_lines WHERE raw IS NOT NULL AND raw <> ''
    ),
    t AS (SELECT source_file AS __x_file, line_number AS __x_line, raw AS __x_raw, ${texts.join(', ')} FROM v),
    x AS (SELECT *, ${typed.join(', ')} FROM t),
    p AS (SELECT *, CASE ${problems.join(' ')} END AS __x_problem FROM x)
    SELECT __x_file, __x_line, __x_raw, ${columns.map((_, i) => `__x${i}`).join(', ')},
           split_part(__x_problem, '|', 1) AS __x_field,
           nullif(substr(__x_problem, length(split_part(__x_problem, '|', 1)) + 2), '') AS __x_reason
    FROM p`;
}

/** `e.__x3 AS "coupon_code"`, ... for the wanted columns. */
export function extensionSelect(
  columns: readonly ExtensionColumn[],
  wanted: readonly string[],
  alias: string,
) {
  return wanted.map(
    (name) => `${alias}.__x${columns.findIndex((c) => c.name === name)} AS ${quoteIdent(name)}`,
  );
}

export function toColumnDefs(columns: readonly ExtensionColumn[]): ColumnDef[] {
  return columns.map((c) => ({
    name: c.name,
    type: c.type,
    nullable: true,
    ...(c.comment ? { comment: c.comment } : {}),
  }));
}

// ---------------------------------------------------------------------------------------------------

const BAD_NAME = 'a column name must be lower-case letters, digits and _, not starting with a digit';

/**
 * The reader schema for one writer: the registered schema plus every extension column as an optional
 * field. A column whose type the writer's field maps to is left out (the writer's values convert as
 * they are; nested types are stored as JSON text); the others get the Avro twin of their Delta type,
 * so schema resolution names the problem (e.g. long cannot be read as int).
 */
function readerSchema(
  registered: avro.Schema,
  columns: readonly ExtensionColumn[],
  writer: avro.Schema,
): avro.Schema {
  const base = registered as unknown as { fields: { name: string }[] };
  const present = new Set(base.fields.map((f) => f.name));
  const writerFields = new Map(fieldsOf(writer).map((f) => [f.name, f.type]));
  const extra: unknown[] = [];
  for (const column of columns) {
    if (present.has(column.name)) continue;
    const written = writerFields.get(column.name);
    if (written !== undefined && deltaTypeOfAvro(written) === column.type) continue;
    const twin = avroTwin(column.type);
    if (twin !== undefined) extra.push({ name: column.name, type: ['null', twin], default: null });
  }
  return { ...base, fields: [...base.fields, ...extra] } as unknown as avro.Schema;
}

function avroTwin(type: DeltaField['type']): avro.Schema | undefined {
  switch (type) {
    case 'string':
      return 'string';
    case 'integer':
      return 'int';
    case 'long':
    case 'float':
    case 'double':
    case 'boolean':
      return type;
    case 'timestamp':
      return { type: 'long', logicalType: 'timestamp-millis' } as avro.Schema;
    case 'date':
      return { type: 'int', logicalType: 'date' } as avro.Schema;
    default:
      return undefined;
  }
}

/**
 * DuckDB SQL converting the text `t` to the column type; NULL when it does not convert. Timestamps
 * take ISO-8601 or epoch seconds/milliseconds/microseconds (by magnitude, as stage_events does for
 * event_time); dates take ISO dates or days since the epoch (Avro's date).
 */
function castSql(t: string, type: DeltaField['type']): string {
  if (type === 'timestamp') {
    const n = `TRY_CAST(${t} AS DOUBLE)`;
    return `CASE
      WHEN TRY_CAST(${t} AS TIMESTAMPTZ) IS NOT NULL THEN TRY_CAST(${t} AS TIMESTAMPTZ)
      WHEN isfinite(${n}) AND abs(${n}) < 1e17 THEN make_timestamptz(CASE
        WHEN abs(${n}) >= 1e14 THEN CAST(${n} AS BIGINT)
        WHEN abs(${n}) >= 1e11 THEN CAST(${n} * 1000 AS BIGINT)
        ELSE CAST(${n} * 1000000 AS BIGINT) END)
    END`;
  }
  if (type === 'date') {
    return `coalesce(TRY_CAST(${t} AS DATE),
      CASE WHEN abs(TRY_CAST(${t} AS INTEGER)) < 3000000 THEN DATE '1970-01-01' + TRY_CAST(${t} AS INTEGER) END)`;
  }
  const exact = exactNumberPattern(type);
  if (exact !== undefined) {
    // TRY_CAST rounds ('2.5' AS INTEGER is 3, '9.999' AS DECIMAL(10,2) is 10.00): a number that does
    // not fit the column's scale does not convert, as stage_events refuses quantity 2.5 or price 9.999.
    return `CASE WHEN regexp_full_match(trim(${t}), '${exact}') THEN TRY_CAST(trim(${t}) AS ${duckDbType(type)}) END`;
  }
  return `TRY_CAST(${t} AS ${duckDbType(type)})`;
}

/** The literal forms an exact numeric column takes without rounding; undefined for other types. */
function exactNumberPattern(type: DeltaField['type']): string | undefined {
  if (type === 'byte' || type === 'short' || type === 'integer' || type === 'long') return '[+-]?[0-9]+';
  const decimal = typeof type === 'string' ? /^decimal\(\d+,\s*(\d+)\)$/.exec(type) : null;
  if (!decimal) return undefined;
  const scale = Number(decimal[1]);
  return scale === 0 ? '[+-]?[0-9]+' : `[+-]?[0-9]+(\\.[0-9]{1,${scale}})?`;
}

function typeLabel(type: DeltaField['type']): string {
  return isPrimitive(type) ? type : type.type;
}

function jsonPath(p: string): string {
  return quoteLiteral(p);
}

function pathKey(name: string): string {
  return `"${name.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

function typeName(schema: unknown): string | undefined {
  if (typeof schema === 'string') return schema;
  if (typeof schema === 'object' && schema !== null) {
    const type = (schema as { type?: unknown }).type;
    return typeof type === 'string' ? type : undefined;
  }
  return undefined;
}

function fieldsOf(schema: avro.Schema): { name: string; type: avro.Schema; doc?: string }[] {
  const fields = (schema as { fields?: unknown }).fields;
  return Array.isArray(fields) ? (fields as { name: string; type: avro.Schema; doc?: string }[]) : [];
}

function docOf(schema: avro.Schema, name: string): string | undefined {
  const doc = fieldsOf(schema).find((f) => f.name === name)?.doc;
  return typeof doc === 'string' && doc !== '' ? doc : undefined;
}

function stringField(name: string) {
  return { name, type: 'string' };
}

function registeredName(version: SchemaVersion): string {
  return `${version.subject} v${version.version}`;
}

/** The registered schema for ingest: the highest version under `dir`, or none when there is none. */
export function requireRegistered(version: SchemaVersion | undefined, dir: string): SchemaVersion {
  if (!version) {
    throw configError(
      'NO_SCHEMA_VERSIONS',
      `no clickstream_event schema versions under ${dir}: an Avro source is checked against the registered schema`,
    );
  }
  return version;
}

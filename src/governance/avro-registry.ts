import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import { configError, dataError } from '../errors.js';

/**
 * The Avro registry: versioned Avro schemas for the events producers send (`schemas/<subject>/v<N>.avsc`), and the
 * Avro schema-resolution rules that decide whether a new version can be rolled out: which readers
 * can still read which writers' data, field by field.
 */

/** The package's `schemas/` folder (next to `src/` and `dist/`). */
export const SCHEMAS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../schemas');

/** The subject (folder under `schemas/`) of the clickstream event schema. */
export const DEFAULT_SUBJECT = 'clickstream_event';

/** One registered version of a subject's schema. */
export interface SchemaVersion {
  readonly subject: string;
  readonly version: number;
  /** Absolute path of `v<version>.avsc`. */
  readonly file: string;
  /** The parsed JSON of the file. */
  readonly schema: avro.Schema;
}

/** Why a reader cannot read a writer's data. */
export interface BreakingChange {
  /** Dotted path of the field (`address.city`), or `(record)` when no single field is at fault. */
  readonly field: string;
  readonly reason: string;
}

/**
 * FULL: each side reads the other's data. BACKWARD: consumers on the new schema read data written
 * with the current one. FORWARD: consumers still on the current schema read data written with the
 * new one. NONE: neither.
 */
export type Compatibility = 'FULL' | 'BACKWARD' | 'FORWARD' | 'NONE';

export interface CompatibilityReport {
  readonly level: Compatibility;
  /** What stops readers using the new schema from reading data written with the current one. */
  readonly backward: BreakingChange[];
  /** What stops readers using the current schema from reading data written with the new one. */
  readonly forward: BreakingChange[];
}

/** A top-level field of a new schema version that the current version lacks. */
export interface NewField {
  readonly name: string;
  /** The field's Avro type, as JSON. */
  readonly type: avro.Schema;
  /** True when the type is a union with null or the field has a default. */
  readonly optional: boolean;
}

/** The result of checking a schema file against another (by default the current registered version). */
export interface SchemaCheck extends CompatibilityReport {
  /** The schema checked against: the path given, or `schemas/<subject>/v<N>.avsc`. */
  readonly against: string;
  /** The schema checked, as given. */
  readonly file: string;
  readonly required: Compatibility;
  /** True when `level` meets `required`. */
  readonly ok: boolean;
}

/** The versions of `subject` under `dir`, oldest first; none when the folder does not exist. */
export async function listSchemaVersions(
  dir: string = SCHEMAS_DIR,
  subject: string = DEFAULT_SUBJECT,
): Promise<SchemaVersion[]> {
  const folder = path.join(dir, subject);
  let names: string[];
  try {
    names = await readdir(folder);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw configError('SCHEMA_DIR_UNREADABLE', `cannot list schema folder ${folder}: ${messageOf(error)}`, {
      cause: error,
    });
  }
  const versions = await Promise.all(
    names.flatMap((name) => {
      const match = /^v([1-9]\d*)\.avsc$/.exec(name);
      if (!match) return [];
      const file = path.join(folder, name);
      return [readSchemaFile(file).then((schema) => ({ subject, version: Number(match[1]), file, schema }))];
    }),
  );
  return versions.sort((a, b) => a.version - b.version);
}

/** The highest registered version of `subject`. */
export async function currentSchema(
  dir: string = SCHEMAS_DIR,
  subject: string = DEFAULT_SUBJECT,
): Promise<SchemaVersion> {
  const latest = (await listSchemaVersions(dir, subject)).at(-1);
  if (!latest)
    throw configError(
      'NO_SCHEMA_VERSIONS',
      `no schema versions of ${subject} in ${path.join(dir, subject)} (expected files v1.avsc, v2.avsc, ...)`,
    );
  return latest;
}

/** Reads an `.avsc` file: JSON that must be a valid Avro schema. */
export async function readSchemaFile(file: string): Promise<avro.Schema> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw dataError('SCHEMA_UNREADABLE', `cannot read schema file ${file}: ${messageOf(error)}`, {
      cause: error,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw dataError('SCHEMA_BAD_JSON', `schema file ${file} is not valid JSON: ${messageOf(error)}`, {
      cause: error,
    });
  }
  try {
    avro.Type.forSchema(json as avro.Schema);
  } catch (error) {
    throw dataError('SCHEMA_INVALID', `schema file ${file} is not a valid Avro schema: ${messageOf(error)}`, {
      cause: error,
    });
  }
  return json as avro.Schema;
}

/**
 * Why a consumer using `reader` cannot read data written with `writer`, by Avro schema resolution:
 * reader fields the writer lacks (by name or reader alias) need a default, and matching fields'
 * types must resolve (int → long is a promotion, long → int is not). Nested records are compared
 * field by field, so the deepest field at fault is named. Empty when the reader can read the data.
 */
export function readProblems(reader: avro.Schema, writer: avro.Schema): BreakingChange[] {
  const readerType = toType(reader);
  const writerType = toType(writer);
  const problems: BreakingChange[] = [];
  if (isRecord(readerType) && isRecord(writerType)) compareFields('', readerType, writerType, problems);
  if (problems.length === 0) {
    const reason = whyNot(readerType, writerType);
    if (reason !== undefined) problems.push({ field: '(record)', reason });
  }
  return problems;
}

/** How `next` relates to `current`: who can read whose data once `next` is rolled out. */
export function checkCompatibility(current: avro.Schema, next: avro.Schema): CompatibilityReport {
  const backward = readProblems(next, current);
  const forward = readProblems(current, next);
  const level: Compatibility =
    backward.length === 0
      ? forward.length === 0
        ? 'FULL'
        : 'BACKWARD'
      : forward.length === 0
        ? 'FORWARD'
        : 'NONE';
  return { level, backward, forward };
}

/** True when a change of compatibility `level` is allowed where `required` is demanded. */
export function meets(level: Compatibility, required: Compatibility): boolean {
  return required === 'NONE' || level === 'FULL' || level === required;
}

/**
 * Checks the schema in `file` against `options.against` (default: the current registered version
 * of `options.subject` under `options.dir`) and whether the result meets `options.required`.
 */
export async function checkSchemaFile(
  file: string,
  options: { against?: string; required: Compatibility; dir?: string; subject?: string },
): Promise<SchemaCheck> {
  const dir = options.dir ?? SCHEMAS_DIR;
  let against: string;
  let current: avro.Schema;
  if (options.against !== undefined) {
    against = options.against;
    current = await readSchemaFile(options.against);
  } else {
    const registered = await currentSchema(dir, options.subject ?? DEFAULT_SUBJECT);
    against = path.relative(path.dirname(dir), registered.file).split(path.sep).join('/');
    current = registered.schema;
  }
  const report = checkCompatibility(current, await readSchemaFile(file));
  return { ...report, against, file, required: options.required, ok: meets(report.level, options.required) };
}

/**
 * The top-level fields of `next` that `current` does not have (a field whose alias names a current
 * field is a rename, not new), in `next`'s order.
 */
export function newOptionalFields(current: avro.Schema, next: avro.Schema): NewField[] {
  const known = new Set(recordFields(current).map((f) => f.name));
  return recordFields(next)
    .filter((f) => !known.has(f.name) && !(f.aliases ?? []).some((alias) => known.has(alias)))
    .map((f) => ({ name: f.name, type: f.type, optional: 'default' in f || isNullableJson(f.type) }));
}

// ---------------------------------------------------------------------------------------------------

/** A record field as written in an `.avsc` file. */
interface FieldJson {
  readonly name: string;
  readonly type: avro.Schema;
  readonly default?: unknown;
  readonly aliases?: readonly string[];
}

/** Numeric promotions allowed by Avro: a writer type may be read as any type to its right. */
const NUMERIC_RANK: Readonly<Record<string, number>> = { int: 0, long: 1, float: 2, double: 3 };

function compareFields(
  prefix: string,
  reader: avro.types.RecordType,
  writer: avro.types.RecordType,
  problems: BreakingChange[],
): void {
  for (const readerField of reader.fields) {
    const field = `${prefix}${readerField.name}`;
    const writerField =
      writer.fields.find((f) => f.name === readerField.name) ??
      writer.fields.find((f) => readerField.aliases.includes(f.name));
    if (writerField === undefined) {
      if (readerField.defaultValue() === undefined) {
        const aliases =
          readerField.aliases.length > 0 ? ` nor under alias ${readerField.aliases.join(', ')}` : '';
        problems.push({
          field,
          reason: `required field missing (no default): the writer's schema has no ${readerField.name}${aliases}`,
        });
      }
      continue;
    }
    compareTypes(field, readerField.type, writerField.type, problems);
  }
}

function compareTypes(field: string, reader: avro.Type, writer: avro.Type, problems: BreakingChange[]): void {
  const readerRecord = nonNull(reader);
  const writerRecord = nonNull(writer);
  if (isRecord(readerRecord) && isRecord(writerRecord)) {
    const before = problems.length;
    if (isNullable(writer) && !isNullable(reader))
      problems.push({ field, reason: `type null cannot be read as ${label(readerRecord)} (not nullable)` });
    compareFields(`${field}.`, readerRecord, writerRecord, problems);
    if (problems.length > before) return;
  }
  const reason = whyNot(reader, writer);
  if (reason !== undefined) problems.push({ field, reason });
}

/** Undefined when `reader` resolves `writer`, else a reason naming both types. */
function whyNot(reader: avro.Type, writer: avro.Type): string | undefined {
  if (resolves(reader, writer)) return undefined;
  const writerBranch = (branches(writer) ?? [writer]).find((b) => !resolves(reader, b)) ?? writer;
  const target = nonNull(reader);
  if (isRecord(writerBranch) && isRecord(target) && writerBranch.name !== target.name)
    return `${label(writerBranch)} cannot be read as ${label(target)} (different names; add an alias)`;
  let why = '';
  const from = NUMERIC_RANK[writerBranch.typeName];
  const to = NUMERIC_RANK[target.typeName];
  if (from !== undefined && to !== undefined && from > to) why = ' (narrowing)';
  else if (writerBranch.typeName === 'null') why = ' (not nullable)';
  else if (isRecord(writerBranch) && isRecord(target)) why = ` (${resolveError(reader, writer)})`;
  return `type ${label(writerBranch)} cannot be read as ${label(target)}${why}`;
}

function resolves(reader: avro.Type, writer: avro.Type): boolean {
  return resolveError(reader, writer) === undefined;
}

function resolveError(reader: avro.Type, writer: avro.Type): string | undefined {
  try {
    avro.Type.forSchema(reader).createResolver(avro.Type.forSchema(writer));
    return undefined;
  } catch (error) {
    return messageOf(error);
  }
}

function toType(schema: avro.Schema): avro.Type {
  try {
    return avro.Type.forSchema(schema);
  } catch (error) {
    throw dataError('SCHEMA_INVALID', `not a valid Avro schema: ${messageOf(error)}`, { cause: error });
  }
}

function isRecord(type: avro.Type): type is avro.types.RecordType {
  return type.typeName === 'record' || type.typeName === 'error';
}

function branches(type: avro.Type): readonly avro.Type[] | undefined {
  return type.typeName.startsWith('union') ? (type as avro.types.UnwrappedUnionType).types : undefined;
}

function isNullable(type: avro.Type): boolean {
  return (branches(type) ?? [type]).some((b) => b.typeName === 'null');
}

/** The one non-null branch of a `["null", T]` union, else the type itself. */
function nonNull(type: avro.Type): avro.Type {
  const others = branches(type)?.filter((b) => b.typeName !== 'null');
  return others?.length === 1 ? others[0]! : type;
}

/** A short name for a type in messages: `int`, `record Address`, `array<string>`, `[null, long]`. */
function label(type: avro.Type): string {
  const union = branches(type);
  if (union) return `[${union.map(label).join(', ')}]`;
  if (type.typeName === 'array') return `array<${label((type as avro.types.ArrayType).itemsType)}>`;
  if (type.typeName === 'map') return `map<${label((type as avro.types.MapType).valuesType as avro.Type)}>`;
  if (type.name !== undefined) return `${type.typeName} ${type.name.split('.').at(-1)}`;
  return type.typeName;
}

function recordFields(schema: avro.Schema): readonly FieldJson[] {
  const json: unknown = avro.Type.isType(schema)
    ? (schema as avro.Type).schema({ exportAttrs: true })
    : schema;
  const record = json as { type?: unknown; fields?: unknown };
  if (typeof json !== 'object' || json === null || !Array.isArray(record.fields))
    throw dataError('SCHEMA_NOT_RECORD', 'expected an Avro record schema (an object with "fields")');
  return record.fields as FieldJson[];
}

function isNullableJson(type: avro.Schema): boolean {
  const isNull = (t: unknown) =>
    t === 'null' || (typeof t === 'object' && t !== null && (t as { type?: unknown }).type === 'null');
  return Array.isArray(type) ? type.some(isNull) : isNull(type);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type avro from 'avsc';
import { beforeAll, describe, expect, it } from 'vitest';
import { EVENT_FIELDS } from '../../src/catalog/event-fields.js';
import { isShopstreamError } from '../../src/errors.js';
import {
  checkCompatibility,
  currentSchema,
  listSchemaVersions,
  meets,
  newOptionalFields,
  readProblems,
  readSchemaFile,
  SCHEMAS_DIR,
} from '../../src/governance/avro-registry.js';
import { ROOT, tempDir } from '../helpers/cli.js';

interface FieldJson {
  name: string;
  type: avro.Schema;
  default?: unknown;
  aliases?: string[];
  doc?: string;
}
interface RecordJson {
  type: 'record';
  name: string;
  namespace?: string;
  fields: FieldJson[];
}

const dir = tempDir('avro');
let v1: RecordJson;

/** Writes `schema` to a real .avsc file and reads it back as the command would. */
async function saved(name: string, schema: unknown): Promise<avro.Schema> {
  const file = path.join(dir, name);
  writeFileSync(file, JSON.stringify(schema, null, 2));
  return readSchemaFile(file);
}

/** v1 with its fields changed by `edit`. */
function evolve(edit: (fields: FieldJson[]) => FieldJson[]): RecordJson {
  const copy = structuredClone(v1);
  return { ...copy, fields: edit(copy.fields) };
}

async function errorOf(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (isShopstreamError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a ShopstreamError');
}

beforeAll(async () => {
  v1 = (await currentSchema()).schema as unknown as RecordJson;
});

describe('registered clickstream_event schemas', () => {
  it('v1 is in the package schemas/ folder and is the current version', async () => {
    expect(SCHEMAS_DIR).toBe(path.join(ROOT, 'schemas'));
    const versions = await listSchemaVersions();
    expect(versions[0]).toMatchObject({
      subject: 'clickstream_event',
      version: 1,
      file: path.join(ROOT, 'schemas', 'clickstream_event', 'v1.avsc'),
    });
    expect((await currentSchema()).version).toBe(versions.at(-1)!.version);
  });

  it('v1 fields agree with EVENT_FIELDS: names, order, types, required = non-null', () => {
    expect(v1).toMatchObject({
      type: 'record',
      name: 'ClickstreamEvent',
      namespace: 'com.shopstream.events',
    });
    expect(v1.fields.map((f) => f.name)).toEqual(EVENT_FIELDS.map((f) => f.column));
    const avroType: Record<string, unknown> = {
      string: 'string',
      timestamp: { type: 'long', logicalType: 'timestamp-millis' },
      integer: 'int',
      'decimal(18,2)': 'double',
    };
    for (const [i, event] of EVENT_FIELDS.entries()) {
      const field = v1.fields[i]!;
      expect(field.doc, field.name).toBeTruthy();
      if (event.required) {
        expect(field.type, field.name).toEqual(avroType[event.type]);
        expect('default' in field, field.name).toBe(false);
      } else {
        expect(field.type, field.name).toEqual(['null', avroType[event.type]]);
        expect(field.default, field.name).toBeNull();
      }
    }
  });

  it('lists v<N>.avsc files by number and ignores other files', async () => {
    const root = tempDir('avro-versions');
    mkdirSync(path.join(root, 'clickstream_event'));
    for (const name of ['v2.avsc', 'v10.avsc', 'v1.avsc', 'notes.txt', 'v1.avsc.bak'])
      writeFileSync(path.join(root, 'clickstream_event', name), JSON.stringify(v1));
    expect((await listSchemaVersions(root)).map((v) => v.version)).toEqual([1, 2, 10]);
    expect((await currentSchema(root)).version).toBe(10);
  });

  it('no versions: an error naming the folder', async () => {
    const empty = tempDir('avro-empty');
    expect(await listSchemaVersions(empty)).toEqual([]);
    const error = await errorOf(currentSchema(empty));
    expect(error.code).toBe('NO_SCHEMA_VERSIONS');
    expect(error.message).toContain(path.join(empty, 'clickstream_event'));
  });

  it('bad JSON and invalid schemas are refused, naming the file', async () => {
    const badJson = path.join(dir, 'bad.avsc');
    writeFileSync(badJson, '{"type": "record",');
    expect(await errorOf(readSchemaFile(badJson))).toMatchObject({
      code: 'SCHEMA_BAD_JSON',
      message: expect.stringContaining(badJson),
    });
    const invalid = path.join(dir, 'invalid.avsc');
    writeFileSync(
      invalid,
      JSON.stringify({ type: 'record', name: 'X', fields: [{ name: 'a', type: 'nope' }] }),
    );
    expect(await errorOf(readSchemaFile(invalid))).toMatchObject({
      code: 'SCHEMA_INVALID',
      message: expect.stringContaining(invalid),
    });
  });
});

describe('compatibility by Avro schema resolution', () => {
  it('adding an optional field with default null is FULL', async () => {
    const next = await saved(
      'optional.avsc',
      evolve((f) => [...f, { name: 'coupon', type: ['null', 'string'], default: null }]),
    );
    expect(checkCompatibility(v1, next)).toEqual({ level: 'FULL', backward: [], forward: [] });
    expect(newOptionalFields(v1, next)).toEqual([
      { name: 'coupon', type: ['null', 'string'], optional: true },
    ]);
  });

  it('adding a required field without default is FORWARD only; backward names the field', async () => {
    const next = await saved(
      'required.avsc',
      evolve((f) => [...f, { name: 'tenant', type: 'string' }]),
    );
    const report = checkCompatibility(v1, next);
    expect(report.level).toBe('FORWARD');
    expect(report.forward).toEqual([]);
    expect(report.backward).toEqual([
      { field: 'tenant', reason: expect.stringContaining('required field missing (no default)') },
    ]);
    expect(newOptionalFields(v1, next)).toEqual([{ name: 'tenant', type: 'string', optional: false }]);
  });

  it('removing a required field is BACKWARD only; forward names the field', async () => {
    const next = await saved(
      'removed.avsc',
      evolve((f) => f.filter((x) => x.name !== 'user_id')),
    );
    const report = checkCompatibility(v1, next);
    expect(report.level).toBe('BACKWARD');
    expect(report.backward).toEqual([]);
    expect(report.forward.map((p) => p.field)).toEqual(['user_id']);
    expect(report.forward[0]!.reason).toContain('required field missing (no default)');
  });

  it('int -> long is BACKWARD (promotion); old readers cannot narrow long to int', async () => {
    const next = await saved(
      'widened.avsc',
      evolve((f) => f.map((x) => (x.name === 'quantity' ? { ...x, type: ['null', 'long'] } : x))),
    );
    const report = checkCompatibility(v1, next);
    expect(report.level).toBe('BACKWARD');
    expect(report.backward).toEqual([]);
    expect(report.forward).toEqual([
      { field: 'quantity', reason: 'type long cannot be read as int (narrowing)' },
    ]);
  });

  it('long -> int is FORWARD; new readers cannot narrow the long data already written', async () => {
    const longV1 = await saved(
      'long.avsc',
      evolve((f) => f.map((x) => (x.name === 'quantity' ? { ...x, type: ['null', 'long'] } : x))),
    );
    const report = checkCompatibility(longV1, v1);
    expect(report.level).toBe('FORWARD');
    expect(report.forward).toEqual([]);
    expect(report.backward).toEqual([
      { field: 'quantity', reason: 'type long cannot be read as int (narrowing)' },
    ]);
  });

  it('a required field turned nullable cannot be read by old readers', async () => {
    const next = await saved(
      'nullable.avsc',
      evolve((f) =>
        f.map((x) => (x.name === 'user_id' ? { ...x, type: ['null', 'string'], default: null } : x)),
      ),
    );
    const report = checkCompatibility(v1, next);
    expect(report.level).toBe('BACKWARD');
    expect(report.forward).toEqual([
      { field: 'user_id', reason: 'type null cannot be read as string (not nullable)' },
    ]);
  });

  it('renaming a required field without an alias is NONE and names the missing field both ways', async () => {
    const next = await saved(
      'renamed.avsc',
      evolve((f) => f.map((x) => (x.name === 'user_id' ? { ...x, name: 'customer_id' } : x))),
    );
    const report = checkCompatibility(v1, next);
    expect(report.level).toBe('NONE');
    expect(report.backward.map((p) => p.field)).toEqual(['customer_id']);
    expect(report.forward.map((p) => p.field)).toEqual(['user_id']);
  });

  it('renaming with the old name as an alias keeps BACKWARD (reader aliases only)', async () => {
    const next = await saved(
      'aliased.avsc',
      evolve((f) =>
        f.map((x) => (x.name === 'user_id' ? { ...x, name: 'customer_id', aliases: ['user_id'] } : x)),
      ),
    );
    const report = checkCompatibility(v1, next);
    expect(report.level).toBe('BACKWARD');
    expect(report.forward.map((p) => p.field)).toEqual(['user_id']);
    expect(newOptionalFields(v1, next)).toEqual([]);
  });

  it('a type change inside a nested record names the dotted path', async () => {
    const withGeo = (latType: string) =>
      evolve((f) => [
        ...f,
        {
          name: 'geo',
          type: [
            'null',
            {
              type: 'record',
              name: 'Geo',
              fields: [
                { name: 'country', type: 'string' },
                {
                  name: 'point',
                  type: { type: 'record', name: 'Point', fields: [{ name: 'lat', type: latType }] },
                },
              ],
            },
          ],
          default: null,
        },
      ]);
    const current = await saved('geo-double.avsc', withGeo('double'));
    const next = await saved('geo-string.avsc', withGeo('string'));
    const report = checkCompatibility(current, next);
    expect(report.level).toBe('NONE');
    expect(report.backward).toEqual([
      { field: 'geo.point.lat', reason: 'type double cannot be read as string' },
    ]);
    expect(report.forward).toEqual([
      { field: 'geo.point.lat', reason: 'type string cannot be read as double' },
    ]);
  });

  it('a record renamed without an alias is reported for the whole record', async () => {
    const next = await saved('other-name.avsc', { ...v1, name: 'OtherEvent' });
    expect(readProblems(next, v1)).toEqual([
      { field: '(record)', reason: expect.stringContaining('cannot be read as record OtherEvent') },
    ]);
  });

  it('meets: FULL meets everything, NONE required always passes, otherwise the level must match', () => {
    expect(meets('FULL', 'BACKWARD')).toBe(true);
    expect(meets('FULL', 'FULL')).toBe(true);
    expect(meets('BACKWARD', 'BACKWARD')).toBe(true);
    expect(meets('BACKWARD', 'FORWARD')).toBe(false);
    expect(meets('FORWARD', 'FULL')).toBe(false);
    expect(meets('NONE', 'BACKWARD')).toBe(false);
    expect(meets('NONE', 'NONE')).toBe(true);
  });
});

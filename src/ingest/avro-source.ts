import { createReadStream } from 'node:fs';
import avro from 'avsc';
import { dataError } from '../errors.js';

/**
 * Avro object container files as ingest sources: the writer schema from the file header, and the
 * records as JSON object text (what the NDJSON path stages), so one staging query serves both.
 */

/** The writer schema (as JSON) in the header of the Avro object container file at `localPath`. */
export function readAvroWriterSchema(localPath: string, name: string): avro.Schema {
  let header: { meta: Record<string, unknown> } | null;
  try {
    header = avro.extractFileHeader(localPath);
  } catch (error) {
    throw unreadable(name, error);
  }
  if (!header) {
    throw dataError('AVRO_UNREADABLE', `${name}: not an Avro object container file (bad magic bytes)`);
  }
  const schema = header.meta['avro.schema'];
  try {
    avro.Type.forSchema(schema as avro.Schema);
  } catch (error) {
    throw dataError(
      'AVRO_UNREADABLE',
      `${name}: the writer schema is not a valid Avro schema: ${messageOf(error)}`,
      {
        cause: error,
      },
    );
  }
  return schema as avro.Schema;
}

/**
 * Decodes every record of the file with its writer schema and hands each over as JSON object text,
 * in file order. Avro longs (timestamp-millis included) stay numbers; bytes and fixed become base64.
 * Returns the number of records.
 */
export async function readAvroRecords(
  localPath: string,
  name: string,
  onRecord: (json: string) => void,
): Promise<number> {
  const decoder = new avro.streams.BlockDecoder();
  const input = createReadStream(localPath, { highWaterMark: 1 << 20 });
  input.on('error', (error) => decoder.destroy(error));
  input.pipe(decoder);
  let count = 0;
  try {
    for await (const record of decoder) {
      onRecord(JSON.stringify(record, bytesAsBase64));
      count++;
    }
  } catch (error) {
    input.destroy();
    throw unreadable(name, error);
  }
  // avsc ends silently when the file stops inside a block: the bytes after the last whole block
  // stay in its buffer (a truncated copy would otherwise land its first records only)
  const tap = (decoder as unknown as { _tap?: { buf: Buffer; pos: number } })._tap;
  const left = tap ? tap.buf.length - tap.pos : 0;
  if (left > 0) {
    throw unreadable(name, new Error(`truncated: ${left} bytes after record ${count} are not a whole block`));
  }
  return count;
}

/** JSON.stringify replacer: a Buffer (Avro bytes/fixed) as base64 text instead of `{type, data}`. */
function bytesAsBase64(this: unknown, key: string, value: unknown): unknown {
  const original = (this as Record<string, unknown>)[key];
  return Buffer.isBuffer(original) ? original.toString('base64') : value;
}

function unreadable(name: string, error: unknown) {
  return dataError('AVRO_UNREADABLE', `${name}: cannot read the Avro file: ${messageOf(error)}`, {
    cause: error,
  });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

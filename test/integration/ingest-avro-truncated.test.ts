import { createWriteStream, readFileSync, statSync, truncateSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { SCHEMAS_DIR } from '../../src/governance/avro-registry.js';
import { ingest } from '../../src/ingest/ingest.js';
import { Lake } from '../../src/lake/table/lake.js';
import { LocalStore } from '../../src/storage/local-store.js';
import { ingestWorkspace, testIngestOptions } from '../helpers/ingest-workspace.js';

// An Avro file cut short (a copy or upload interrupted mid-block) must not land the records
// before the cut and be recorded as landed: the rest would never be read. It fails naming the file.

const NOW = new Date('2026-11-24T12:00:00Z');
const base = testIngestOptions(NOW);

describe('a truncated Avro file', () => {
  const ws = ingestWorkspace('ingest-avro-truncated');

  it('lands nothing and is named, instead of landing the records before the cut', async () => {
    const schema = JSON.parse(readFileSync(path.join(SCHEMAS_DIR, 'clickstream_event', 'v1.avsc'), 'utf8'));
    const file = path.join(ws.dir, 'in', 'events.avro');
    const encoder = new avro.streams.BlockEncoder(schema, { codec: 'deflate', blockSize: 2048 });
    const done = pipeline(encoder, createWriteStream(file));
    for (let i = 0; i < 400; i++) {
      const record: Record<string, unknown> = {};
      for (const field of schema.fields as { name: string }[]) record[field.name] = null;
      encoder.write({
        ...record,
        event_id: `evt_${i}`,
        event_type: 'page_view',
        user_id: `u_${i}`,
        session_id: `s_${i}`,
        event_time: Date.parse('2026-11-20T10:00:00Z') + i * 1000,
      });
    }
    encoder.end();
    await done;
    truncateSync(file, Math.floor(statSync(file).size / 2));

    const lake = new Lake(new LocalStore(path.join(ws.dir, 'lake')), ws.db);
    await expect(ingest(lake, { ...base, sources: [file] })).rejects.toThrow(/events\.avro.*truncated/);
    const raw = lake.table('raw_events');
    expect((await raw.snapshot()).files).toEqual([]);
  });
});

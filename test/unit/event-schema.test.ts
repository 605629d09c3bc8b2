import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EVENT_FIELDS } from '../../src/catalog/event-fields.js';
import {
  LINEAGE_COLUMNS,
  PARTITION_COLUMNS,
  RAW_EVENTS_COLUMNS,
} from '../../src/catalog/tables/raw-events.js';
import { DuckDb } from '../../src/engine/duckdb.js';
import { stageEventsSql } from '../../src/ingest/staging-sql.js';
import { ROOT } from '../helpers/cli.js';

describe('the event schema is defined once and everything agrees with it', () => {
  it('the README table lists every field with its input name, type and requiredness', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## The event schema'), readme.indexOf('## Tables'));
    const rows = section.split('\n').filter((line) => line.startsWith('| `'));
    expect(rows.map((row) => /^\| `([a-z_]+)`/.exec(row)![1])).toEqual(EVENT_FIELDS.map((f) => f.column));
    for (const field of EVENT_FIELDS) {
      const row = rows.find((r) => r.startsWith(`| \`${field.column}\``))!;
      expect(row).toContain(field.required ? '| yes |' : '| no |');
      expect(row).toContain(field.type);
    }
  });

  it('the staging SQL produces exactly the raw_events columns plus its error columns', async () => {
    const db = await DuckDb.open();
    try {
      await db.run('CREATE TEMP TABLE __ingest_lines (source_file VARCHAR, line_number BIGINT, raw VARCHAR)');
      await db.run(`CREATE TEMP TABLE __ingest_staged AS ${await stageEventsSql(db)}`, {
        ingested_at: '2026-01-01T00:00:00Z',
        min_event_time: '2000-01-01T00:00:00Z',
        max_event_time: '2030-01-01T00:00:00Z',
      });
      const columns = (await db.all<{ column_name: string }>('DESCRIBE __ingest_staged')).map(
        (c) => c.column_name,
      );
      expect(columns).toEqual([
        ...RAW_EVENTS_COLUMNS.map((c) => c.name),
        'error_field',
        'error_reason',
        'raw',
      ]);
    } finally {
      db.close();
    }
  });

  it('partition and lineage columns are part of raw_events', () => {
    const names = RAW_EVENTS_COLUMNS.map((c) => c.name);
    for (const c of [...LINEAGE_COLUMNS, ...PARTITION_COLUMNS]) expect(names).toContain(c.name);
  });
});

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DuckDb } from '../../src/engine/duckdb.js';
import { Lake } from '../../src/lake/table/lake.js';
import { LocalStore } from '../../src/storage/local-store.js';
import { emptyState } from '../../src/stream/fraud-windows.js';
import { jsonColumns, SIDE_TABLES } from '../../src/stream/side-tables.js';
import { loadState, type SavedState, STATE_KEY, saveState, stateBody } from '../../src/stream/state.js';
import { tempDir } from '../helpers/cli.js';

const alert = (id: string) => ({
  alertId: id,
  userId: 'u1',
  rule: 'high_quantity',
  windowStart: null,
  windowEnd: null,
  version: 1,
  isFinal: true,
  evidence: { quantity: 60 },
  eventId: 'e1',
  arrivedAt: '2026-11-20T10:00:00.000Z',
});

describe('micro-batch state (state.ts)', () => {
  it('a batch’s two saves share one serialized body: what is read back is the whole state', async () => {
    const dir = tempDir('mb-state');
    // the state is JSON in the store: no DuckDB needed
    const lake = new Lake(new LocalStore(dir), undefined as unknown as DuckDb);
    const state: SavedState = {
      windows: emptyState(),
      files: { '/landing/1.ndjson': '10:1' },
      spoolSequence: 3,
      pending: [alert('a1'), alert('a2')],
      carts: { 'USD:u1': [30, 1, 'e1'] },
    };
    const body = stateBody(state);
    await saveState(lake, state, body);
    expect(await loadState(lake)).toEqual(state);
    state.pending = [];
    await saveState(lake, state, body);
    expect(await loadState(lake)).toEqual(state);
    expect(JSON.parse(readFileSync(path.join(dir, STATE_KEY), 'utf8')).pending).toEqual([]);
  });

  it('an empty body still makes one JSON object', async () => {
    const lake = new Lake(new LocalStore(tempDir('mb-state-empty')), undefined as unknown as DuckDb);
    const state = { pending: [alert('a1')] } as unknown as SavedState;
    await saveState(lake, state, '{}');
    expect(await loadState(lake)).toEqual({ pending: [alert('a1')] });
  });
});

describe('micro-batch side tables (side-tables.ts)', () => {
  it('the JSON reader’s column types derive from the declared columns', () => {
    expect(jsonColumns(SIDE_TABLES.late_events!)).toBe(
      "{event_id: 'VARCHAR', user_id: 'VARCHAR', event_time: 'TIMESTAMPTZ', watermark: 'TIMESTAMPTZ', arrived_at: 'TIMESTAMPTZ', raw: 'VARCHAR'}",
    );
    expect(jsonColumns(SIDE_TABLES.metrics_microbatch!)).toBe(
      "{batch_at: 'TIMESTAMPTZ', events: 'BIGINT', alerts: 'BIGINT', late_events: 'BIGINT', watermark: 'TIMESTAMPTZ', watermark_lag_ms: 'BIGINT', batch_latency_ms: 'BIGINT', events_per_second: 'BIGINT', arrival_lag_ms: 'BIGINT'}",
    );
    expect(jsonColumns(SIDE_TABLES.quarantine!)).toBe(
      "{source_file: 'VARCHAR', source_line: 'BIGINT', error_field: 'VARCHAR', error_reason: 'VARCHAR', raw: 'VARCHAR', ingested_at: 'TIMESTAMPTZ', run_id: 'VARCHAR', ingest_date: 'DATE'}",
    );
  });
});

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { DuckDb } from '../../src/engine/duckdb.js';
import type { IngestOptions } from '../../src/ingest/ingest.js';
import { tempDir } from './cli.js';

/** A test's folder (with an empty `in/` for its source files) and DuckDB, new for each test. */
export interface IngestWorkspace {
  readonly dir: string;
  readonly db: DuckDb;
}

/** Registers the hooks that give each test of the calling describe block a fresh workspace. */
export function ingestWorkspace(label: string): IngestWorkspace {
  const workspace = {} as { dir: string; db: DuckDb };
  beforeEach(async () => {
    workspace.dir = tempDir(label);
    mkdirSync(path.join(workspace.dir, 'in'));
    workspace.db = await DuckDb.open();
  });
  afterEach(() => workspace.db.close());
  return workspace;
}

/**
 * The ingest options of these tests at `now`: any share of bad records allowed (the tests read the
 * quarantine), events from 2000 on and up to 24 hours ahead.
 */
export function testIngestOptions(now: Date): Omit<IngestOptions, 'sources'> {
  return { maxBadRatio: 1, maxFutureHours: 24, minEventDate: '2000-01-01', now };
}

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { DuckDb } from '../../src/engine/duckdb.js';
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

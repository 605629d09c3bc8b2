import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { MART_NAMES } from '../../src/catalog/tables/marts.js';
import { DuckDb } from '../../src/engine/duckdb.js';
import { ingest } from '../../src/ingest/ingest.js';
import { Lake } from '../../src/lake/table/lake.js';
import { LocalStore } from '../../src/storage/local-store.js';
import { tempDir } from './cli.js';
import { testIngestOptions } from './ingest-workspace.js';

export const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';

/** One clickstream event of a test, with defaults for what the case does not care about. */
export interface TestEvent {
  readonly user: string;
  readonly at: string;
  readonly type?: string;
  readonly ua?: string;
  readonly ip?: string;
  readonly properties?: Record<string, unknown>;
}

/**
 * A fresh local lake in a temp folder, on its own DuckDB, for tests that land small batches of
 * events (numbered e00001, e00002, ... across batches) and compare the marts built from them.
 */
export class EventLake {
  readonly dir: string;
  readonly db: DuckDb;
  readonly lake: Lake;
  private batch = 0;
  private id = 0;

  private constructor(dir: string, db: DuckDb) {
    this.dir = dir;
    this.db = db;
    this.lake = new Lake(new LocalStore(path.join(dir, 'lake')), db);
  }

  static async open(prefix: string): Promise<EventLake> {
    return new EventLake(tempDir(prefix), await DuckDb.open());
  }

  /** Writes the events as one NDJSON file and ingests it (no bad record allowed). */
  async land(events: readonly TestEvent[], now: Date): Promise<void> {
    const file = path.join(this.dir, `batch-${++this.batch}.ndjson`);
    const lines = events.map((e) =>
      JSON.stringify({
        event_id: `e${String(++this.id).padStart(5, '0')}`,
        event_type: e.type ?? 'page_view',
        user_id: e.user,
        timestamp: e.at,
        received_at: e.at,
        ip: e.ip ?? '10.0.0.1',
        user_agent: e.ua ?? CHROME,
        page_url: '/',
        properties: e.properties ?? {},
      }),
    );
    writeFileSync(file, `${lines.join('\n')}\n`);
    await this.ingestFile(file, now);
  }

  /** Ingests a file the test wrote (by default no bad record allowed). */
  async ingestFile(file: string, now: Date, maxBadRatio = 0): Promise<void> {
    await ingest(this.lake, { ...testIngestOptions(now), sources: [file], maxBadRatio });
  }

  /** Every mart's rows as sorted JSON lines: two builds are equal when their dumps are. */
  async dumpMarts(): Promise<Record<string, string[]>> {
    const out: Record<string, string[]> = {};
    for (const mart of MART_NAMES) {
      await this.lake.table(mart).register(mart);
      out[mart] = (await this.db.all<Record<string, unknown>>(`SELECT * FROM ${mart}`))
        .map((r) => JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? String(v) : v)))
        .sort();
    }
    return out;
  }

  close(): void {
    this.db.close();
  }
}

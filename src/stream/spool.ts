import { createHash } from 'node:crypto';
import { appendFile, chmod, mkdir, readdir, rename, stat, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../config/config-schema.js';
import { quoteLiteral } from '../engine/duckdb.js';
import { ingest } from '../ingest/ingest.js';
import type { Lake } from '../lake/table/lake.js';
import { currentRun } from '../runtime/run-context.js';
import { LocalStore } from '../storage/local-store.js';
import type { BatchResult, StreamEvent } from './fraud-windows.js';
import type { BatchLine } from './normalize.js';
import { jsonColumns, SIDE_TABLES } from './side-tables.js';
import type { SourcedUnreadable } from './source.js';

/** Land early when this much is spooled (128 MB), whatever --land-every says. */
const LAND_BYTES = 128 * 1024 * 1024;

/** The spool files being appended to, and the prefix each takes once sealed. */
const CURRENT_FILES = [
  ['current.ndjson', 'batch'],
  ['late-current.ndjson', 'late'],
  ['metrics-current.ndjson', 'metrics'],
  ['rejects-current.ndjson', 'rejects'],
] as const;

/**
 * The micro-batch's spool: accepted events, late events, batch metrics and unreadable lines are
 * appended to local files, sealed on the landing cadence and landed in the lake (events through
 * ingest; the others into their own tables), so alerts stay sub-second without a tiny Parquet file
 * per batch. A sealed file is landed with a txn of its own name, so a repeat after a crash is a
 * no-op, and deleted once landed.
 */
export class Spool {
  private lastLanding = Date.now();

  private constructor(
    private readonly lake: Lake,
    readonly dir: string,
    private readonly config: Config,
  ) {}

  /**
   * `<lake>/_shopstream/microbatch/spool/` (owner-only) for a local lake; for an s3:// lake a local
   * directory per lake under the system temp dir.
   */
  static async open(lake: Lake, config: Config): Promise<Spool> {
    const dir =
      lake.store instanceof LocalStore
        ? path.join(lake.store.rootDir, '_shopstream', 'microbatch', 'spool')
        : path.join(
            os.tmpdir(),
            'shopstream-microbatch',
            createHash('sha256').update(lake.store.uri).digest('hex').slice(0, 16),
          );
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
    return new Spool(lake, dir, config);
  }

  /**
   * The spool of a batch: every non-blank line (ingest lands the good ones and quarantines the bad
   * ones with the same reasons the live path saw) and the late events with their watermark.
   */
  async appendBatch(
    lines: readonly BatchLine[],
    result: BatchResult,
    events: readonly StreamEvent[],
    accepted: readonly string[],
    unreadable: readonly SourcedUnreadable[],
  ): Promise<void> {
    const text: string[] = [];
    for (const line of lines) if (line.raw.trim() !== '') text.push(line.raw);
    if (text.length > 0) await this.append('current.ndjson', text);
    if (unreadable.length > 0) {
      // quarantined as read (their source and line, the line checks' reason), not re-read from the
      // spool: a line too long is not kept whole, and bad bytes must not be spooled as text
      const at = new Date().toISOString();
      const rows = unreadable.map((u) =>
        JSON.stringify({
          source_file: u.source,
          source_line: u.line,
          error_field: 'record',
          error_reason: u.reason,
          raw: u.raw,
          ingested_at: at,
          run_id: currentRun.id,
          ingest_date: at.slice(0, 10),
        }),
      );
      await this.append('rejects-current.ndjson', rows);
    }
    if (result.late.length === 0) return;
    const lateIds = new Set(result.late.map((e) => e.eventId));
    const rawOf = new Map<string, string>();
    events.forEach((e, i) => {
      if (lateIds.has(e.eventId)) rawOf.set(e.eventId, accepted[i]!);
    });
    const arrived = new Date().toISOString();
    const watermark = new Date(result.watermark).toISOString();
    const rows = result.late.map((e) =>
      JSON.stringify({
        event_id: e.eventId,
        user_id: e.userId,
        event_time: new Date(e.eventTime).toISOString(),
        watermark,
        arrived_at: arrived,
        raw: rawOf.get(e.eventId) ?? null,
      }),
    );
    await this.append('late-current.ndjson', rows);
  }

  /** A batch's row of metrics_microbatch. */
  async appendMetrics(row: Record<string, unknown>): Promise<void> {
    await this.append('metrics-current.ndjson', [JSON.stringify(row)]);
  }

  /** Landing is due: forced, --land-every elapsed, or the events spool past LAND_BYTES. */
  async due(force: boolean, landEveryMs: number): Promise<boolean> {
    if (force || Date.now() - this.lastLanding >= landEveryMs) return true;
    const spooled = (await stat(path.join(this.dir, 'current.ndjson')).catch(() => undefined))?.size ?? 0;
    return spooled >= LAND_BYTES;
  }

  /** Seals the current spool files as `<kind>-<sequence>.ndjson`; false when there was nothing. */
  async seal(sequence: number): Promise<boolean> {
    this.lastLanding = Date.now();
    const suffix = String(sequence).padStart(8, '0');
    let sealedAny = false;
    for (const [current, kind] of CURRENT_FILES) {
      const file = path.join(this.dir, current);
      if (!(await stat(file).catch(() => undefined))) continue;
      await rename(file, path.join(this.dir, `${kind}-${suffix}.ndjson`));
      sealedAny = true;
    }
    return sealedAny;
  }

  /**
   * Lands every sealed spool file (those a crash left behind too): events through ingest (its file
   * txns make a repeat a no-op), late events and batch metrics into their own tables (a txn per
   * spool file, likewise).
   */
  async landSealed(): Promise<void> {
    const sealed = (await readdir(this.dir))
      .filter((f) => /^(batch|late|metrics|rejects)-\d+\.ndjson$/.test(f))
      .sort();
    for (const name of sealed) {
      const file = path.join(this.dir, name);
      if (name.startsWith('batch-')) {
        await ingest(this.lake, {
          sources: [file],
          maxBadRatio: 1,
          maxFutureHours: this.config.ingest.maxFutureHours,
          minEventDate: this.config.ingest.minEventDate,
          fingerprint: 'content',
        });
      } else {
        const kind = name.startsWith('late-')
          ? 'late_events'
          : name.startsWith('rejects-')
            ? 'quarantine'
            : 'metrics_microbatch';
        await this.landJsonLines(kind, file, `shopstream-microbatch-${name}`);
      }
      await unlink(file); // landed: its txn makes a repeat a no-op, nothing to keep
    }
  }

  private async append(name: string, rows: readonly string[]): Promise<void> {
    await appendFile(path.join(this.dir, name), `${rows.join('\n')}\n`);
  }

  private async landJsonLines(tableName: string, file: string, appId: string): Promise<void> {
    const spec = SIDE_TABLES[tableName]!;
    const { lake } = this;
    const table = lake.table(tableName);
    const snapshot = await table.ensure(spec, { runId: currentRun.id });
    if (snapshot.txnVersion(appId) !== undefined) return;
    const existing = new Set(snapshot.schema.fields.map((f) => f.name));
    const added = spec.columns.filter((c) => !existing.has(c.name));
    await lake.db.run(
      `CREATE OR REPLACE TEMP TABLE __side_rows AS SELECT * FROM read_json(${quoteLiteral(file)}, format = 'newline_delimited', columns = ${jsonColumns(spec)})`,
    );
    await table.write({
      relation: '__side_rows',
      mode: 'append',
      operation: 'WRITE',
      txns: [{ appId, version: 0 }],
      readSnapshot: snapshot,
      ...(added.length > 0 ? { addColumns: added } : {}),
      commitProperties: { runId: currentRun.id },
    });
    await lake.db.run('DROP TABLE __side_rows');
  }
}

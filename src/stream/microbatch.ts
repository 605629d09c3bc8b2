import { createHash } from 'node:crypto';
import { appendFile, chmod, mkdir, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { DeclaredTable } from '../catalog/table-definition.js';
import { LATE_EVENTS_TABLE } from '../catalog/tables/late-events.js';
import { METRICS_MICROBATCH_TABLE } from '../catalog/tables/metrics-microbatch.js';
import { QUARANTINE_TABLE } from '../catalog/tables/quarantine.js';
import type { Config } from '../config/config-schema.js';
import { quoteLiteral } from '../engine/duckdb.js';
import { ingest } from '../ingest/ingest.js';
import { LineSplitter, MAX_LINE_BYTES, type RejectedLine as UnreadableLine } from '../ingest/line-reader.js';
import { formatOf } from '../ingest/sources.js';
import { type ColumnDef, duckDbType } from '../lake/table/columns.js';
import type { Lake } from '../lake/table/lake.js';
import { currentRun } from '../runtime/run-context.js';
import { LocalStore } from '../storage/local-store.js';
import { S3Store, type S3StoreOptions } from '../storage/s3-store.js';
import {
  type Alert,
  type BatchResult,
  DEFAULT_WINDOWS,
  emptyState,
  FraudWindows,
  type StreamEvent,
  type WindowsState,
} from './fraud-windows.js';
import {
  type BatchLine,
  type CartStates,
  EventNormalizer,
  mergeCarts,
  type NormalizedBatch,
  pruneCartStates,
} from './normalize.js';

export interface MicrobatchOptions {
  /** `-` for NDJSON on stdin, or a landing directory or s3:// prefix polled for new files. */
  readonly from: string;
  readonly stdin?: Readable;
  readonly once: boolean;
  readonly intervalMs: number;
  readonly land: boolean;
  readonly landEveryMs: number;
  readonly config: Config;
  /** Called with each alert as it goes out, stamped with its emission and arrival-to-alert latency. */
  readonly emit: (alert: EmittedAlert) => Promise<void> | void;
  readonly onBatch?: (metrics: BatchMetrics) => void;
  readonly signal?: AbortSignal;
  /** How to reach an s3:// landing prefix. */
  readonly s3?: S3StoreOptions;
}

export interface EmittedAlert extends Alert {
  readonly emittedAt: string;
  /** emittedAt - arrivedAt: from the event's arrival (read from the pipe, file written) to now. */
  readonly latencyMs: number;
}

export interface BatchMetrics {
  readonly events: number;
  /** Lines the staging rules refused (landed in quarantine with the same reasons). */
  readonly rejected: number;
  readonly alerts: number;
  readonly late: number;
  readonly watermark: string | null;
  readonly watermarkLagMs: number | null;
  /** Processing time of the batch alone (from taking its lines to its alerts out). */
  readonly batchLatencyMs: number;
  /** From the arrival of the batch's oldest line to its alerts out: includes the wait for the batch. */
  readonly arrivalLagMs: number | null;
  /** Arrival-to-alert latency of this batch's alerts (p95, max), per alert. */
  readonly alertLatencyP95Ms: number | null;
  readonly alertLatencyMaxMs: number | null;
  readonly eventsPerSecond: number;
}

export interface MicrobatchSummary {
  readonly batches: number;
  readonly events: number;
  readonly rejected: number;
  readonly alerts: number;
  readonly late: number;
  readonly filesPicked: number;
  readonly landedFiles: number;
}

interface TakenBatch {
  readonly started: number;
  readonly inputDone: boolean;
  readonly lines: BatchLine[];
  /** Files the batch read: path and signature, recorded as taken once the batch is processed. */
  readonly files: [string, string][];
  /** Lines ingest's line checks refuse (too long, not UTF-8, NUL byte): never staged. */
  readonly unreadable: SourcedUnreadable[];
  readonly normalized: NormalizedBatch;
}

interface SourcedUnreadable extends UnreadableLine {
  readonly source: string;
}

interface SavedState {
  windows: WindowsState;
  /** Source files already taken: path -> size:mtime. */
  files: Record<string, string>;
  spoolSequence: number;
  /** Alerts computed but not yet known to be emitted (re-emitted after a crash, same ids). */
  pending: Alert[];
  /** Each user's last cart state per currency, as of the processed batches (the value at risk's previous cart). */
  carts?: CartStates;
}

const STATE_KEY = '_shopstream/microbatch/state.json';
/** Land early when this much is spooled (128 MB), whatever --land-every says. */
const LAND_BYTES = 128 * 1024 * 1024;

/**
 * Micro-batch fraud detection: every interval, takes the new events (stdin lines or new files),
 * runs the event-time windows, emits alerts, and saves its state in the lake before and after
 * emitting (a restart re-emits only the alerts of an interrupted batch, with the same ids and
 * versions). Accepted events are spooled and landed in raw_events through ingest on their own
 * cadence, so alerts stay sub-second without a tiny Parquet file per batch.
 */
export async function runMicrobatch(lake: Lake, options: MicrobatchOptions): Promise<MicrobatchSummary> {
  const state = await loadState(lake);
  const rules = options.config.marts.fraud;
  const windows = new FraudWindows(rules, DEFAULT_WINDOWS, state.windows);
  const spoolDir = await openSpool(lake);
  state.carts ??= {};
  const normalizer = await EventNormalizer.open(
    options.config.ingest,
    {
      sessionTimeoutMinutes: options.config.marts.sessionTimeoutMinutes,
      currency: options.config.marts.currency,
    },
    state.carts,
  );
  try {
    return await loop(lake, options, state, windows, spoolDir, normalizer);
  } finally {
    normalizer.close();
  }
}

async function loop(
  lake: Lake,
  options: MicrobatchOptions,
  state: SavedState,
  windows: FraudWindows,
  spoolDir: string,
  normalizer: EventNormalizer,
): Promise<MicrobatchSummary> {
  const runStarted = Date.now();
  const totals = { batches: 0, events: 0, rejected: 0, alerts: 0, late: 0, filesPicked: 0, landedFiles: 0 };
  const emit = async (alert: Alert): Promise<number> => {
    const emittedAt = Date.now();
    // alerts pending in a state saved by an older version have no arrival
    const arrived = Date.parse(alert.arrivedAt ?? '');
    const latencyMs = Number.isFinite(arrived) ? emittedAt - arrived : 0;
    await options.emit({ ...alert, emittedAt: new Date(emittedAt).toISOString(), latencyMs });
    return latencyMs;
  };

  for (const alert of state.pending) await emit(alert);
  state.pending = [];
  await saveState(lake, state);

  // stdin lines with their number and arrival: stamped as each chunk is read from the pipe. Read as
  // bytes, split and checked as ingest does (line-reader.ts: too long, not UTF-8, NUL, BOM, blank)
  const stdinLines: string[] = [];
  const stdinNumbers: number[] = [];
  const stdinArrivals: number[] = [];
  const stdinUnreadable: SourcedUnreadable[] = [];
  let stdinDone = options.from !== '-';
  if (options.from === '-') {
    const input = options.stdin ?? process.stdin;
    let chunkArrival = 0;
    const splitter = new LineSplitter(
      {
        line(lineNumber, text) {
          stdinLines.push(text);
          stdinNumbers.push(lineNumber);
          stdinArrivals.push(chunkArrival);
        },
        reject(rejected) {
          stdinUnreadable.push({ ...rejected, source: 'stdin' });
        },
      },
      MAX_LINE_BYTES,
    );
    input.on('data', (chunk: Buffer | string) => {
      chunkArrival = Date.now();
      splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    });
    const finish = () => {
      if (stdinDone) return;
      splitter.end();
      stdinDone = true;
    };
    input.on('end', finish);
    input.on('close', finish);
  }
  let lastLanding = Date.now();
  const land = async (force: boolean) => {
    const spoolBytes = (await stat(path.join(spoolDir, 'current.ndjson')).catch(() => undefined))?.size ?? 0;
    const due = force || Date.now() - lastLanding >= options.landEveryMs || spoolBytes >= LAND_BYTES;
    if (!options.land || !due) return;
    lastLanding = Date.now();
    const sequence = String(++state.spoolSequence).padStart(8, '0');
    let sealedAny = false;
    for (const [current, sealedName] of [
      ['current.ndjson', `batch-${sequence}.ndjson`],
      ['late-current.ndjson', `late-${sequence}.ndjson`],
      ['metrics-current.ndjson', `metrics-${sequence}.ndjson`],
      ['rejects-current.ndjson', `rejects-${sequence}.ndjson`],
    ] as const) {
      const spool = path.join(spoolDir, current);
      if (!(await stat(spool).catch(() => undefined))) continue;
      await rename(spool, path.join(spoolDir, sealedName));
      sealedAny = true;
    }
    if (!sealedAny) return;
    await saveState(lake, state);
    await landSealed(lake, spoolDir, options.config);
    totals.landedFiles++;
  };
  await landSealed(lake, spoolDir, options.config); // sealed spools a crash left behind

  // files taken by a batch not processed yet: not taken again, recorded only once processed
  const inFlight = new Map<string, string>();
  const take = async (): Promise<TakenBatch> => {
    const started = Date.now();
    // read "done" before taking the lines: stdin may close while this batch runs
    const inputDone = stdinDone;
    const lines: BatchLine[] = [];
    const files: [string, string][] = [];
    let unreadable: SourcedUnreadable[] = [];
    if (options.from === '-') {
      // splice, not a spread: a backlog of 100k+ lines would overflow the call stack
      const taken = stdinLines.splice(0);
      const numbers = stdinNumbers.splice(0);
      const arrivals = stdinArrivals.splice(0);
      unreadable = stdinUnreadable.splice(0);
      for (let i = 0; i < taken.length; i++)
        lines.push({ source: 'stdin', line: numbers[i]!, raw: taken[i]!, arrivedAt: arrivals[i]! });
    } else {
      const known = { ...state.files, ...Object.fromEntries(inFlight) };
      for (const file of await newFiles(options.from, known, options.s3 ?? {})) {
        const bytes = await file.read();
        // written while this run polls: from its write (the poll's wait included); written before
        // the run: from the run's start (a backlog waiting for a cron run is not stream latency)
        const arrivedAt = Math.max(file.writtenAt, runStarted);
        // split and checked as ingest reads a file (line-reader.ts)
        const splitter = new LineSplitter(
          {
            line(lineNumber, raw) {
              lines.push({ source: file.path, line: lineNumber, raw, arrivedAt });
            },
            reject(rejected) {
              unreadable.push({ ...rejected, source: file.path });
            },
          },
          MAX_LINE_BYTES,
        );
        splitter.push(bytes);
        splitter.end();
        files.push([file.path, file.signature]);
        inFlight.set(file.path, file.signature);
      }
    }
    return { started, inputDone, lines, files, unreadable, normalized: await normalizer.normalize(lines) };
  };

  let prefetched: Promise<TakenBatch> | undefined;
  let lastCartPrune = Number.NEGATIVE_INFINITY;
  while (!options.signal?.aborted) {
    const { started, inputDone, lines, files, unreadable, normalized } = await (prefetched ?? take());
    // Busy: take the next batch now, so DuckDB stages it while this one's alerts are computed and
    // sent (two cores: staging and the rest overlap). Not with --once: one pass over what is there.
    prefetched = lines.length > 0 && !options.once ? take() : undefined;
    prefetched?.catch(() => undefined); // its failure surfaces where it is awaited, not as unhandled
    for (const [file, signature] of files) {
      state.files[file] = signature;
      inFlight.delete(file);
      totals.filesPicked++;
    }
    const { events, accepted } = normalized;
    // refused lines: by ingest's line checks (never staged), then by the staging rules
    const rejected = [
      ...unreadable.map((u) => ({ source: u.source, line: u.line, field: 'record', reason: u.reason })),
      ...normalized.rejected,
    ];
    // the batch's cart states join the saved ones as the batch is processed (a prefetched batch's
    // only once it is: a restart re-reads its files from the states before it)
    mergeCarts(state.carts!, normalized.carts);
    if (events.length > 0 || rejected.length > 0 || options.once) {
      const result = windows.process(events);
      state.windows = windows.current(); // serialized as is by saveState: no copy
      // cart states older than this can only precede events too late to count: forget them
      const cartCutoff =
        result.watermark -
        DEFAULT_WINDOWS.allowedLatenessMs -
        DEFAULT_WINDOWS.windowMs -
        options.config.marts.sessionTimeoutMinutes * 60_000;
      if (result.watermark > -8e15 && cartCutoff - lastCartPrune >= 60_000) {
        lastCartPrune = cartCutoff;
        pruneCartStates(state.carts!, cartCutoff);
        await normalizer.pruneCarts(cartCutoff);
      }
      state.pending = [...result.alerts];
      if (options.land) await spool(spoolDir, lines, result, events, accepted, unreadable);
      // the pending alerts must be saved before any goes out (a restart re-sends them); without
      // alerts, the one save below is enough
      if (result.alerts.length > 0) await saveState(lake, state);
      const latencies: number[] = [];
      for (const alert of result.alerts) latencies.push(await emit(alert));
      state.pending = [];
      await saveState(lake, state);
      const done = Date.now();
      totals.batches++;
      totals.events += events.length;
      totals.rejected += rejected.length;
      totals.alerts += result.alerts.length;
      totals.late += result.late.length;
      const elapsed = done - started;
      let oldestArrival = Number.POSITIVE_INFINITY;
      for (const line of lines) if (line.arrivedAt < oldestArrival) oldestArrival = line.arrivedAt;
      const arrivalLagMs = Number.isFinite(oldestArrival) ? done - oldestArrival : null;
      latencies.sort((a, b) => a - b);
      const metrics: BatchMetrics = {
        events: events.length,
        rejected: rejected.length,
        alerts: result.alerts.length,
        late: result.late.length,
        watermark: result.watermark > -8e15 ? new Date(result.watermark).toISOString() : null,
        watermarkLagMs: result.watermark > -8e15 ? done - result.watermark : null,
        batchLatencyMs: elapsed,
        arrivalLagMs,
        alertLatencyP95Ms: latencies.length > 0 ? latencies[Math.floor(latencies.length * 0.95)]! : null,
        alertLatencyMaxMs: latencies.at(-1) ?? null,
        eventsPerSecond: elapsed > 0 ? Math.round((events.length / elapsed) * 1000) : events.length,
      };
      options.onBatch?.(metrics);
      // the SLO latency: from the batch's oldest arrival (the wait for this batch included) to its alerts out
      currentRun.record({ rowsIn: events.length, latenciesMs: arrivalLagMs === null ? [] : [arrivalLagMs] });
      if (options.land) {
        const row = {
          batch_at: new Date(started).toISOString(),
          events: metrics.events,
          alerts: metrics.alerts,
          late_events: metrics.late,
          watermark: metrics.watermark,
          watermark_lag_ms: metrics.watermarkLagMs,
          batch_latency_ms: metrics.batchLatencyMs,
          events_per_second: metrics.eventsPerSecond,
          arrival_lag_ms: metrics.arrivalLagMs,
        };
        await appendFile(path.join(spoolDir, 'metrics-current.ndjson'), `${JSON.stringify(row)}\n`);
      }
    }
    await land(false);
    // stdin at EOF (nothing more will come, with or without --once), or --once done; a batch
    // already taken is processed first
    const finished =
      (options.once || options.from === '-') &&
      inputDone &&
      stdinLines.length === 0 &&
      stdinUnreadable.length === 0;
    if (finished && prefetched === undefined) break;
    // batches start every interval: a batch that took longer is followed at once
    const wait = options.intervalMs - (Date.now() - started);
    if (prefetched === undefined && wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  // stopped by a signal while a batch was taken: its files stay untaken (read again on restart)
  await prefetched;
  await land(true);
  return totals;
}

/**
 * The spool of a batch: every non-blank line (ingest lands the good ones and quarantines the bad
 * ones with the same reasons the live path saw) and the late events with their watermark.
 */
async function spool(
  spoolDir: string,
  lines: readonly BatchLine[],
  result: BatchResult,
  events: readonly StreamEvent[],
  accepted: readonly string[],
  unreadable: readonly SourcedUnreadable[],
): Promise<void> {
  const text: string[] = [];
  for (const line of lines) if (line.raw.trim() !== '') text.push(line.raw);
  if (text.length > 0) await appendFile(path.join(spoolDir, 'current.ndjson'), `${text.join('\n')}\n`);
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
    await appendFile(path.join(spoolDir, 'rejects-current.ndjson'), `${rows.join('\n')}\n`);
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
  await appendFile(path.join(spoolDir, 'late-current.ndjson'), `${rows.join('\n')}\n`);
}

/**
 * The spool directory: `<lake>/_shopstream/microbatch/spool/` (owner-only) for a local lake; for an
 * s3:// lake a local directory per lake under the system temp dir.
 */
async function openSpool(lake: Lake): Promise<string> {
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
  return dir;
}

/**
 * Lands every sealed spool file: events through ingest (its file txns make a repeat a no-op), late
 * events and batch metrics into their own tables (a txn per spool file, likewise).
 */
async function landSealed(lake: Lake, spoolDir: string, config: Config): Promise<void> {
  const sealed = (await readdir(spoolDir))
    .filter((f) => /^(batch|late|metrics|rejects)-\d+\.ndjson$/.test(f))
    .sort();
  for (const name of sealed) {
    const file = path.join(spoolDir, name);
    if (name.startsWith('batch-')) {
      await ingest(lake, {
        sources: [file],
        maxBadRatio: 1,
        maxFutureHours: config.ingest.maxFutureHours,
        minEventDate: config.ingest.minEventDate,
        fingerprint: 'content',
      });
    } else {
      const kind = name.startsWith('late-')
        ? 'late_events'
        : name.startsWith('rejects-')
          ? 'quarantine'
          : 'metrics_microbatch';
      await landJsonLines(lake, kind, file, `shopstream-microbatch-${name}`);
    }
    await unlink(file); // landed: its txn makes a repeat a no-op, nothing to keep
  }
}

/** The tables the micro-batch lands its side files in, as the table catalog declares them. */
const SIDE_TABLES: Readonly<Record<string, DeclaredTable>> = {
  // lines the line checks refused, as ingest quarantines them
  quarantine: QUARANTINE_TABLE,
  late_events: LATE_EVENTS_TABLE,
  metrics_microbatch: METRICS_MICROBATCH_TABLE,
};

/** The `columns` argument of DuckDB's read_json for these columns: {name: 'TYPE', ...}. */
function jsonColumns(columns: readonly ColumnDef[]): string {
  return `{${columns.map((c) => `${c.name}: ${quoteLiteral(duckDbType(c.type))}`).join(', ')}}`;
}

async function landJsonLines(lake: Lake, tableName: string, file: string, appId: string): Promise<void> {
  const spec = SIDE_TABLES[tableName]!.definition;
  const table = lake.table(tableName);
  const snapshot = await table.ensure(spec, { runId: currentRun.id });
  if (snapshot.txnVersion(appId) !== undefined) return;
  const existing = new Set(snapshot.schema.fields.map((f) => f.name));
  const added = spec.columns.filter((c) => !existing.has(c.name));
  await lake.db.run(
    `CREATE OR REPLACE TEMP TABLE __side_rows AS SELECT * FROM read_json(${quoteLiteral(file)}, format = 'newline_delimited', columns = ${jsonColumns(spec.columns)})`,
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

interface NewFile {
  readonly path: string;
  readonly signature: string;
  /** When the file was last written (epoch ms): its events' arrival. */
  readonly writtenAt: number;
  read(): Promise<Buffer>;
}

/** NDJSON files not taken yet, in a local directory or under an s3:// prefix. */
async function newFiles(from: string, taken: Record<string, string>, s3: S3StoreOptions): Promise<NewFile[]> {
  const out: NewFile[] = [];
  const wanted = (name: string) => formatOf(name) === 'ndjson' && !name.endsWith('.gz');
  if (from.startsWith('s3://')) {
    const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(from)!;
    const store = new S3Store(`s3://${match[1]}`, s3);
    const prefix = match[2] && !match[2].endsWith('/') ? `${match[2]}/` : (match[2] ?? '');
    for (const object of (await store.list(prefix)).sort((a, b) => a.key.localeCompare(b.key))) {
      if (!wanted(object.key)) continue;
      const uri = `s3://${match[1]}/${object.key}`;
      const signature = `${object.size}:${object.lastModified}`;
      if (taken[uri] === signature) continue;
      out.push({
        path: uri,
        signature,
        writtenAt: object.lastModified,
        read: async () => Buffer.from(await store.get(object.key)),
      });
    }
    return out;
  }
  for (const name of (await readdir(from)).sort()) {
    if (!wanted(name)) continue;
    const file = path.join(from, name);
    const info = await stat(file);
    const signature = `${info.size}:${info.mtimeMs}`;
    if (taken[file] === signature) continue;
    out.push({ path: file, signature, writtenAt: info.mtimeMs, read: () => readFile(file) });
  }
  return out;
}

async function loadState(lake: Lake): Promise<SavedState> {
  try {
    return JSON.parse(Buffer.from(await lake.store.get(STATE_KEY)).toString('utf8')) as SavedState;
  } catch {
    return { windows: emptyState(), files: {}, spoolSequence: 0, pending: [] };
  }
}

async function saveState(lake: Lake, state: SavedState): Promise<void> {
  await lake.store.put(STATE_KEY, JSON.stringify(state));
}

export type { Alert };

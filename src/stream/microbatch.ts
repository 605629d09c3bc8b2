import { createHash } from 'node:crypto';
import { appendFile, mkdir, readdir, readFile, rename, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { isbot } from 'isbot';
import type { Config } from '../config/config-schema.js';
import { quoteLiteral } from '../engine/duckdb.js';
import { ingest } from '../ingest/ingest.js';
import { formatOf } from '../ingest/sources.js';
import type { Lake } from '../lake/lake.js';
import type { ColumnDef } from '../lake/schema.js';
import { currentRun } from '../ops/run-context.js';
import { S3Store, type S3StoreOptions } from '../storage/s3-store.js';
import {
  type Alert,
  DEFAULT_WINDOWS,
  emptyState,
  FraudWindows,
  type StreamEvent,
  type WindowsState,
} from './fraud-windows.js';

export interface MicrobatchOptions {
  /** `-` for NDJSON on stdin, or a landing directory or s3:// prefix polled for new files. */
  readonly from: string;
  readonly stdin?: Readable;
  readonly once: boolean;
  readonly intervalMs: number;
  readonly land: boolean;
  readonly landEveryMs: number;
  readonly config: Config;
  readonly emit: (alert: Alert) => Promise<void> | void;
  readonly onBatch?: (metrics: BatchMetrics) => void;
  readonly signal?: AbortSignal;
  /** How to reach an s3:// landing prefix. */
  readonly s3?: S3StoreOptions;
}

export interface BatchMetrics {
  readonly events: number;
  readonly alerts: number;
  readonly late: number;
  readonly watermark: string | null;
  readonly watermarkLagMs: number | null;
  readonly batchLatencyMs: number;
  readonly eventsPerSecond: number;
}

export interface MicrobatchSummary {
  readonly batches: number;
  readonly events: number;
  readonly alerts: number;
  readonly late: number;
  readonly filesPicked: number;
  readonly landedFiles: number;
}

interface SavedState {
  windows: WindowsState;
  /** Source files already taken: path -> size:mtime. */
  files: Record<string, string>;
  spoolSequence: number;
  /** Alerts computed but not yet known to be emitted (re-emitted after a crash, same ids). */
  pending: Alert[];
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
  const spoolDir = path.join(
    os.tmpdir(),
    'shopstream-microbatch',
    createHash('sha256').update(lake.store.uri).digest('hex').slice(0, 16),
  );
  await mkdir(spoolDir, { recursive: true });
  const totals = { batches: 0, events: 0, alerts: 0, late: 0, filesPicked: 0, landedFiles: 0 };

  for (const alert of state.pending) await options.emit(alert);
  state.pending = [];
  await saveState(lake, state);

  const stdinLines: string[] = [];
  let stdinDone = options.from !== '-';
  if (options.from === '-') {
    const reader = createInterface({
      input: options.stdin ?? process.stdin,
      crlfDelay: Number.POSITIVE_INFINITY,
    });
    reader.on('line', (line) => stdinLines.push(line));
    reader.on('close', () => {
      stdinDone = true;
    });
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

  while (!options.signal?.aborted) {
    const started = Date.now();
    // read "done" before taking the lines: stdin may close while this batch runs
    const inputDone = stdinDone;
    const lines: string[] = [];
    if (options.from === '-') {
      lines.push(...stdinLines.splice(0));
    } else {
      for (const file of await newFiles(options.from, state.files, options.s3 ?? {})) {
        lines.push(...(await file.read()).split('\n'));
        state.files[file.path] = file.signature;
        totals.filesPicked++;
      }
    }
    const events: StreamEvent[] = [];
    const accepted: string[] = [];
    const lineOf = new Map<string, string>();
    for (const line of lines) {
      const event = parseEvent(line);
      if (!event) continue;
      events.push(event);
      accepted.push(line);
      lineOf.set(event.eventId, line);
    }
    if (events.length > 0 || options.once) {
      const result = windows.process(events);
      state.windows = windows.snapshot();
      state.pending = [...result.alerts];
      if (accepted.length > 0 && options.land)
        await appendFile(path.join(spoolDir, 'current.ndjson'), `${accepted.join('\n')}\n`);
      if (result.late.length > 0 && options.land) {
        const arrived = new Date().toISOString();
        const watermark = new Date(result.watermark).toISOString();
        const rows = result.late.map((e) =>
          JSON.stringify({
            event_id: e.eventId,
            user_id: e.userId,
            event_time: new Date(e.eventTime).toISOString(),
            watermark,
            arrived_at: arrived,
            raw: lineOf.get(e.eventId) ?? null,
          }),
        );
        await appendFile(path.join(spoolDir, 'late-current.ndjson'), `${rows.join('\n')}\n`);
      }
      await saveState(lake, state);
      for (const alert of result.alerts) await options.emit(alert);
      state.pending = [];
      await saveState(lake, state);
      totals.batches++;
      totals.events += events.length;
      totals.alerts += result.alerts.length;
      totals.late += result.late.length;
      const elapsed = Date.now() - started;
      const metrics: BatchMetrics = {
        events: events.length,
        alerts: result.alerts.length,
        late: result.late.length,
        watermark: result.watermark > -8e15 ? new Date(result.watermark).toISOString() : null,
        watermarkLagMs: result.watermark > -8e15 ? Date.now() - result.watermark : null,
        batchLatencyMs: elapsed,
        eventsPerSecond: elapsed > 0 ? Math.round((events.length / elapsed) * 1000) : events.length,
      };
      options.onBatch?.(metrics);
      currentRun.record({ rowsIn: events.length, latenciesMs: [elapsed] });
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
        };
        await appendFile(path.join(spoolDir, 'metrics-current.ndjson'), `${JSON.stringify(row)}\n`);
      }
    }
    await land(false);
    // stdin at EOF: nothing more will come, with or without --once
    if ((options.once || options.from === '-') && inputDone) break;
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs));
  }
  await land(true);
  return totals;
}

/**
 * Lands every sealed spool file: events through ingest (its file txns make a repeat a no-op), late
 * events and batch metrics into their own tables (a txn per spool file, likewise).
 */
async function landSealed(lake: Lake, spoolDir: string, config: Config): Promise<void> {
  const sealed = (await readdir(spoolDir)).filter((f) => /^(batch|late|metrics)-\d+\.ndjson$/.test(f)).sort();
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
      const kind = name.startsWith('late-') ? 'late_events' : 'metrics_microbatch';
      await landJsonLines(lake, kind, file, `shopstream-microbatch-${name}`);
    }
    await rename(file, `${file}.landed`);
  }
}

const SIDE_TABLES: Record<string, { columns: ColumnDef[]; json: string }> = {
  late_events: {
    columns: [
      { name: 'event_id', type: 'string' },
      { name: 'user_id', type: 'string' },
      { name: 'event_time', type: 'timestamp' },
      { name: 'watermark', type: 'timestamp' },
      { name: 'arrived_at', type: 'timestamp' },
      { name: 'raw', type: 'string' },
    ],
    json: "{event_id: 'VARCHAR', user_id: 'VARCHAR', event_time: 'TIMESTAMPTZ', watermark: 'TIMESTAMPTZ', arrived_at: 'TIMESTAMPTZ', raw: 'VARCHAR'}",
  },
  metrics_microbatch: {
    columns: [
      { name: 'batch_at', type: 'timestamp' },
      { name: 'events', type: 'long' },
      { name: 'alerts', type: 'long' },
      { name: 'late_events', type: 'long' },
      { name: 'watermark', type: 'timestamp' },
      { name: 'watermark_lag_ms', type: 'long' },
      { name: 'batch_latency_ms', type: 'long' },
      { name: 'events_per_second', type: 'long' },
    ],
    json: "{batch_at: 'TIMESTAMPTZ', events: 'BIGINT', alerts: 'BIGINT', late_events: 'BIGINT', watermark: 'TIMESTAMPTZ', watermark_lag_ms: 'BIGINT', batch_latency_ms: 'BIGINT', events_per_second: 'BIGINT'}",
  },
};

async function landJsonLines(lake: Lake, tableName: string, file: string, appId: string): Promise<void> {
  const spec = SIDE_TABLES[tableName]!;
  const table = lake.table(tableName);
  const snapshot = await table.ensure({ columns: spec.columns });
  if (snapshot.txnVersion(appId) !== undefined) return;
  await lake.db.run(
    `CREATE OR REPLACE TEMP TABLE __side_rows AS SELECT * FROM read_json(${quoteLiteral(file)}, format = 'newline_delimited', columns = ${spec.json})`,
  );
  await table.write({
    relation: '__side_rows',
    mode: 'append',
    operation: 'WRITE',
    txns: [{ appId, version: 0 }],
    readSnapshot: snapshot,
  });
  await lake.db.run('DROP TABLE __side_rows');
}

interface NewFile {
  readonly path: string;
  readonly signature: string;
  read(): Promise<string>;
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
        read: async () => Buffer.from(await store.get(object.key)).toString('utf8'),
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
    out.push({ path: file, signature, read: () => readFile(file, 'utf8') });
  }
  return out;
}

function parseEvent(line: string): StreamEvent | undefined {
  if (!line.trim()) return undefined;
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const props = (raw.properties ?? {}) as Record<string, unknown>;
  const time = typeof raw.timestamp === 'number' ? raw.timestamp : Date.parse(String(raw.timestamp ?? ''));
  if (!raw.event_id || !raw.user_id || !Number.isFinite(time)) return undefined;
  const num = (v: unknown) => (v === undefined || v === null || Number.isNaN(Number(v)) ? null : Number(v));
  const type = String(raw.event_type ?? '');
  const cart = num(props.cart_value ?? raw.cart_value);
  const amount = num(props.amount ?? raw.amount);
  return {
    eventId: String(raw.event_id),
    userId: String(raw.user_id),
    eventTime: time,
    eventType: type,
    ip: raw.ip ? String(raw.ip) : null,
    value:
      type === 'purchase'
        ? (amount ?? cart ?? 0)
        : type === 'add_to_cart' || type === 'checkout'
          ? (cart ?? 0)
          : 0,
    quantity: num(props.quantity ?? raw.quantity),
    cartValue: cart,
    isBot: typeof raw.user_agent === 'string' && isbot(raw.user_agent),
  };
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

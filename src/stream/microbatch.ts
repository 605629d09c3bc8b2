import type { Readable } from 'node:stream';
import type { Config } from '../config/config-schema.js';
import type { Lake } from '../lake/table/lake.js';
import { currentRun } from '../runtime/run-context.js';
import type { S3StoreOptions } from '../storage/s3-store.js';
import type { Alert, BatchResult } from './fraud-windows.js';
import { EventNormalizer, type NormalizedBatch } from './normalize.js';
import { type BatchSource, openSource, type TakenLines } from './source.js';
import { Spool } from './spool.js';
import { loadState, type SavedState, saveState, stateBody } from './state.js';
import { LiveWindows } from './windows.js';

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

interface TakenBatch extends TakenLines {
  readonly started: number;
  readonly normalized: NormalizedBatch;
}

type Totals = { -readonly [K in keyof MicrobatchSummary]: number };

/**
 * Micro-batch fraud detection: every interval, takes the new events (stdin lines or new files:
 * source.ts), normalizes them (normalize.ts), runs the event-time windows (windows.ts), emits
 * alerts, and saves its state in the lake before and after emitting (state.ts: a restart re-emits
 * only the alerts of an interrupted batch, with the same ids and versions). Accepted events are
 * spooled and landed in raw_events through ingest on their own cadence (spool.ts), so alerts stay
 * sub-second without a tiny Parquet file per batch.
 */
export async function runMicrobatch(lake: Lake, options: MicrobatchOptions): Promise<MicrobatchSummary> {
  const state = await loadState(lake);
  state.carts ??= {};
  const spool = await Spool.open(lake, options.config);
  const { marts } = options.config;
  const normalizer = await EventNormalizer.open(
    options.config.ingest,
    { sessionTimeoutMinutes: marts.sessionTimeoutMinutes, currency: marts.currency },
    state.carts,
  );
  try {
    const windows = new LiveWindows(state, normalizer, options.config);
    return await new MicrobatchRun(lake, options, state, windows, spool, normalizer).run();
  } finally {
    normalizer.close();
  }
}

/** One run of the loop: the batches, their alerts and metrics, the landing cadence. */
class MicrobatchRun {
  private readonly runStarted = Date.now();
  private readonly totals: Totals = {
    batches: 0,
    events: 0,
    rejected: 0,
    alerts: 0,
    late: 0,
    filesPicked: 0,
    landedFiles: 0,
  };
  private readonly source: BatchSource;

  constructor(
    private readonly lake: Lake,
    private readonly options: MicrobatchOptions,
    private readonly state: SavedState,
    private readonly windows: LiveWindows,
    private readonly spool: Spool,
    private readonly normalizer: EventNormalizer,
  ) {
    this.source = openSource(options, this.runStarted);
  }

  async run(): Promise<MicrobatchSummary> {
    const { options, state } = this;
    for (const alert of state.pending) await this.emit(alert);
    state.pending = [];
    await saveState(this.lake, state);
    await this.spool.landSealed(); // sealed spools a crash left behind

    let prefetched: Promise<TakenBatch> | undefined;
    while (!options.signal?.aborted) {
      const batch = await (prefetched ?? this.take());
      // Busy: take the next batch now, so DuckDB stages it while this one's alerts are computed and
      // sent (two cores: staging and the rest overlap). Not with --once: one pass over what is there.
      prefetched = batch.lines.length > 0 && !options.once ? this.take() : undefined;
      prefetched?.catch(() => undefined); // its failure surfaces where it is awaited, not as unhandled
      await this.process(batch);
      await this.land(false);
      // stdin at EOF (nothing more will come, with or without --once), or --once done; a batch
      // already taken is processed first
      const finished = (options.once || options.from === '-') && batch.inputDone && !this.source.waiting;
      if (finished && prefetched === undefined) break;
      // batches start every interval: a batch that took longer is followed at once
      const wait = options.intervalMs - (Date.now() - batch.started);
      if (prefetched === undefined && wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    // stopped by a signal while a batch was taken: its files stay untaken (read again on restart)
    await prefetched;
    await this.land(true);
    return this.totals;
  }

  private async take(): Promise<TakenBatch> {
    const started = Date.now();
    const taken = await this.source.take(this.state.files);
    return { ...taken, started, normalized: await this.normalizer.normalize(taken.lines) };
  }

  private async process(batch: TakenBatch): Promise<void> {
    const { state, totals, options } = this;
    const { started, lines, files, unreadable, normalized } = batch;
    for (const [file, signature] of files) {
      state.files[file] = signature;
      totals.filesPicked++;
    }
    this.source.processed(files);
    const { events, accepted } = normalized;
    // refused lines: by ingest's line checks (never staged), then by the staging rules
    const rejected = unreadable.length + normalized.rejected.length;
    this.windows.takeCarts(normalized);
    if (events.length === 0 && rejected === 0 && !options.once) return;
    const result = await this.windows.process(normalized);
    state.pending = [...result.alerts];
    if (options.land) await this.spool.appendBatch(lines, result, events, accepted, unreadable);
    // the pending alerts must be saved before any goes out (a restart re-sends them); without
    // alerts, the one save below is enough. Both saves share the serialized windows, carts, files.
    const body = stateBody(state);
    if (result.alerts.length > 0) await saveState(this.lake, state, body);
    const latencies: number[] = [];
    for (const alert of result.alerts) latencies.push(await this.emit(alert));
    state.pending = [];
    await saveState(this.lake, state, body);
    const done = Date.now();
    totals.batches++;
    totals.events += events.length;
    totals.rejected += rejected;
    totals.alerts += result.alerts.length;
    totals.late += result.late.length;
    const metrics = batchMetrics(batch, result, rejected, latencies, done);
    options.onBatch?.(metrics);
    // the SLO latency: from the batch's oldest arrival (the wait for this batch included) to its alerts out
    currentRun.record({
      rowsIn: events.length,
      latenciesMs: metrics.arrivalLagMs === null ? [] : [metrics.arrivalLagMs],
    });
    if (options.land) {
      await this.spool.appendMetrics({
        batch_at: new Date(started).toISOString(),
        events: metrics.events,
        alerts: metrics.alerts,
        late_events: metrics.late,
        watermark: metrics.watermark,
        watermark_lag_ms: metrics.watermarkLagMs,
        batch_latency_ms: metrics.batchLatencyMs,
        events_per_second: metrics.eventsPerSecond,
        arrival_lag_ms: metrics.arrivalLagMs,
      });
    }
  }

  /** Sends an alert stamped with its emission; returns its arrival-to-alert latency. */
  private async emit(alert: Alert): Promise<number> {
    const emittedAt = Date.now();
    // alerts pending in a state saved by an older version have no arrival
    const arrived = Date.parse(alert.arrivedAt ?? '');
    const latencyMs = Number.isFinite(arrived) ? emittedAt - arrived : 0;
    await this.options.emit({ ...alert, emittedAt: new Date(emittedAt).toISOString(), latencyMs });
    return latencyMs;
  }

  /** Seals and lands the spool when due (or forced): the state is saved with its sequence first. */
  private async land(force: boolean): Promise<void> {
    const { options, state } = this;
    if (!options.land || !(await this.spool.due(force, options.landEveryMs))) return;
    if (!(await this.spool.seal(++state.spoolSequence))) return;
    await saveState(this.lake, state);
    await this.spool.landSealed();
    this.totals.landedFiles++;
  }
}

/** A processed batch's metrics (latencies: its alerts', arrival to emission). */
function batchMetrics(
  batch: TakenBatch,
  result: BatchResult,
  rejected: number,
  latencies: number[],
  done: number,
): BatchMetrics {
  const events = batch.normalized.events.length;
  const elapsed = done - batch.started;
  let oldestArrival = Number.POSITIVE_INFINITY;
  for (const line of batch.lines) if (line.arrivedAt < oldestArrival) oldestArrival = line.arrivedAt;
  latencies.sort((a, b) => a - b);
  const hasWatermark = result.watermark > -8e15;
  return {
    events,
    rejected,
    alerts: result.alerts.length,
    late: result.late.length,
    watermark: hasWatermark ? new Date(result.watermark).toISOString() : null,
    watermarkLagMs: hasWatermark ? done - result.watermark : null,
    batchLatencyMs: elapsed,
    arrivalLagMs: Number.isFinite(oldestArrival) ? done - oldestArrival : null,
    alertLatencyP95Ms: latencies.length > 0 ? latencies[Math.floor(latencies.length * 0.95)]! : null,
    alertLatencyMaxMs: latencies.at(-1) ?? null,
    eventsPerSecond: elapsed > 0 ? Math.round((events / elapsed) * 1000) : events,
  };
}

export type { Alert };

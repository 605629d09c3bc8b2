import { isbot } from 'isbot';
import { DuckDb } from '../engine/duckdb.js';
import { loadSql } from '../engine/sql-files.js';
import type { StreamEvent } from './fraud-windows.js';

/** One input line of a micro-batch: where it came from, and when it arrived (epoch ms). */
export interface BatchLine {
  readonly source: string;
  readonly line: number;
  readonly raw: string;
  readonly arrivedAt: number;
}

/** A line the staging rules refuse: the same field and reason as ingest's quarantine. */
export interface RejectedLine {
  readonly source: string;
  readonly line: number;
  readonly field: string;
  readonly reason: string;
}

export interface NormalizedBatch {
  /** Accepted events, in input order, with their line. */
  readonly events: StreamEvent[];
  /** The raw text of each accepted event, same order. */
  readonly accepted: string[];
  readonly rejected: RejectedLine[];
}

export interface NormalizerOptions {
  readonly maxFutureHours: number;
  readonly minEventDate: string;
}

/** The staging parameters of sql/ingest/stage_events.sql for a batch staged at `now`. */
export function stagingParams(now: Date, options: NormalizerOptions): Record<string, string> {
  return {
    ingested_at: now.toISOString(),
    min_event_time: `${options.minEventDate} 00:00:00+00`,
    max_event_time: new Date(now.getTime() + options.maxFutureHours * 3600_000).toISOString(),
  };
}

const BOT_CACHE_LIMIT = 100_000;

/**
 * The micro-batch's event normalizer: the batch staging SQL (sql/ingest/stage_events.sql, the one
 * ingest runs) over each batch's lines in a private in-memory DuckDB, then sql/stream/live_events.sql
 * for the fraud fields (the marts' event_value macro). One event model by construction: a field
 * batch ingest reads one way cannot be read another way live. Bots are classified with the same
 * `isbot` library the marts use, once per distinct user agent.
 */
export class EventNormalizer {
  private readonly bots = new Map<string, boolean>();

  private constructor(
    private readonly db: DuckDb,
    private readonly options: NormalizerOptions,
  ) {}

  static async open(options: NormalizerOptions): Promise<EventNormalizer> {
    // one thread: the batch is small and the process also reads input and emits alerts
    const db = await DuckDb.open({ threads: 1 });
    await db.run(loadSql('macros/event_value'));
    return new EventNormalizer(db, options);
  }

  /** Stages the lines: the typed rows of stage_events, all columns, as ingest stages them. */
  async stage(lines: readonly BatchLine[], now = new Date()): Promise<Record<string, unknown>[]> {
    await this.load(lines);
    try {
      const rows = await this.db.all(
        `SELECT * FROM (${loadSql('ingest/stage_events')}) ORDER BY source_line`,
        stagingParams(now, this.options),
      );
      // source_line is the position in the batch: give back the line's own number
      return rows.map((row) => ({ ...row, source_line: lines[Number(row.source_line) - 1]!.line }));
    } finally {
      await this.db.run('DROP TABLE __ingest_lines');
    }
  }

  /** The batch's events as the fraud windows read them, and the lines staging refused. */
  async normalize(lines: readonly BatchLine[], now = new Date()): Promise<NormalizedBatch> {
    const events: StreamEvent[] = [];
    const accepted: string[] = [];
    const rejected: RejectedLine[] = [];
    if (lines.length === 0) return { events, accepted, rejected };
    await this.load(lines);
    let columns: Record<string, unknown[]>;
    try {
      const reader = await this.db.connection.runAndReadAll(
        `WITH __staged_events AS (${loadSql('ingest/stage_events')}) ${loadSql('stream/live_events')}`,
        stagingParams(now, this.options),
      );
      columns = reader.getColumnsObjectJS() as Record<string, unknown[]>;
    } finally {
      await this.db.run('DROP TABLE __ingest_lines');
    }
    const col = <T>(name: string) => (columns[name] ?? []) as T[];
    const lineIndex = col<number>('source_line');
    const reasons = col<string | null>('error_reason');
    const fields = col<string | null>('error_field');
    const ids = col<string>('event_id');
    const users = col<string>('user_id');
    const types = col<string>('event_type');
    const times = col<number>('event_time_ms');
    const ips = col<string | null>('ip');
    const agents = col<string | null>('user_agent');
    const quantities = col<number | null>('quantity');
    const carts = col<number | null>('cart_value');
    const currencies = col<string | null>('currency');
    const values = col<number>('fraud_value');
    for (let i = 0; i < lineIndex.length; i++) {
      // source_line is the 1-based position in this batch (see load)
      const input = lines[Number(lineIndex[i]) - 1]!;
      if (reasons[i] !== null && reasons[i] !== undefined) {
        rejected.push({
          source: input.source,
          line: input.line,
          field: fields[i] ?? 'record',
          reason: reasons[i]!,
        });
        continue;
      }
      const userAgent = agents[i] ?? null;
      events.push({
        eventId: ids[i]!,
        userId: users[i]!,
        eventTime: times[i]!,
        eventType: types[i]!,
        ip: ips[i] ?? null,
        value: values[i] ?? 0,
        quantity: quantities[i] ?? null,
        cartValue: carts[i] ?? null,
        currency: currencies[i] ?? null,
        userAgent,
        isBot: userAgent !== null && this.isBot(userAgent),
        arrivedAt: input.arrivedAt,
      });
      accepted.push(input.raw);
    }
    return { events, accepted, rejected };
  }

  close(): void {
    this.db.close();
  }

  /** Appends the lines as __ingest_lines(source_file, line_number, raw), numbered 1.. in the batch. */
  private async load(lines: readonly BatchLine[]): Promise<void> {
    await this.db.run(
      'CREATE OR REPLACE TEMP TABLE __ingest_lines (source_file VARCHAR, line_number BIGINT, raw VARCHAR)',
    );
    const appender = await this.db.connection.createAppender('__ingest_lines', 'main', 'temp');
    try {
      let n = 0n;
      for (const line of lines) {
        appender.appendVarchar(line.source);
        appender.appendBigInt(++n);
        appender.appendVarchar(line.raw);
        appender.endRow();
      }
    } finally {
      appender.closeSync();
    }
  }

  private isBot(userAgent: string): boolean {
    let bot = this.bots.get(userAgent);
    if (bot === undefined) {
      bot = isbot(userAgent);
      if (this.bots.size >= BOT_CACHE_LIMIT) this.bots.clear();
      this.bots.set(userAgent, bot);
    }
    return bot;
  }
}

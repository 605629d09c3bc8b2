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

/** Distinct user agents kept classified in __live_agents before it is emptied. */
const AGENT_LIMIT = 100_000;

/**
 * The micro-batch's event normalizer: the batch staging SQL (sql/ingest/stage_events.sql, the one
 * ingest runs) over each batch's lines in a private in-memory DuckDB, then sql/stream/live_events.sql
 * for the fraud fields (the marts' event_value macro). One event model by construction: a field
 * batch ingest reads one way cannot be read another way live. Bots are classified with the same
 * `isbot` library the marts use, once per distinct user agent (kept in a temp table, so known
 * human agents are never handed back from DuckDB).
 */
export class EventNormalizer {
  private agentCount = 0;

  private constructor(
    private readonly db: DuckDb,
    private readonly options: NormalizerOptions,
  ) {}

  static async open(options: NormalizerOptions): Promise<EventNormalizer> {
    // one thread: the batch is small and the process also reads input and emits alerts
    const db = await DuckDb.open({ threads: 1 });
    await db.run(loadSql('macros/event_value'));
    await db.run('CREATE TEMP TABLE __live_agents (user_agent VARCHAR, is_bot BOOLEAN)');
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
    const positions = col<number>('source_line');
    const problems = col<string | null>('problem');
    const ids = col<string>('event_id');
    const users = col<string>('user_id');
    const types = col<string>('event_type');
    const times = col<number>('event_time_ms');
    const ips = col<string | null>('ip');
    const agents = col<string | null>('user_agent');
    const knownBots = col<boolean | null>('is_bot');
    const quantities = col<number | null>('quantity');
    const carts = col<number | null>('cart_value');
    const currencies = col<string | null>('currency');
    const values = col<number>('fraud_value');
    // rows come back in any order: put each at its line's position, then keep input order
    const byPosition: (StreamEvent | undefined)[] = new Array(lines.length);
    const rejectedAt: (RejectedLine | undefined)[] = new Array(lines.length);
    const newAgents = new Map<string, boolean>();
    for (let i = 0; i < positions.length; i++) {
      const position = Number(positions[i]) - 1;
      const input = lines[position]!;
      const problem = problems[i];
      if (problem !== null && problem !== undefined) {
        const bar = problem.indexOf('|');
        rejectedAt[position] = {
          source: input.source,
          line: input.line,
          field: problem.slice(0, bar),
          reason: problem.slice(bar + 1),
        };
        continue;
      }
      const userAgent = agents[i] ?? null;
      let isBot = knownBots[i] ?? null;
      if (isBot === null && userAgent !== null) {
        isBot = newAgents.get(userAgent) ?? isbot(userAgent);
        newAgents.set(userAgent, isBot);
      }
      byPosition[position] = {
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
        isBot: isBot === true,
        arrivedAt: input.arrivedAt,
      };
    }
    for (let position = 0; position < lines.length; position++) {
      const event = byPosition[position];
      if (event !== undefined) {
        events.push(event);
        accepted.push(lines[position]!.raw);
      }
      const refused = rejectedAt[position];
      if (refused !== undefined) rejected.push(refused);
    }
    await this.rememberAgents(newAgents);
    return { events, accepted, rejected };
  }

  close(): void {
    this.db.close();
  }

  /** Adds newly classified user agents to __live_agents (emptied when it grows past the limit). */
  private async rememberAgents(agents: ReadonlyMap<string, boolean>): Promise<void> {
    if (agents.size === 0) return;
    this.agentCount += agents.size;
    if (this.agentCount > AGENT_LIMIT) {
      await this.db.run('DELETE FROM __live_agents');
      this.agentCount = agents.size;
    }
    const appender = await this.db.connection.createAppender('__live_agents', 'main', 'temp');
    try {
      for (const [agent, bot] of agents) {
        appender.appendVarchar(agent);
        appender.appendBoolean(bot);
        appender.endRow();
      }
    } finally {
      appender.closeSync();
    }
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
}

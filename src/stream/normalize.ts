import { isbot } from 'isbot';
import type { Config } from '../config/config-schema.js';
import { DuckDb } from '../engine/duckdb.js';
import { loadSql } from '../engine/sql-files.js';
import { stageEventsSql, stagingParams } from '../ingest/staging-sql.js';
import { type CurrencySetup, installCurrencyRates } from '../transforms/currency-rates.js';
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
  /** The last cart state per user and currency this batch leaves (see CartStates). */
  readonly carts: CartStates;
}

/**
 * Each user's last cart state per currency: `${currency}:${user_id}` -> [cart state, event time (epoch
 * ms), event id]. The previous cart of the marts' value at risk, carried from batch to batch (and
 * saved with the window state, so a restart keeps it).
 */
export type CartStates = Record<string, [number, number, string]>;

/** The marts' money settings the live value at risk uses (the same config keys). */
export interface MoneySettings {
  readonly sessionTimeoutMinutes: number;
  readonly currency: Config['marts']['currency'];
}

export interface NormalizerOptions {
  readonly maxFutureHours: number;
  readonly minEventDate: string;
  /** DuckDB threads of the normalizer (default 1). */
  readonly threads?: number;
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
    private readonly moneyParams: Record<string, string>,
  ) {}

  /**
   * `money`: the marts' settings (rates file, reporting currency, session timeout; defaults when
   * absent); `carts`: the cart states saved by an earlier run.
   */
  static async open(
    options: NormalizerOptions,
    money: MoneySettings = { sessionTimeoutMinutes: 30, currency: { default: 'USD' } },
    carts: CartStates = {},
  ): Promise<EventNormalizer> {
    // one thread: the batch is small and the process also reads input and emits alerts
    const db = await DuckDb.open({ threads: options.threads ?? 1 });
    try {
      await db.run(loadSql('macros/event_value'));
      await db.run('CREATE TEMP TABLE __live_agents (user_agent VARCHAR, is_bot BOOLEAN)');
      const currency: CurrencySetup = await installCurrencyRates(db, money.currency);
      await db.run(
        `CREATE TEMP TABLE __live_carts (user_id VARCHAR, currency VARCHAR, event_time TIMESTAMPTZ, event_id VARCHAR,
                                         cart_state DECIMAL(18, 2))`,
      );
      const normalizer = new EventNormalizer(db, options, {
        default_currency: currency.defaultCurrency,
        reporting_currency: currency.reportingCurrency,
        convert_currencies: String(currency.mode === 'converted'),
        session_timeout_minutes: String(money.sessionTimeoutMinutes),
      });
      await normalizer.storeCarts(carts);
      return normalizer;
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /** Forgets the cart states older than `cutoffMs` (they can only precede events too late to count). */
  async pruneCarts(cutoffMs: number): Promise<void> {
    // rebuilt, not deleted from: deleted rows of an in-memory table are kept and scanned
    await this.db.run(
      `CREATE OR REPLACE TEMP TABLE __live_carts AS
       SELECT * FROM __live_carts WHERE event_time >= CAST(make_timestamp(CAST($1 AS BIGINT) * 1000) AS TIMESTAMPTZ)`,
      [String(Math.floor(cutoffMs))],
    );
  }

  /** Stages the lines: the typed rows of stage_events, all columns, as ingest stages them. */
  async stage(lines: readonly BatchLine[], now = new Date()): Promise<Record<string, unknown>[]> {
    await this.load(lines);
    try {
      const rows = await this.db.all(
        `SELECT * FROM (${await stageEventsSql(this.db)}) ORDER BY source_line`,
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
    const carts: CartStates = {};
    if (lines.length === 0) return { events, accepted, rejected, carts };
    await this.load(lines);
    let columns: Record<string, unknown[]>;
    try {
      // live_events.sql begins with its own WITH: the staged events are one more CTE before it
      const reader = await this.db.connection.runAndReadAll(
        `WITH __staged_events AS MATERIALIZED (${await stageEventsSql(this.db)}), ${loadSql('stream/live_events').replace(/^(\s*--.*\n)*\s*WITH\s/, '')}`,
        { ...stagingParams(now, this.options), ...this.moneyParams },
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
    const cartColumn = col<number | null>('cart_value');
    const currencies = col<string | null>('currency');
    const values = col<number>('fraud_value');
    const cartStates = col<number | null>('cart_state');
    const cartCurrencies = col<string | null>('cart_currency');
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
      const cartState = cartStates[i];
      if (cartState !== null && cartState !== undefined) {
        // the latest state by (event time, event id), as the marts order the events
        const key = `${cartCurrencies[i]}:${users[i]}`;
        const known = carts[key];
        const time = times[i]!;
        if (known === undefined || time > known[1] || (time === known[1] && ids[i]! > known[2]))
          carts[key] = [cartState, time, ids[i]!];
      }
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
        cartValue: cartColumn[i] ?? null,
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
    await this.storeCarts(carts);
    return { events, accepted, rejected, carts };
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

  /** Upserts cart states into __live_carts (the previous carts the next batches read). */
  private async storeCarts(carts: CartStates): Promise<void> {
    const keys = Object.keys(carts);
    if (keys.length === 0) return;
    await this.db.run(
      'CREATE OR REPLACE TEMP TABLE __live_carts_new (user_id VARCHAR, currency VARCHAR, event_ms DOUBLE, event_id VARCHAR, cart_state DOUBLE)',
    );
    const appender = await this.db.connection.createAppender('__live_carts_new', 'main', 'temp');
    try {
      for (const key of keys) {
        const [state, time, id] = carts[key]!;
        appender.appendVarchar(key.slice(key.indexOf(':') + 1));
        appender.appendVarchar(key.slice(0, key.indexOf(':')));
        appender.appendDouble(time);
        appender.appendVarchar(id);
        appender.appendDouble(state);
        appender.endRow();
      }
    } finally {
      appender.closeSync();
    }
    // the latest state per user and currency (a carried one later than the batch's, from
    // out-of-order events, is kept); rebuilt rather than upserted (deleted rows of an in-memory
    // table are kept and scanned: that slowed every batch down under load), with hash joins, not a
    // sort of every user's state
    await this.db.run(
      `CREATE OR REPLACE TEMP TABLE __live_carts_new AS
       SELECT user_id, currency, CAST(make_timestamp(CAST(event_ms AS BIGINT) * 1000) AS TIMESTAMPTZ) AS event_time,
              event_id, CAST(cart_state AS DECIMAL(18, 2)) AS cart_state
       FROM __live_carts_new`,
    );
    await this.db.run(
      `CREATE OR REPLACE TEMP TABLE __live_carts AS
       SELECT c.* FROM __live_carts AS c
       ANTI JOIN __live_carts_new AS n
           ON n.user_id = c.user_id AND n.currency = c.currency AND (n.event_time, n.event_id) > (c.event_time, c.event_id)
       UNION ALL
       SELECT n.* FROM __live_carts_new AS n
       ANTI JOIN __live_carts AS c
           ON c.user_id = n.user_id AND c.currency = n.currency AND (c.event_time, c.event_id) >= (n.event_time, n.event_id)`,
    );
    await this.db.run('DROP TABLE __live_carts_new');
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

/** Merges a batch's cart states into `into`, keeping per key the latest by (event time, event id). */
export function mergeCarts(into: CartStates, from: CartStates): void {
  for (const key in from) {
    const next = from[key]!;
    const known = into[key];
    if (known === undefined || next[1] > known[1] || (next[1] === known[1] && next[2] > known[2]))
      into[key] = next;
  }
}

/** Drops the cart states older than `cutoffMs` from `carts`. */
export function pruneCartStates(carts: CartStates, cutoffMs: number): void {
  for (const key in carts) if (carts[key]![1] < cutoffMs) delete carts[key];
}

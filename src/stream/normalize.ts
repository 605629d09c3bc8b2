import type { DuckDBDataChunk, DuckDBPreparedStatement, DuckDBResult } from '@duckdb/node-api';
import { isbot } from 'isbot';
import type { Config } from '../config/config-schema.js';
import { DuckDb, quoteIdent } from '../engine/duckdb.js';
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
/** Deleted rows __live_carts may hold (replaced or pruned states) before it is rebuilt without them. */
const DEAD_CART_ROWS = 20_000;

/**
 * The micro-batch's event normalizer: the batch staging SQL (sql/ingest/stage_events.sql, the one
 * ingest runs) over each batch's lines in a private in-memory DuckDB, then sql/stream/live_events.sql
 * for the fraud fields (the marts' event_value macro). One event model by construction: a field
 * batch ingest reads one way cannot be read another way live. Bots are classified with the same
 * `isbot` library the marts use, once per distinct user agent (kept in a temp table, so known
 * human agents are never handed back from DuckDB).
 *
 * Per batch it runs one prepared query and a few prepared statements: every table it uses is
 * created once at open and emptied with DELETE, never re-created (a catalog change would make
 * DuckDB plan the 300-line query again, a fixed cost per batch as large as staging the lines).
 */
export class EventNormalizer {
  private agentCount = 0;
  /** Rows deleted from __live_carts since it was last rebuilt (an in-memory table keeps and scans them). */
  private deadCartRows = 0;
  /** The last operation on the connection: each starts after it (see exclusive()). */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly db: DuckDb,
    private readonly options: NormalizerOptions,
    private readonly moneyParams: Record<string, string>,
    private readonly stagingSql: string,
    private readonly statements: LiveStatements,
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
      // The live statements are planned once, at open, when their tables are empty: the
      // statistics optimizer would plan from that (a join with an empty table becomes an empty
      // result, for good). Off in this private database: plans never depend on the data in it.
      await db.run("SET disabled_optimizers = 'statistics_propagation'");
      await db.run(loadSql('macros/event_value'));
      // the staging macros, once: re-creating them per batch would change the catalog every batch
      const stagingSql = await stageEventsSql(db);
      await db.run('CREATE TEMP TABLE __live_agents (user_agent VARCHAR, is_bot BOOLEAN)');
      const currency: CurrencySetup = await installCurrencyRates(db, money.currency);
      await db.run(
        `CREATE TEMP TABLE __live_carts (user_id VARCHAR, currency VARCHAR, event_time TIMESTAMPTZ, event_id VARCHAR,
                                         cart_state DECIMAL(18, 2))`,
      );
      await db.run(
        'CREATE TEMP TABLE __live_carts_new (user_id VARCHAR, currency VARCHAR, event_ms DOUBLE, event_id VARCHAR, cart_state DOUBLE)',
      );
      // the batch's lines, as stage_events reads them (__ingest_lines); the source of each line is
      // kept in JS (a column of the same text on every row would be appended line by line)
      await db.run('CREATE TEMP TABLE __live_lines (line_number INTEGER, raw VARCHAR)');
      await db.run(
        "CREATE TEMP VIEW __ingest_lines AS SELECT '' AS source_file, line_number, raw FROM __live_lines",
      );
      const statements = await prepareStatements(db, stagingSql);
      const normalizer = new EventNormalizer(
        db,
        options,
        {
          default_currency: currency.defaultCurrency,
          reporting_currency: currency.reportingCurrency,
          convert_currencies: String(currency.mode === 'converted'),
          session_timeout_minutes: String(money.sessionTimeoutMinutes),
        },
        stagingSql,
        statements,
      );
      await normalizer.storeCarts(carts);
      return normalizer;
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /** Forgets the cart states older than `cutoffMs` (they can only precede events too late to count). */
  async pruneCarts(cutoffMs: number): Promise<void> {
    return this.exclusive(() => this.pruneCartsNow(cutoffMs));
  }

  private async pruneCartsNow(cutoffMs: number): Promise<void> {
    const { statements } = this;
    statements.pruneCarts.bind([String(Math.floor(cutoffMs))]);
    this.deadCartRows += Number((await statements.pruneCarts.run()).rowsChanged);
    await this.compactCarts();
  }

  /** Stages the lines: the typed rows of stage_events, all columns, as ingest stages them. */
  async stage(lines: readonly BatchLine[], now = new Date()): Promise<Record<string, unknown>[]> {
    return this.exclusive(() => this.stageNow(lines, now));
  }

  private async stageNow(lines: readonly BatchLine[], now: Date): Promise<Record<string, unknown>[]> {
    await this.load(lines);
    try {
      const rows = await this.db.all(
        `SELECT * FROM (${this.stagingSql}) ORDER BY source_line`,
        stagingParams(now, this.options),
      );
      // source_line is the position in the batch: give back the line's own source and number
      return rows.map((row) => {
        const line = lines[Number(row.source_line) - 1]!;
        return { ...row, source_file: line.source, source_line: line.line };
      });
    } finally {
      await this.statements.clearLines.run();
    }
  }

  /** The batch's events as the fraud windows read them, and the lines staging refused. */
  async normalize(lines: readonly BatchLine[], now = new Date()): Promise<NormalizedBatch> {
    return this.exclusive(() => this.normalizeNow(lines, now));
  }

  private async normalizeNow(lines: readonly BatchLine[], now: Date): Promise<NormalizedBatch> {
    const events: StreamEvent[] = [];
    const accepted: string[] = [];
    const rejected: RejectedLine[] = [];
    const carts: CartStates = {};
    if (lines.length === 0) return { events, accepted, rejected, carts };
    await this.load(lines);
    let chunks: DuckDBDataChunk[];
    try {
      const { live, setParams } = this.statements;
      setParams.bind({ ...stagingParams(now, this.options), ...this.moneyParams });
      await setParams.run();
      chunks = await readChunks(await live.run());
    } finally {
      await this.statements.clearLines.run();
    }
    // rows come back in any order: put each at its line's position, then keep input order
    const byPosition: (StreamEvent | undefined)[] = new Array(lines.length);
    const rejectedAt: (RejectedLine | undefined)[] = new Array(lines.length);
    const newAgents = new Map<string, boolean>();
    for (const chunk of chunks) {
      // the columns of live_events.sql, in its SELECT order, read straight from the vectors
      const [
        positions,
        ids,
        users,
        types,
        times,
        ips,
        agents,
        knownBots,
        quantities,
        cartColumn,
        currencies,
        values,
        ,
        cartStates,
        cartCurrencies,
        problems,
      ] = LIVE_COLUMNS.map((_, c) => chunk.getColumnVector(c));
      for (let i = 0; i < chunk.rowCount; i++) {
        const position = (positions!.getItem(i) as number) - 1;
        const input = lines[position]!;
        const problem = problems!.getItem(i) as string | null;
        if (problem !== null) {
          const bar = problem.indexOf('|');
          rejectedAt[position] = {
            source: input.source,
            line: input.line,
            field: problem.slice(0, bar),
            reason: problem.slice(bar + 1),
          };
          continue;
        }
        const id = ids!.getItem(i) as string;
        const user = users!.getItem(i) as string;
        const time = times!.getItem(i) as number;
        const userAgent = agents!.getItem(i) as string | null;
        const cartState = cartStates!.getItem(i) as number | null;
        if (cartState !== null) {
          // the latest state by (event time, event id), as the marts order the events
          const key = `${cartCurrencies!.getItem(i) as string | null}:${user}`;
          const known = carts[key];
          if (known === undefined || time > known[1] || (time === known[1] && id > known[2]))
            carts[key] = [cartState, time, id];
        }
        let isBot = knownBots!.getItem(i) as boolean | null;
        if (isBot === null && userAgent !== null) {
          isBot = newAgents.get(userAgent) ?? isbot(userAgent);
          newAgents.set(userAgent, isBot);
        }
        byPosition[position] = {
          eventId: id,
          userId: user,
          eventTime: time,
          eventType: types!.getItem(i) as string,
          ip: ips!.getItem(i) as string | null,
          value: (values!.getItem(i) as number | null) ?? 0,
          quantity: quantities!.getItem(i) as number | null,
          cartValue: cartColumn!.getItem(i) as number | null,
          currency: currencies!.getItem(i) as string | null,
          userAgent,
          isBot: isBot === true,
          arrivedAt: input.arrivedAt,
        };
      }
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

  /**
   * Runs `operation` once the previous one is done. The loop prunes the carts of one batch while
   * it stages the next (prefetched): two statements, or an appender and a statement, at once on
   * one connection fail ("closed pending query result").
   */
  private exclusive<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.queue.then(operation, operation);
    this.queue = result.catch(() => undefined);
    return result;
  }

  close(): void {
    for (const statement of Object.values(this.statements)) statement.destroySync();
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
    // out-of-order events, is kept): the carried states a batch's replace are deleted, the batch's
    // that are not older than a carried one inserted
    const { statements } = this;
    this.deadCartRows += Number((await statements.replaceCarts.run()).rowsChanged);
    await statements.insertCarts.run();
    await statements.clearNewCarts.run();
    await this.compactCarts();
  }

  /**
   * Rebuilds __live_carts without its deleted rows once there are many (deleted rows of an
   * in-memory table are kept and scanned: upserts in place slowed every batch down under load).
   * A rare catalog change: the live query is planned again once after it.
   */
  private async compactCarts(): Promise<void> {
    if (this.deadCartRows < DEAD_CART_ROWS) return;
    await this.db.run('CREATE OR REPLACE TEMP TABLE __live_carts AS SELECT * FROM __live_carts');
    this.deadCartRows = 0;
  }

  /** Appends the lines as __live_lines(line_number, raw), numbered 1.. in the batch. */
  private async load(lines: readonly BatchLine[]): Promise<void> {
    const appender = await this.db.connection.createAppender('__live_lines', 'main', 'temp');
    try {
      for (let n = 0; n < lines.length; n++) {
        appender.appendInteger(n + 1);
        appender.appendVarchar(lines[n]!.raw);
        appender.endRow();
      }
    } finally {
      appender.closeSync();
    }
  }
}

/** The columns live_events.sql returns, in order (normalize() reads them by position). */
const LIVE_COLUMNS = [
  'source_line',
  'event_id',
  'user_id',
  'event_type',
  'event_time_ms',
  'ip',
  'user_agent',
  'is_bot',
  'quantity',
  'cart_value',
  'currency',
  'fraud_value',
  'unconverted',
  'cart_state',
  'cart_currency',
  'problem',
] as const;

interface LiveStatements {
  /** stage_events + live_events over the batch's lines, its parameters read from __live_params. */
  readonly live: DuckDBPreparedStatement;
  /** Sets the batch's parameters in __live_params (named as the SQL files name them). */
  readonly setParams: DuckDBPreparedStatement;
  readonly clearLines: DuckDBPreparedStatement;
  readonly replaceCarts: DuckDBPreparedStatement;
  readonly insertCarts: DuckDBPreparedStatement;
  readonly clearNewCarts: DuckDBPreparedStatement;
  readonly pruneCarts: DuckDBPreparedStatement;
}

/**
 * Prepares, once, every statement a batch runs. DuckDB plans a statement with parameters again at
 * every run (with their values; for the 300-line live query that costs more than staging a few
 * thousand lines), so the live query takes its parameters from a one-row table, __live_params,
 * which setParams fills with the same bound values: each `$name` of the SQL files is read as
 * `(SELECT name FROM __live_params)`, a column of the type DuckDB inferred for the parameter.
 */
async function prepareStatements(db: DuckDb, stagingSql: string): Promise<LiveStatements> {
  const connection = db.connection;
  // live_events.sql begins with its own WITH: the staged events are one more CTE before it
  const parameterized = `WITH __staged_events AS MATERIALIZED (${stagingSql}), ${loadSql('stream/live_events').replace(/^(\s*--.*\n)*\s*WITH\s/, '')}`;
  const probe = await connection.prepare(parameterized);
  const names: string[] = [];
  const columns: string[] = [];
  try {
    const returned = Array.from({ length: probe.columnCount }, (_, c) => probe.columnName(c));
    if (returned.join() !== LIVE_COLUMNS.join())
      throw new Error(
        `sql/stream/live_events.sql returns ${returned.join(', ')}; normalize() reads ${LIVE_COLUMNS.join(', ')}`,
      );
    for (let i = 1; i <= probe.parameterCount; i++) {
      const name = probe.parameterName(i);
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`live query parameter not a plain name: ${name}`);
      names.push(name);
      columns.push(`${quoteIdent(name)} ${probe.parameterType(i).toString()}`);
    }
  } finally {
    probe.destroySync();
  }
  await db.run(`CREATE TEMP TABLE __live_params (${columns.join(', ')})`);
  await db.run(`INSERT INTO __live_params VALUES (${names.map(() => 'NULL').join(', ')})`);
  const fromTable = parameterized.replace(/\$([a-z_][a-z0-9_]*)\b/g, (text, name: string) =>
    names.includes(name) ? `(SELECT ${quoteIdent(name)} FROM __live_params)` : text,
  );
  const newCarts = `SELECT user_id, currency, CAST(make_timestamp(CAST(event_ms AS BIGINT) * 1000) AS TIMESTAMPTZ) AS event_time,
                           event_id, CAST(cart_state AS DECIMAL(18, 2)) AS cart_state
                    FROM __live_carts_new`;
  return {
    live: await connection.prepare(fromTable),
    setParams: await connection.prepare(
      `UPDATE __live_params SET ${names.map((name) => `${quoteIdent(name)} = $${name}`).join(', ')}`,
    ),
    clearLines: await connection.prepare('DELETE FROM __live_lines'),
    replaceCarts: await connection.prepare(
      `DELETE FROM __live_carts AS c USING (${newCarts}) AS n
       WHERE n.user_id = c.user_id AND n.currency = c.currency AND (n.event_time, n.event_id) > (c.event_time, c.event_id)`,
    ),
    insertCarts: await connection.prepare(
      `INSERT INTO __live_carts
       SELECT n.* FROM (${newCarts}) AS n
       ANTI JOIN __live_carts AS c
           ON c.user_id = n.user_id AND c.currency = n.currency AND (c.event_time, c.event_id) >= (n.event_time, n.event_id)`,
    ),
    clearNewCarts: await connection.prepare('DELETE FROM __live_carts_new'),
    pruneCarts: await connection.prepare(
      'DELETE FROM __live_carts WHERE event_time < CAST(make_timestamp(CAST($1 AS BIGINT) * 1000) AS TIMESTAMPTZ)',
    ),
  };
}

/** Every chunk of a result (its vectors are read directly: no row objects, no converters). */
async function readChunks(result: DuckDBResult): Promise<DuckDBDataChunk[]> {
  const chunks: DuckDBDataChunk[] = [];
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) return chunks;
    chunks.push(chunk);
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

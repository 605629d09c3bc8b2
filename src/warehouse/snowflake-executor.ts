import type snowflake from 'snowflake-sdk';
import { configError, ShopstreamError, unavailableError } from '../errors.js';

/**
 * The plumbing to Snowflake: a promise wrapper over snowflake-sdk's callback API with a timeout
 * that cancels the statement, bound parameters only, and a query tag on the session
 * (`shopstream:<command>:<run id>`) so every statement can be found in QUERY_HISTORY. Meaning
 * (tables, loads) lives in the warehouse built on top of it.
 */
export interface SnowflakeSettings {
  readonly account: string;
  readonly username: string;
  readonly password?: string;
  /** PEM private key for key-pair authentication. */
  readonly privateKey?: string;
  readonly role?: string;
  readonly warehouse?: string;
  readonly database?: string;
  readonly schema?: string;
  /** For Snowflake-compatible endpoints, e.g. a local test server: http(s)://host:port. */
  readonly accessUrl?: string;
  readonly timeoutMs?: number;
}

const TAG = /^[A-Za-z0-9_:.-]{1,200}$/;

export class SnowflakeExecutor {
  private constructor(
    private readonly connection: snowflake.Connection,
    private readonly timeoutMs: number,
  ) {}

  static async connect(settings: SnowflakeSettings, queryTag: string): Promise<SnowflakeExecutor> {
    // Loaded here, not at start-up: only Snowflake runs pay for the driver (and its dependencies).
    const { default: snowflake } = await import('snowflake-sdk');
    // the driver would print its own error lines; failures reach the user through ours
    snowflake.configure({ logLevel: 'OFF' });
    const connection = snowflake.createConnection({
      account: settings.account,
      username: settings.username,
      application: 'shopstream',
      ...(settings.privateKey
        ? { authenticator: 'SNOWFLAKE_JWT', privateKey: settings.privateKey }
        : { password: settings.password ?? '' }),
      ...(settings.role ? { role: settings.role } : {}),
      ...(settings.warehouse ? { warehouse: settings.warehouse } : {}),
      ...(settings.database ? { database: settings.database } : {}),
      ...(settings.schema ? { schema: settings.schema } : {}),
      ...(settings.accessUrl ? { accessUrl: settings.accessUrl } : {}),
    });
    try {
      await new Promise<void>((resolve, reject) =>
        connection.connect((error) => (error ? reject(error) : resolve())),
      );
    } catch (error) {
      throw wrap(error, `connecting to Snowflake account ${settings.account}`);
    }
    const executor = new SnowflakeExecutor(connection, settings.timeoutMs ?? 10 * 60_000);
    if (!TAG.test(queryTag)) throw new Error(`invalid query tag: ${queryTag}`);
    // a session parameter cannot be bound; the tag is checked against a strict pattern above
    await executor.query(`ALTER SESSION SET QUERY_TAG = '${queryTag}'`);
    return executor;
  }

  /** Rows with lower-case keys; `binds` are positional `?` parameters. */
  query<T = Record<string, unknown>>(sqlText: string, binds: readonly unknown[] = []): Promise<T[]> {
    return new Promise<T[]>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const statement = this.connection.execute({
        sqlText,
        binds: binds as snowflake.Binds,
        complete: (error, _statement, rows) => {
          if (timer) clearTimeout(timer);
          if (error) reject(wrap(error, 'a Snowflake statement failed'));
          else resolve((rows ?? []).map((row) => lowerKeys(row as Record<string, unknown>)) as T[]);
        },
      });
      timer = setTimeout(() => {
        statement.cancel(() => undefined);
        reject(
          unavailableError(
            'SNOWFLAKE_TIMEOUT',
            `a Snowflake statement ran longer than ${this.timeoutMs} ms and was cancelled`,
          ),
        );
      }, this.timeoutMs);
    });
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.connection.destroy(() => resolve()));
  }
}

function lowerKeys(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) out[key.toLowerCase()] = value;
  return out;
}

/** Driver errors become ShopstreamErrors with Snowflake's code and SQL state, the driver's as cause. */
function wrap(error: unknown, context: string): ShopstreamError {
  const e = error as { code?: string | number; sqlState?: string; message?: string };
  const code = String(e.code ?? 'UNKNOWN');
  const message = `${context}: ${e.message ?? String(error)}${e.sqlState ? ` (SQL state ${e.sqlState})` : ''}`;
  if (code === '390100' || code === '390144' || code === '390318')
    return configError(`SNOWFLAKE_${code}`, message, { cause: error });
  if (
    /ECONNREFUSED|ENOTFOUND|ETIMEDOUT|socket hang up|Network error/i.test(message) ||
    code.startsWith('4')
  ) {
    return unavailableError(`SNOWFLAKE_${code}`, message, {
      cause: error,
      suggestions: ['check the account, network and Snowflake status, then retry'],
    });
  }
  return new ShopstreamError('data', `SNOWFLAKE_${code}`, message, { cause: error });
}

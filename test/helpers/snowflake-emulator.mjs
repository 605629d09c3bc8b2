// A local endpoint that speaks the part of Snowflake's REST protocol snowflake-sdk uses (login,
// session keep-alive, query-request with JSON results, errors with codes and sqlState), executing
// statements on an in-memory DuckDB. For tests only: it proves our use of the real, unmodified
// driver, not Snowflake's semantics (../shared/docs/snowflake-protocol-notes.md). Session
// statements the product sends (USE, ALTER SESSION) are accepted and recorded.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import zlib from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';

/**
 * @param {{ user?: string, password?: string }} [options]
 * @returns {Promise<{ accessUrl: string, account: string, user: string, password: string, statements: string[], queryTags: string[], stop(): Promise<void> }>}
 */
export async function startSnowflakeEmulator(options = {}) {
  const user = options.user ?? 'tester';
  const password = options.password ?? 'secret';
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  await connection.run("SET TimeZone = 'UTC'");
  const tokens = new Set();
  const statements = [];
  const queryTags = [];

  const reply = (res, body, status = 200) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    let raw = Buffer.concat(chunks);
    if (req.headers['content-encoding'] === 'gzip' && raw.length) raw = zlib.gunzipSync(raw);
    const body = raw.length ? JSON.parse(raw.toString('utf8')) : {};
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/session/v1/login-request') {
      const data = body.data ?? {};
      if (data.LOGIN_NAME !== user || data.PASSWORD !== password) {
        return reply(res, {
          success: false,
          code: '390100',
          message: 'Incorrect username or password was specified.',
          data: null,
        });
      }
      const token = randomUUID();
      tokens.add(token);
      return reply(res, {
        success: true,
        code: null,
        message: null,
        data: {
          token,
          masterToken: randomUUID(),
          validityInSeconds: 3600,
          masterValidityInSeconds: 14400,
          sessionId: Date.now(),
          parameters: [
            { name: 'TIMEZONE', value: 'UTC' },
            { name: 'CLIENT_STAGE_ARRAY_BINDING_THRESHOLD', value: 1000000 },
          ],
          sessionInfo: {
            databaseName: 'SHOPSTREAM',
            schemaName: 'PUBLIC',
            warehouseName: 'WH',
            roleName: 'LOADER',
          },
        },
      });
    }
    const auth = /Snowflake Token="([^"]+)"/.exec(req.headers.authorization ?? '');
    if (!auth || !tokens.has(auth[1]))
      return reply(res, { success: false, code: '390104', message: 'Invalid token', data: null }, 401);
    if (url.pathname === '/session' && url.searchParams.get('delete') === 'true') {
      tokens.delete(auth[1]);
      return reply(res, { success: true, data: null });
    }
    if (
      url.pathname === '/session/heartbeat' ||
      url.pathname === '/telemetry/send' ||
      url.pathname === '/queries/v1/abort-request'
    ) {
      return reply(res, { success: true, data: null });
    }
    if (url.pathname === '/queries/v1/query-request') return reply(res, await execute(body));
    return reply(
      res,
      { success: false, code: '000000', message: `not emulated: ${req.method} ${url.pathname}`, data: null },
      404,
    );
  });

  async function execute(body) {
    const sqlText = String(body.sqlText ?? '').trim();
    statements.push(sqlText);
    const queryId = randomUUID();
    const session =
      /^(USE\s+(WAREHOUSE|DATABASE|SCHEMA|ROLE)\b|ALTER\s+SESSION\s+SET\s+QUERY_TAG\s*=\s*'([^']*)')/i.exec(
        sqlText,
      );
    if (session) {
      if (session[3] !== undefined) queryTags.push(session[3]);
      return result(queryId, [{ name: 'status', type: 'text' }], [['Statement executed successfully.']]);
    }
    const bindings = body.bindings ?? {};
    const values = Object.keys(bindings)
      .sort((a, b) => Number(a) - Number(b))
      .map((k) => bindValue(bindings[k]));
    try {
      const reader = await connection.runAndReadAll(sqlText, values);
      const columns = reader.columnNames();
      const types = reader.columnTypes();
      const rows = reader.getRows();
      const rowtype = columns.map((name, i) => rowType(name, types[i]));
      return result(
        queryId,
        rowtype,
        rows.map((row) => row.map((v, i) => cell(v, types[i]))),
      );
    } catch (error) {
      const message = String(error.message ?? error);
      const code = /Parser Error/.test(message)
        ? '001003'
        : /does not exist|not found/i.test(message)
          ? '002003'
          : /NOT NULL/i.test(message)
            ? '100072'
            : '100000';
      const sqlState =
        code === '001003' ? '42000' : code === '002003' ? '42S02' : code === '100072' ? '22000' : 'P0000';
      return {
        success: false,
        code,
        message: `SQL compilation error: ${message}`,
        data: { queryId, sqlState, errorCode: code },
      };
    }
  }

  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    accessUrl: `http://127.0.0.1:${port}`,
    account: 'emulator',
    user,
    password,
    statements,
    queryTags,
    async stop() {
      await new Promise((resolve) => server.close(() => resolve()));
      connection.closeSync();
      instance.closeSync();
    },
  };
}

function result(queryId, rowtype, rowset) {
  return {
    success: true,
    code: null,
    message: null,
    data: {
      queryId,
      rowtype,
      rowset,
      total: rowset.length,
      returned: rowset.length,
      queryResultFormat: 'json',
      statementTypeId: 4096,
      parameters: [],
    },
  };
}

function bindValue(binding) {
  if (binding.value === null || binding.value === undefined) return null;
  switch (binding.type) {
    case 'FIXED':
      return Number(binding.value);
    case 'REAL':
      return Number(binding.value);
    case 'BOOLEAN':
      return binding.value === 'true' || binding.value === '1' || binding.value === true;
    default:
      return String(binding.value);
  }
}

function rowType(name, type) {
  const id = String(type);
  const base = {
    name: name.toUpperCase(),
    nullable: true,
    length: null,
    byteLength: null,
    precision: null,
    scale: null,
  };
  const decimal = /^DECIMAL\((\d+),(\d+)\)$/.exec(id);
  if (decimal) return { ...base, type: 'fixed', precision: Number(decimal[1]), scale: Number(decimal[2]) };
  if (/^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UBIGINT|UINTEGER)$/.test(id))
    return { ...base, type: 'fixed', precision: 38, scale: 0 };
  if (/^(DOUBLE|FLOAT)$/.test(id)) return { ...base, type: 'real' };
  if (id === 'BOOLEAN') return { ...base, type: 'boolean' };
  if (id === 'DATE') return { ...base, type: 'date' };
  if (/^TIMESTAMP/.test(id)) return { ...base, type: 'timestamp_ltz', scale: 9 };
  if (id.endsWith('[]')) return { ...base, type: 'array' };
  return { ...base, type: 'text', length: 16777216, byteLength: 16777216 };
}

function cell(value, type) {
  if (value === null || value === undefined) return null;
  const id = String(type);
  if (id === 'BOOLEAN') return value ? '1' : '0';
  if (id === 'DATE') return String(Math.round(Date.parse(`${value.toString()}T00:00:00Z`) / 86_400_000));
  if (/^TIMESTAMP/.test(id)) {
    const micros = BigInt(value.micros);
    const seconds = micros / 1_000_000n;
    const fraction = (micros % 1_000_000n).toString().padStart(6, '0');
    return `${seconds}.${fraction}000`;
  }
  if (id.endsWith('[]')) return JSON.stringify(value.items ?? value);
  return value.toString();
}

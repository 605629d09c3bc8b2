// A local endpoint that speaks the part of Snowflake's REST protocol snowflake-sdk uses (login,
// session keep-alive, query-request with JSON results, errors with codes and sqlState), executing
// statements on an in-memory DuckDB. For tests only: it proves our use of the real, unmodified
// driver, not Snowflake's semantics (../shared/docs/snowflake-protocol-notes.md). Session
// statements the product sends (USE, ALTER SESSION) are accepted and recorded.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';

/**
 * External stages (`@NAME/...`) map to an S3-compatible server: `externalStages: { NAME: { endpoint,
 * bucket, prefix } }`, as a storage integration would.
 * @param {{ user?: string, password?: string, externalStages?: Record<string, { endpoint: string, bucket: string, prefix?: string }> }} [options]
 * @returns {Promise<{ accessUrl: string, account: string, user: string, password: string, statements: string[], queryTags: string[], stop(): Promise<void> }>}
 */
export async function startSnowflakeEmulator(options = {}) {
  const user = options.user ?? 'tester';
  const password = options.password ?? 'secret';
  const instance = await DuckDBInstance.create(':memory:');
  const stageRoot = mkdtempSync(path.join(os.tmpdir(), 'snowflake-stage-'));
  /** token -> the session's own DuckDB connection (its own transaction) */
  const sessions = new Map();
  const tokens = {
    has: (t) => sessions.has(t),
    delete: (t) => {
      sessions.get(t)?.closeSync();
      sessions.delete(t);
    },
  };
  const statements = [];
  const queryTags = [];
  const traffic = { requestBytes: 0, stagedBytes: 0 };

  const reply = (res, body, status = 200) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    let raw = Buffer.concat(chunks);
    traffic.requestBytes += raw.length;
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
      // A client that died leaves its session open; Snowflake aborts such a session's transaction when
      // the session ends. Here a new login ends the others (tests run one client at a time).
      for (const [other, conn] of sessions) {
        await conn.run('ROLLBACK').catch(() => undefined);
        conn.closeSync();
        sessions.delete(other);
      }
      const token = randomUUID();
      const conn = await instance.connect();
      await conn.run("SET TimeZone = 'UTC'");
      sessions.set(token, conn);
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
    if (url.pathname === '/queries/v1/query-request')
      return reply(res, await execute(body, sessions.get(auth[1])));
    return reply(
      res,
      { success: false, code: '000000', message: `not emulated: ${req.method} ${url.pathname}`, data: null },
      404,
    );
  });

  async function execute(body, connection) {
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
    const put = /^PUT\s+'?file:\/\/([^'\s]+)'?\s+@~\/(\S+?)\/?(\s|$)/i.exec(sqlText);
    if (put) {
      for (const file of expandWildcard(put[1])) traffic.stagedBytes += statSync(file).size;
      const compression =
        /SOURCE_COMPRESSION\s*=\s*(\w+)/i.exec(sqlText)?.[1]?.toLowerCase() ?? 'auto_detect';
      return {
        success: true,
        data: {
          queryId,
          command: 'UPLOAD',
          src_locations: [put[1]],
          autoCompress: !/AUTO_COMPRESS\s*=\s*FALSE/i.test(sqlText),
          sourceCompression: compression,
          overwrite: /OVERWRITE\s*=\s*TRUE/i.test(sqlText),
          parallel: 1,
          stageInfo: {
            locationType: 'LOCAL_FS',
            location: path.join(stageRoot, put[2]),
            path: `${put[2]}/`,
            region: null,
            creds: {},
          },
          rowtype: [],
          rowset: [],
        },
      };
    }
    const remove = /^REMOVE\s+@~\/(\S+)/i.exec(sqlText);
    if (remove) {
      rmSync(path.join(stageRoot, remove[1]), { recursive: true, force: true });
      return result(queryId, [{ name: 'name', type: 'text' }], [[remove[1]]]);
    }
    const external =
      /^COPY\s+INTO\s+(\w+)\s+FROM\s+@([A-Za-z_][\w.$]*)\/(\S+?)\/?\s+FILES\s*=\s*\(([^)]*)\)/i.exec(sqlText);
    let translated;
    if (external && options.externalStages?.[external[2]]) {
      const stage = options.externalStages[external[2]];
      const client = new S3Client({ endpoint: stage.endpoint, forcePathStyle: true, region: 'us-east-1' });
      const local = [];
      for (const name of external[4]
        .split(',')
        .map((f) => f.trim().replace(/^'|'$/g, ''))
        .filter(Boolean)) {
        const key = [stage.prefix, external[3], name].filter(Boolean).join('/');
        try {
          const object = await client.send(new GetObjectCommand({ Bucket: stage.bucket, Key: key }));
          const file = path.join(stageRoot, `${randomUUID()}.parquet`);
          await writeFile(file, await object.Body.transformToByteArray());
          local.push(file);
        } catch (error) {
          client.destroy();
          return {
            success: false,
            code: '091016',
            message: `Remote file '${key}' was not found: ${error.message}`,
            data: { queryId, sqlState: '58030' },
          };
        }
      }
      client.destroy();
      translated = `INSERT INTO ${external[1]} BY NAME SELECT * FROM read_parquet([${local.map((f) => `'${f}'`).join(', ')}])`;
    } else {
      translated = translate(sqlText, stageRoot);
    }
    const bindings = body.bindings ?? {};
    const values = Object.keys(bindings)
      .sort((a, b) => Number(a) - Number(b))
      .map((k) => bindValue(bindings[k]));
    try {
      const reader = await connection.runAndReadAll(translated, values);
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
    traffic,
    async stop() {
      await new Promise((resolve) => server.close(() => resolve()));
      for (const conn of sessions.values()) conn.closeSync();
      instance.closeSync();
      rmSync(stageRoot, { recursive: true, force: true });
    },
  };
}

/**
 * The Snowflake SQL the product sends, translated token by token where DuckDB differs: column
 * types, and COPY INTO from the user stage as an INSERT BY NAME over the staged Parquet files.
 */
function translate(sqlText, stageRoot) {
  const copy =
    /^COPY\s+INTO\s+(\w+)\s+FROM\s+@~\/(\S+?)\/?\s+FILES\s*=\s*\(([^)]*)\)\s+FILE_FORMAT\s*=\s*\(\s*TYPE\s*=\s*PARQUET\s*\)\s+MATCH_BY_COLUMN_NAME\s*=\s*CASE_INSENSITIVE$/i.exec(
      sqlText,
    );
  if (copy) {
    const files = copy[3]
      .split(',')
      .map((f) => f.trim().replace(/^'|'$/g, ''))
      .filter(Boolean);
    const list = files.map((f) => `'${path.join(stageRoot, copy[2], f).replaceAll("'", "''")}'`).join(', ');
    return `INSERT INTO ${copy[1]} BY NAME SELECT * FROM read_parquet([${list}])`;
  }
  // clustering is a storage hint DuckDB has no counterpart for
  if (/^ALTER\s+TABLE\s+\w+\s+CLUSTER\s+BY/i.test(sqlText)) return 'SELECT 1 AS status';
  if (/^(CREATE|ALTER)\s+TABLE/i.test(sqlText)) {
    return sqlText
      .replace(/\bNUMBER\((\d+),\s*(\d+)\)/gi, 'DECIMAL($1,$2)')
      .replace(/\bTIMESTAMP_TZ\b/gi, 'TIMESTAMPTZ')
      .replace(/\bFLOAT\b/gi, 'DOUBLE')
      .replace(/\bARRAY\b/gi, 'VARCHAR[]')
      .replace(/\bBINARY\b/gi, 'BLOB');
  }
  return sqlText;
}

/** The files a PUT source names (`*` in the file name only, as the driver allows). */
function expandWildcard(source) {
  const dir = path.dirname(source);
  const name = path.basename(source);
  if (!name.includes('*')) return [source];
  const pattern = new RegExp(`^${name.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*')}$`);
  return readdirSync(dir)
    .filter((f) => pattern.test(f))
    .map((f) => path.join(dir, f));
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

import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, fixture, tempDir } from '../helpers/cli.js';

// every CLI call is a process of its own: generous limits for a loaded 2-core machine, no timing
const MULTI_PROCESS_TIMEOUT = 600_000;

/** Path → sha256 of every file under the directory: "unchanged" means this map is equal. */
function fingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const full = path.join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else out[path.relative(dir, full)] = createHash('sha256').update(readFileSync(full)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

function lastJsonLine(text: string): { error: { code: string; message: string; exitCode: number } } {
  return JSON.parse(text.trim().split('\n').at(-1)!);
}

async function readWithDuckDb(sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

describe('shopstream query is read-only', () => {
  let dir: string;
  let lake: string;
  let dataFile: string;
  beforeAll(() => {
    dir = tempDir('query-sandbox');
    lake = path.join(dir, 'lake');
    const ingest = cli(['ingest', fixture('demo', 'events.ndjson'), '--lake', lake]);
    expect(ingest.status, ingest.stderr).toBe(0);
    dataFile = Object.keys(fingerprint(lake))
      .map((f) => path.join(lake, f))
      .find((f) => f.includes(`${path.sep}raw_events${path.sep}`) && f.endsWith('.parquet'))!;
    expect(dataFile).toBeDefined();
  }, MULTI_PROCESS_TIMEOUT);

  it(
    'refuses writes, attaches, extensions, secrets, other files and SET with exit 64; the lake is unchanged',
    () => {
      const before = fingerprint(lake);
      const outside = path.join(dir, 'outside');
      const commit = path.join(lake, 'raw_events', '_delta_log', '00000000000000000002.json');
      const refused: Record<string, string> = {
        'COPY into the delta log': `COPY (SELECT '{"remove":{}}' AS x) TO '${commit}' (FORMAT csv, HEADER false)`,
        'COPY over a lake data file (no temp file)': `COPY (SELECT * FROM raw_events LIMIT 1) TO '${dataFile}' (FORMAT parquet, USE_TMP_FILE false)`,
        'COPY anywhere else': `COPY (SELECT 1 AS a) TO '${outside}.csv'`,
        'ATTACH a database file': `ATTACH '${outside}.duckdb' AS other`,
        'INSTALL an extension': 'INSTALL httpfs',
        'LOAD an extension': 'LOAD httpfs',
        'CREATE SECRET': "CREATE PERSISTENT SECRET s (TYPE s3, KEY_ID 'k', SECRET 'v')",
        'read /etc/passwd': "SELECT * FROM read_text('/etc/passwd')",
        'read /etc/passwd as CSV beside a lake table':
          "SELECT count(*) FROM raw_events, read_csv('/etc/passwd')",
        'read the delta log': `SELECT * FROM read_text('${commit.replace('02.json', '01.json')}')`,
        'glob the file system': "SELECT * FROM glob('/etc/*')",
        'SET to re-enable external access': 'SET enable_external_access = true',
        'unlock the configuration': 'RESET lock_configuration',
        'a SELECT smuggling a second statement': `SELECT 1; COPY (SELECT 1 AS a) TO '${outside}.json'`,
        'CREATE TABLE': 'CREATE TABLE t AS SELECT 1 AS a',
      };
      for (const [label, sql] of Object.entries(refused)) {
        const result = cli(['query', sql, '--lake', lake, '--json']);
        expect(result.status, `${label}: ${result.stderr}`).toBe(64);
        expect(lastJsonLine(result.stderr).error.code, label).toBe('QUERY_REFUSED');
      }
      const plain = cli(['query', 'INSTALL httpfs', '--lake', lake]);
      expect(plain.stderr).toContain('only SELECT queries run here');
      expect(fingerprint(lake)).toEqual(before);
      for (const ext of ['.csv', '.duckdb', '.json']) expect(existsSync(`${outside}${ext}`)).toBe(false);
    },
    MULTI_PROCESS_TIMEOUT,
  );

  it(
    'still runs SELECTs (DESCRIBE, --as-of, --csv) and a plain SQL error is exit 64 SQL_ERROR',
    () => {
      const count = cli(['query', 'SELECT count(*)::INT AS n FROM raw_events', '--lake', lake, '--json']);
      expect(count.status, count.stderr).toBe(0);
      expect(JSON.parse(count.stdout).rows).toEqual([{ n: 8 }]);
      const asOf = cli([
        'query',
        'SELECT count(*)::INT AS n FROM raw_events',
        '--as-of',
        '0',
        '--lake',
        lake,
        '--json',
      ]);
      expect(JSON.parse(asOf.stdout).rows).toEqual([{ n: 0 }]);
      const describe = cli(['query', 'DESCRIBE raw_events', '--lake', lake, '--json']);
      expect(describe.status, describe.stderr).toBe(0);
      expect(JSON.parse(describe.stdout).rows.map((r: { column_name: string }) => r.column_name)).toContain(
        'user_id',
      );
      const csv = cli([
        'query',
        'SELECT user_id FROM raw_events WHERE cart_value > 10000',
        '--lake',
        lake,
        '--csv',
      ]);
      expect(csv.stdout.trim()).toBe('user_id\nusr_suspicious');
      const bad = cli(['query', 'SELEC 1', '--lake', lake, '--json']);
      expect(bad.status).toBe(64);
      expect(lastJsonLine(bad.stderr).error.code).toBe('SQL_ERROR');
    },
    MULTI_PROCESS_TIMEOUT,
  );

  it(
    '--out writes csv, parquet and json files that shopstream writes, never inside the lake',
    async () => {
      const before = fingerprint(lake);
      const sql = 'SELECT event_id, user_id, cart_value FROM raw_events ORDER BY event_id';
      const expected = JSON.parse(cli(['query', sql, '--lake', lake, '--json']).stdout).rows;
      expect(expected).toHaveLength(8);
      for (const [file, format, reader] of [
        ['events.parquet', undefined, 'read_parquet'],
        ['events.csv', undefined, 'read_csv'],
        ['events.ndjson', undefined, 'read_json'],
        ['events.out', 'json', 'read_json'],
      ] as const) {
        const out = path.join(dir, file);
        const result = cli([
          'query',
          sql,
          '--lake',
          lake,
          '--out',
          out,
          ...(format ? ['--format', format] : []),
          '--json',
        ]);
        expect(result.status, result.stderr).toBe(0);
        expect(JSON.parse(result.stdout).exported).toMatchObject({ path: out, rows: 8 });
        const rows = await readWithDuckDb(
          `SELECT event_id, user_id, cart_value::VARCHAR AS cart_value FROM ${reader}('${out}') ORDER BY event_id`,
        );
        expect(rows.map((r) => r.event_id)).toEqual(expected.map((r: { event_id: string }) => r.event_id));
      }
      const unknown = cli(['query', sql, '--lake', lake, '--out', path.join(dir, 'events.txt')]);
      expect(unknown.status).toBe(64);
      expect(unknown.stderr).toContain('--format');

      const intoLake = cli([
        'query',
        sql,
        '--lake',
        lake,
        '--out',
        dataFile,
        '--format',
        'parquet',
        '--json',
      ]);
      expect(intoLake.status).toBe(64);
      expect(lastJsonLine(intoLake.stderr).error.code).toBe('EXPORT_PATH');
      const link = path.join(dir, 'lake-link');
      symlinkSync(path.join(lake, 'raw_events'), link);
      const viaLink = cli(['query', sql, '--lake', lake, '--out', path.join(link, 'x.csv'), '--json']);
      expect(viaLink.status).toBe(64);
      expect(lastJsonLine(viaLink.stderr).error.code).toBe('EXPORT_PATH');
      expect(fingerprint(lake)).toEqual(before);
    },
    MULTI_PROCESS_TIMEOUT,
  );
});

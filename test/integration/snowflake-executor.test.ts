import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnowflakeExecutor } from '../../src/warehouse/snowflake-executor.js';
import { startSnowflakeEmulator } from '../helpers/snowflake-emulator.mjs';

type Emulator = Awaited<ReturnType<typeof startSnowflakeEmulator>>;
let emulator: Emulator;
beforeAll(async () => {
  process.env.SNOWFLAKE_DISABLE_PLATFORM_DETECTION = 'true';
  emulator = await startSnowflakeEmulator();
});
afterAll(async () => {
  await emulator?.stop();
});

const settings = () => ({
  account: emulator.account,
  username: emulator.user,
  password: emulator.password,
  accessUrl: emulator.accessUrl,
});

describe('Snowflake executor, through the real snowflake-sdk against a local endpoint', () => {
  it('connects, tags the session and returns typed rows for bound queries', async () => {
    const executor = await SnowflakeExecutor.connect(settings(), 'shopstream:test:run-1');
    try {
      expect(emulator.queryTags).toContain('shopstream:test:run-1');
      const rows = await executor.query(
        "SELECT CAST(? AS INTEGER) AS n, ? AS s, 2.5::DOUBLE AS r, true AS b, DATE '2026-11-20' AS d, CAST(12.34 AS DECIMAL(18,2)) AS m",
        [41, "it's"],
      );
      expect(rows).toHaveLength(1);
      const [row] = rows as [Record<string, unknown>];
      expect(row.n).toBe(41);
      expect(row.s).toBe("it's");
      expect(row.r).toBe(2.5);
      expect(row.b).toBe(true);
      expect(row.m).toBe(12.34);
      expect(String(row.d)).toContain('2026');
      await executor.query('CREATE TABLE t (id INTEGER, name VARCHAR)');
      await executor.query('INSERT INTO t VALUES (?, ?), (?, ?)', [1, 'a', 2, 'b']);
      expect(await executor.query('SELECT id, name FROM t ORDER BY id')).toEqual([
        { id: 1, name: 'a' },
        { id: 2, name: 'b' },
      ]);
    } finally {
      await executor.close();
    }
  });

  it('turns Snowflake errors into errors with code and SQL state', async () => {
    const executor = await SnowflakeExecutor.connect(settings(), 'shopstream:test:run-2');
    try {
      await expect(executor.query('SELECT * FROM missing_table')).rejects.toMatchObject({
        code: 'SNOWFLAKE_002003',
        kind: 'data',
      });
      await expect(executor.query('SELEC 1')).rejects.toMatchObject({ code: 'SNOWFLAKE_001003' });
    } finally {
      await executor.close();
    }
  });

  it('reports a bad login as a configuration error', async () => {
    await expect(
      SnowflakeExecutor.connect({ ...settings(), password: 'wrong' }, 'shopstream:test:x'),
    ).rejects.toMatchObject({
      code: 'SNOWFLAKE_390100',
      exitCode: 78,
    });
  });
});

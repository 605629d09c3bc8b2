import { createPublicKey } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/config-schema.js';
import { DuckDb } from '../../src/engine/duckdb.js';
import { appendAudit } from '../../src/governance/audit.js';
import { UserMatcher } from '../../src/governance/erasure-match.js';
import { deadlineOf, deletionRequests } from '../../src/governance/erasure-requests.js';
import { LAKE_SIGNING_KEY, verifyReceipt } from '../../src/governance/erasure-signature.js';
import { forgetUsers, verifyErasure } from '../../src/governance/gdpr.js';
import { ingest } from '../../src/ingest/ingest.js';
import { writeCheckpointFile } from '../../src/lake/log/checkpoint.js';
import { checkpointFileName } from '../../src/lake/log/log-files.js';
import { Lake } from '../../src/lake/table/lake.js';
import { LocalStore } from '../../src/storage/local-store.js';
import { buildMarts } from '../../src/transforms/build-marts.js';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb-warehouse.js';
import { loadWarehouse } from '../../src/warehouse/load.js';
import { SnowflakeWarehouse } from '../../src/warehouse/snowflake-warehouse.js';
import { tempDir } from '../helpers/cli.js';
import { buildFixture, toLine } from '../helpers/marts-fixture.js';
import { type SnowflakeEmulator, startSnowflakeEmulator } from '../helpers/snowflake-emulator.mjs';

const TARGET = 'u_value';
const URL_WITH_ID = `https://shop.example/account?email=u_value%40mail.example&uid=${TARGET}`;
const config = ConfigSchema.parse({});
const NOW = new Date('2026-11-24T00:00:00Z');

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? walk(full) : [full];
  });
}

describe('the id matcher', () => {
  it('finds the id raw, all-escaped and mixed (either hex case) as a whole word only', () => {
    const m = new UserMatcher(['usr_1'], []);
    for (const text of [
      '{"user_id":"usr_1"}',
      '{"user_id":"\\u0075sr_1"}',
      '{"user_id":"\\u0075\\u0073\\u0072\\u005f\\u0031"}',
      '{"user_id":"\\u0075s\\u0072\\u005F1"}',
      'id=usr_1&x',
      '{"a":"x\\nusr_1"}',
      'uid\\u003dusr_1',
    ]) {
      expect(m.find(text), text).toBe('id');
    }
    for (const text of ['usr_12', 'xusr_1', 'usr_1-2', '\\u0075sr_12', 'usr_1\\u0032', 'usr_\\u0032']) {
      expect(m.find(text), text).toBeUndefined();
    }
    expect(m.redact('a usr_1 usr_1 "\\u0075sr_1" usr_12')).toBe('a [erased] [erased] "[erased]" usr_12');
  });

  it('gdpr status: age in days, the 30-day deadline, overdue only when not completed', () => {
    const requested = '2026-10-01T00:00:00.000Z';
    const later = Date.parse('2026-11-05T12:00:00Z');
    expect(deadlineOf(requested, 'pending', later)).toEqual({
      ageDays: 35,
      deadline: '2026-10-31T00:00:00.000Z',
      overdue: true,
    });
    expect(deadlineOf(requested, 'completed', later).overdue).toBe(false);
    expect(deadlineOf(requested, 'pending', Date.parse('2026-10-30T00:00:00Z')).overdue).toBe(false);
  });
});

describe('gdpr forget: complete and provable', () => {
  it('erases the user from every path that held them, verify finds 0 bytes, and the receipt verifies', async () => {
    const dir = tempDir('gdpr-complete');
    const lakeDir = path.join(dir, 'lake');
    const db = await DuckDb.open();
    const lake = new Lake(new LocalStore(lakeDir), db);
    const land = async (name: string, lines: readonly string[]) => {
      const file = path.join(dir, name);
      writeFileSync(file, `${lines.join('\n')}\n`);
      return ingest(lake, {
        sources: [file],
        maxBadRatio: 1,
        maxFutureHours: 24,
        minEventDate: '2000-01-01',
        now: NOW,
      });
    };
    const events = buildFixture().map((e) => (e.user_id === TARGET ? { ...e, page_url: URL_WITH_ID } : e));
    const bad = (userId: string, id: string) =>
      `{"event_id":"${id}","event_type":"add_to_cart","user_id":"${userId}","timestamp":"2026-11-21T16:01:00Z","properties":{"price":-1}}`;
    await land('batch-1.ndjson', [
      ...events.map(toLine),
      bad('\\u0075_value', 'q_mixed'), // the id JSON-escaped, one character
      bad('\\u0075\\u005F\\u0076\\u0061\\u006c\\u0075\\u0065', 'q_all'), // every character, mixed hex case
      bad('\\u0075_value2', 'q_other'), // another user
    ]);

    // a lake written before free-text columns lost their statistics: the first commit's stats
    // carry the user's URL, and a checkpoint copies them
    const raw = lake.table('raw_events');
    const logDir = path.join(lakeDir, 'raw_events', '_delta_log');
    const firstData = readdirSync(logDir)
      .filter((n) => n.endsWith('.json'))
      .sort()
      .find((n) => readFileSync(path.join(logDir, n), 'utf8').includes('"add"'))!;
    const legacy = readFileSync(path.join(logDir, firstData), 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => {
        const action = JSON.parse(l);
        if (action.add) {
          const stats = JSON.parse(action.add.stats);
          // what the stats fix prevents: a fresh write has no page_url min/max
          expect(stats.minValues.page_url).toBeUndefined();
          expect(stats.maxValues.referrer).toBeUndefined();
          stats.minValues.page_url = URL_WITH_ID;
          action.add.stats = JSON.stringify(stats);
        }
        return JSON.stringify(action);
      });
    writeFileSync(path.join(logDir, firstData), `${legacy.join('\n')}\n`);
    // an older version's checkpoint copied those stats (today's checkpoints drop them)
    const legacySnapshot = await raw.snapshot();
    await writeCheckpointFile(
      db,
      [
        { protocol: legacySnapshot.protocol },
        { metaData: legacySnapshot.metadata },
        ...[...legacySnapshot.txns.values()].map((txn) => ({ txn })),
        ...legacySnapshot.files.map((add) => ({ add: { ...add, dataChange: false } })),
      ],
      path.join(logDir, checkpointFileName(legacySnapshot.version)),
    );
    writeFileSync(path.join(logDir, '_last_checkpoint'), JSON.stringify({ version: legacySnapshot.version }));
    await land('batch-2.ndjson', [
      toLine({ ...events.find((e) => e.user_id === TARGET)!, event_id: 'e_late2' }),
    ]);

    // killed writers: an uncommitted data file, a temp commit, a staging leftover
    const orphan = path.join(lakeDir, 'raw_events', 'dt=2026-11-21', 'part-orphan.parquet');
    await db.run(
      `COPY (SELECT 'e_orphan' AS event_id, '${TARGET}' AS user_id) TO '${orphan}' (FORMAT parquet)`,
    );
    writeFileSync(
      path.join(logDir, '.00000000000000000042.json.0c1d.tmp'),
      `{"add":{"path":"x","stats":"{\\"u\\":\\"${TARGET}\\"}"}}\n`,
    );
    const staging = path.join(lakeDir, '_shopstream', 'tmp', 'ingest-deadbeef-999999-abc');
    mkdirSync(staging, { recursive: true });
    await db.run(
      `COPY (SELECT '${TARGET}' AS user_id, 'x' AS v) TO '${path.join(staging, 'stage.parquet')}' (FORMAT parquet, COMPRESSION zstd)`,
    );
    // the micro-batch spool under the lake: an unlanded batch (with another user's event), a
    // landed one an older version kept, window state; and an older version's spool in $TMPDIR
    const spool = path.join(lakeDir, '_shopstream', 'microbatch', 'spool');
    mkdirSync(spool, { recursive: true });
    const otherLine = toLine(events.find((e) => e.user_id !== TARGET)!);
    writeFileSync(
      path.join(spool, 'batch-00000007.ndjson'),
      `${toLine(events.find((e) => e.user_id === TARGET)!)}\n${otherLine}\n`,
    );
    writeFileSync(path.join(spool, 'batch-00000006.ndjson.landed'), `${bad(TARGET, 'q_spool')}\n`);
    writeFileSync(
      path.join(lakeDir, '_shopstream', 'microbatch', 'state.json'),
      JSON.stringify({ windows: { [TARGET]: [1, 2] }, files: {}, spoolSequence: 7, pending: [] }),
    );
    const legacySpool = path.join(dir, 'tmp-spool');
    mkdirSync(legacySpool);
    writeFileSync(path.join(legacySpool, 'batch-00000001.ndjson.landed'), `${bad(TARGET, 'q_old')}\n`);
    // an ingest error quoted the user's raw record in the audit log (append-only)
    const audit = (message: string | undefined) =>
      appendAudit(lake, {
        command: 'ingest',
        argv: ['ingest', 'x.ndjson'],
        actor: 'test',
        startedAt: NOW,
        finishedAt: NOW,
        exitCode: message ? 65 : 0,
        ...(message ? { errorCode: 'BAD_RECORD', errorMessage: message } : {}),
        reads: [],
        writes: [],
      });
    await audit(`x.ndjson line 3, field price: negative in ${bad(TARGET, 'q_audit')}`);
    await audit('x.ndjson line 4, field price: negative (user u_value2)');

    await buildMarts(lake, { config: config.marts });
    const warehouse = await DuckDbWarehouse.open(lake, path.join(dir, 'warehouse.duckdb'));
    await loadWarehouse(lake, warehouse, {
      tables: ['raw_events', 'quarantine', 'sessions', 'customer_ltv'],
    });
    expect(
      (await warehouse.query<{ raw: string }>('SELECT raw FROM quarantine')).filter((r) =>
        r.raw.includes('\\u0075'),
      ),
    ).toHaveLength(3);

    const scope = { userIds: [TARGET], warehouse, localDirs: [legacySpool] };
    const before = (await verifyErasure(lake, scope)).findings.map((f) => f.where);
    const has = (prefix: string) => before.some((w) => w.startsWith(prefix));
    expect(has('lake:audit_log/dt=')).toBe(true);
    expect(before).toContain(`lake:raw_events/_delta_log/${firstData}`);
    expect(has('lake:raw_events/_delta_log/') && before.some((w) => w.endsWith('.checkpoint.parquet'))).toBe(
      true,
    );
    expect(before).toContain('lake:raw_events/_delta_log/.00000000000000000042.json.0c1d.tmp');
    expect(before).toContain('lake:raw_events/dt=2026-11-21/part-orphan.parquet');
    expect(before).toContain('lake:_shopstream/tmp/ingest-deadbeef-999999-abc/stage.parquet');
    expect(before).toContain('lake:_shopstream/microbatch/spool/batch-00000007.ndjson');
    expect(before).toContain('lake:_shopstream/microbatch/spool/batch-00000006.ndjson.landed');
    expect(before).toContain('lake:_shopstream/microbatch/state.json');
    expect(has('lake:quarantine/')).toBe(true);
    expect(has('lake:sessions/')).toBe(true);
    expect(before).toContain('warehouse:main.quarantine');
    expect(before).toContain(`local:${path.join(legacySpool, 'batch-00000001.ndjson.landed')}`);

    const receipt = await forgetUsers(lake, { ...scope, actor: 'test' });

    // verify finds nothing: in the forget's own scan and in a fresh one, and in a byte walk
    expect(receipt.verification.findings).toEqual([]);
    const after = await verifyErasure(lake, scope);
    expect(after.findings).toEqual([]);
    expect(after.lakeFiles).toBeGreaterThan(20);
    expect(after.warehouseTables).toContain('main.quarantine');
    for (const file of walk(lakeDir))
      expect(readFileSync(file).toString('latin1'), file).not.toMatch(/u_value(?![0-9A-Za-z_-])/);

    // what stays: the other user's spooled event, audit rows (the id erased), the other quarantined line
    expect(readFileSync(path.join(spool, 'batch-00000007.ndjson'), 'utf8').trim()).toBe(otherLine);
    expect(
      JSON.parse(readFileSync(path.join(lakeDir, '_shopstream', 'microbatch', 'state.json'), 'utf8'))
        .spoolSequence,
    ).toBe(7);
    await lake.table('audit_log').register('v_audit');
    const messages = (
      await db.all<{ m: string | null }>('SELECT error_message AS m FROM v_audit ORDER BY 1')
    ).map((r) => r.m);
    expect(messages).toContain('x.ndjson line 4, field price: negative (user u_value2)');
    expect(messages.some((m) => m?.includes('[erased]') && m.includes('q_audit'))).toBe(true);
    await lake.table('quarantine').register('v_q');
    expect(
      (await db.all<{ raw: string }>('SELECT raw FROM v_q')).filter((r) => r.raw.includes('q_other')),
    ).toHaveLength(1);
    expect(await warehouse.query("SELECT raw FROM quarantine WHERE raw LIKE '%q_other%'")).toHaveLength(1);

    // the log was rewritten: the latest version reads, history before the checkpoint is gone
    const byTable = new Map(receipt.tables.map((t) => [t.table, t]));
    const rawDeletion = byTable.get('raw_events')!;
    expect(rawDeletion.logFilesDeleted).toContain(firstData);
    expect(rawDeletion.checkpointVersion).toBe((await raw.snapshot()).version);
    await expect(raw.snapshot({ version: 1 })).rejects.toThrow();
    expect(byTable.get('audit_log')).toMatchObject({ rowsDeleted: 0, rowsRedacted: 1 });
    expect(byTable.get('quarantine')!.rowsDeleted).toBe(2);
    expect(receipt.otherFiles.rewritten).toEqual([
      'lake:_shopstream/microbatch/spool/batch-00000007.ndjson',
      'lake:_shopstream/microbatch/state.json',
    ]);
    expect(receipt.otherFiles.deleted).toEqual([
      'lake:_shopstream/microbatch/spool/batch-00000006.ndjson.landed',
      'lake:_shopstream/tmp/ingest-deadbeef-999999-abc/stage.parquet',
      `local:${path.join(legacySpool, 'batch-00000001.ndjson.landed')}`,
    ]);
    expect(receipt.tablesScanned).toContain('audit_log');

    // the receipt: signed by the lake's key (0600), verifiable with its public key, tamper-evident
    const keyFile = path.join(lakeDir, LAKE_SIGNING_KEY);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const publicPem = createPublicKey(readFileSync(keyFile, 'utf8'))
      .export({ type: 'spki', format: 'pem' })
      .toString();
    const stored = JSON.parse(JSON.stringify(receipt));
    expect(verifyReceipt(stored, publicPem)).toBe(true);
    expect(verifyReceipt({ ...stored, rowsDeleted: stored.rowsDeleted + 1 }, publicPem)).toBe(false);
    expect(
      verifyReceipt({
        ...stored,
        verification: { ...stored.verification, findings: [{ where: 'x', found: 'id' }] },
      }),
    ).toBe(false);
    expect(JSON.stringify(receipt)).not.toMatch(/u_value(?![0-9A-Za-z_-])/);

    const [request] = await deletionRequests(lake, {
      userId: TARGET,
      now: new Date(Date.parse(receipt.startedAt) + 3_600_000),
    });
    expect(request).toMatchObject({ status: 'completed', ageDays: 0, overdue: false });
    expect(Date.parse(request!.deadline) - Date.parse(request!.requestedAt)).toBe(30 * 86_400_000);

    await warehouse.close();
    db.close();
  });
});

describe('gdpr forget: the Snowflake quarantine copy', () => {
  let emulator: SnowflakeEmulator;
  beforeAll(async () => {
    emulator = await startSnowflakeEmulator();
  });
  afterAll(async () => {
    await emulator?.stop();
  });

  it('deletes the loaded quarantine rows whose raw line holds the id, escaped or not, and only those', async () => {
    const dir = tempDir('gdpr-snowflake');
    const db = await DuckDb.open();
    const lake = new Lake(new LocalStore(path.join(dir, 'lake')), db);
    const file = path.join(dir, 'bad.ndjson');
    const bad = (userId: string, id: string) =>
      `{"event_id":"${id}","event_type":"add_to_cart","user_id":"${userId}","timestamp":"2026-11-21T16:01:00Z","properties":{"price":-1}}`;
    writeFileSync(
      file,
      `${[bad('\\u0075_value', 'q_mixed'), bad(TARGET, 'q_plain'), bad('u_value2', 'q_other')].join('\n')}\n`,
    );
    await ingest(lake, {
      sources: [file],
      maxBadRatio: 1,
      maxFutureHours: 24,
      minEventDate: '2000-01-01',
      now: NOW,
    });
    const warehouse = await SnowflakeWarehouse.open(
      lake,
      {
        account: emulator.account,
        username: emulator.user,
        password: emulator.password,
        accessUrl: emulator.accessUrl,
      },
      'load',
      'run-gdpr',
    );
    await loadWarehouse(lake, warehouse, { tables: ['quarantine'] });
    const lines = async () =>
      (await warehouse.query<{ raw: string }>('SELECT raw FROM quarantine')).map((r) => r.raw).sort();
    expect(await lines()).toHaveLength(3);

    const receipt = await forgetUsers(lake, { userIds: [TARGET], warehouse, actor: 'test' });
    expect(await lines()).toEqual([bad('u_value2', 'q_other')]);
    expect(receipt.warehouse!.tables).toEqual([{ table: 'quarantine', rowsDeleted: 2 }]);
    // Snowflake is not byte-scanned here, and the receipt says so
    expect(receipt.verification.warehouseScanned).toBe(false);
    expect(receipt.verification.findings).toEqual([]);
    await warehouse.close();
    db.close();
  });
});

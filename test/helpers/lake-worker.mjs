// A separate OS process that writes to a lake through the built modules (dist/), for tests that
// race writers or kill one mid-commit. Usage: node lake-worker.mjs <lake dir or s3:// URI> <mode> <worker> <count>
// (for s3://, AWS_ENDPOINT_URL_S3 names the server)
//   append: `count` blind appends of one row (worker, i) to table "race"
//   ensure: create table "race" (both processes race the creation)
//   crash:  write data files for table "race", print "WRITTEN", then wait forever before committing
//   txn:    append one row with txn appId "job-1" unless the table already has it
import { DuckDb } from '../../dist/engine/duckdb.js';
import { writeDataFiles } from '../../dist/lake/table/data-writer.js';
import { Lake } from '../../dist/lake/table/lake.js';
import { openStore } from '../../dist/storage/open-store.js';

const [lakeDir, mode, worker, count] = process.argv.slice(2);
const db = await DuckDb.open({ threads: 1 });
const endpoint = process.env.AWS_ENDPOINT_URL_S3;
const lake = new Lake(openStore(lakeDir, endpoint ? { endpoint } : {}), db);
const table = lake.table('race');
const definition = {
  columns: [
    { name: 'worker', type: 'string' },
    { name: 'i', type: 'long' },
  ],
};

if (mode === 'ensure') {
  const snapshot = await table.ensure(definition);
  process.stdout.write(`${snapshot.version}\n`);
} else if (mode === 'append') {
  await table.ensure(definition);
  for (let i = 0; i < Number(count); i++) {
    await db.run('CREATE OR REPLACE TEMP TABLE batch AS SELECT $w AS worker, CAST($i AS BIGINT) AS i', {
      w: worker,
      i: String(i),
    });
    const { version } = await table.write({
      relation: 'batch',
      mode: 'append',
      operation: 'WRITE',
      parameters: { worker },
    });
    process.stdout.write(`${version}\n`);
  }
} else if (mode === 'crash') {
  const snapshot = await table.ensure(definition);
  await db.run("CREATE OR REPLACE TEMP TABLE batch AS SELECT 'crash' AS worker, CAST(1 AS BIGINT) AS i");
  await writeDataFiles(db, lake.store, 'race', 'batch', { schema: snapshot.schema, partitionColumns: [] });
  process.stdout.write('WRITTEN\n');
  await new Promise(() => undefined);
} else if (mode === 'txn') {
  const snapshot = await table.ensure(definition);
  if (snapshot.txnVersion('job-1') === undefined) {
    await db.run("CREATE OR REPLACE TEMP TABLE batch AS SELECT 'job' AS worker, CAST(1 AS BIGINT) AS i");
    await table.write({
      relation: 'batch',
      mode: 'append',
      operation: 'WRITE',
      txns: [{ appId: 'job-1', version: 0 }],
      readSnapshot: snapshot,
    });
    process.stdout.write('COMMITTED\n');
  } else {
    process.stdout.write('SKIPPED\n');
  }
}
db.close();

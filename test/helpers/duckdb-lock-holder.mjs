// Holds a DuckDB database file open (and so its write lock) until stdin closes: a second process
// for the lock-conflict tests. Prints "ready" once the lock is held.
import { DuckDBInstance } from '@duckdb/node-api';

const instance = await DuckDBInstance.create(process.argv[2]);
const connection = await instance.connect();
await connection.run('CREATE TABLE IF NOT EXISTS held (a INTEGER)');
process.stdout.write('ready\n');
process.stdin.resume();
process.stdin.on('end', () => {
  connection.closeSync();
  instance.closeSync();
  process.exit(0);
});

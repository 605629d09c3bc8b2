import path from 'node:path';
import { expect, it } from 'vitest';
import { fixture, tempDir } from '../helpers/cli.js';
import { loadsOf } from '../helpers/trace-loads.js';

/**
 * @duckdb/node-api is CommonJS: imported from ESM, Node lexes all its modules for named exports
 * first (~110 ms CPU more per command than require). The engine loads it with require. Traced, no
 * timing: the ESM resolutions and our own requires are recorded apart.
 */
it('commands load the DuckDB API with require, never through an ESM import', () => {
  const dir = tempDir('startup-require');
  const lake = path.join(dir, 'lake');
  for (const args of [
    ['ingest', fixture('demo', 'events.ndjson'), '--lake', lake],
    ['build-marts', '--lake', lake],
    ['query', 'SELECT count(*) FROM raw_events', '--lake', lake],
  ]) {
    const { imports, requires } = loadsOf(args, dir);
    expect(requires, args.join(' ')).toContain('@duckdb/node-api');
    expect(imports, args.join(' ')).not.toContain('@duckdb/node-api');
  }
});

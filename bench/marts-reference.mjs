#!/usr/bin/env node
// bench/marts-reference: runs the hand-written bench/marts-reference.sql over a local lake's live
// raw_events files and writes the six marts as Parquet files under --out (one file per mart), as
// its own process so that it is timed like the build-marts CLI. With --check it then compares them
// row for row with the marts build-marts wrote in the lake and exits 1 on any difference.
// Usage: node bench/marts-reference.mjs --lake DIR --out DIR [--check]. Needs `npm run build`
// (shopstream's pseudonym macros and the isbot classification are reused, not re-implemented).
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { arg, liveFiles, root } from './lib.mjs';

export const MARTS = [
  'sessions',
  'conversion_daily',
  'customer_ltv',
  'fraud_user_minute',
  'fraud_flags',
  'metrics_minute',
];

const { DuckDb } = await import(path.join(root, 'dist/engine/duckdb.js'));
const { openLake, closeLake } = await import(path.join(root, 'dist/lake/table/open-lake.js'));
const { resolveConfig } = await import(path.join(root, 'dist/config/resolve-config.js'));
const { installPrivacyMacros, resolvePseudonymKey } = await import(
  path.join(root, 'dist/governance/pseudonym.js')
);
const { classifyUserAgents } = await import(path.join(root, 'dist/transforms/bot-user-agents.js'));

const list = (files) => `[${files.map((f) => `'${f.replaceAll("'", "''")}'`).join(',')}]`;

/** Builds the reference marts of `lakeDir` into `outDir/<mart>.parquet`. */
export async function buildReference(lakeDir, outDir) {
  mkdirSync(outDir, { recursive: true });
  const lake = await openLake(resolveConfig({ lake: lakeDir }, {}));
  const key = await resolvePseudonymKey(lake, undefined);
  closeLake(lake);
  const db = await DuckDb.open();
  try {
    await installPrivacyMacros(db, key);
    await db.run(
      `CREATE TEMP VIEW raw_events AS SELECT * FROM read_parquet(${list(liveFiles(lakeDir, 'raw_events'))}, hive_partitioning = true)`,
    );
    await classifyUserAgents(db, 'raw_events');
    await db.run(readFileSync(path.join(root, 'bench/marts-reference.sql'), 'utf8'));
    for (const mart of MARTS)
      await db.run(`COPY ref_${mart} TO '${path.join(outDir, `${mart}.parquet`)}' (FORMAT parquet)`);
  } finally {
    db.close();
  }
}

/** Rows in one side only, per mart, comparing every column of the lake's mart by name. */
export async function compareWithLake(lakeDir, outDir) {
  const db = await DuckDb.open();
  const differences = {};
  try {
    for (const mart of MARTS) {
      await db.run(
        `CREATE TEMP VIEW lake_${mart} AS SELECT * FROM read_parquet(${list(liveFiles(lakeDir, mart))}, hive_partitioning = true, hive_types_autocast = false)`,
      );
      const reference = `read_parquet('${path.join(outDir, `${mart}.parquet`)}')`;
      // every column of the mart; for customer_ltv the historic ones (its predictions are fitted in
      // TypeScript by build-marts, not computed by SQL, so the reference has none)
      const referenceColumns = new Set(
        (await db.all(`DESCRIBE SELECT * FROM ${reference}`)).map((c) => c.column_name),
      );
      const columns = (await db.all(`DESCRIBE lake_${mart}`))
        .map((c) => c.column_name)
        .filter((c) => mart !== 'customer_ltv' || referenceColumns.has(c))
        .map((c) => `"${c}"`)
        .join(', ');
      const [{ lake_only, reference_only, n }] = await db.all(
        `SELECT
           (SELECT count(*) FROM (SELECT ${columns} FROM lake_${mart} EXCEPT ALL SELECT ${columns} FROM ${reference})) AS lake_only,
           (SELECT count(*) FROM (SELECT ${columns} FROM ${reference} EXCEPT ALL SELECT ${columns} FROM lake_${mart})) AS reference_only,
           (SELECT count(*) FROM lake_${mart}) AS n`,
      );
      differences[mart] = {
        rows: Number(n),
        lakeOnly: Number(lake_only),
        referenceOnly: Number(reference_only),
      };
    }
  } finally {
    db.close();
  }
  return differences;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const lakeDir = path.resolve(arg('lake', ''));
  const outDir = path.resolve(arg('out', ''));
  await buildReference(lakeDir, outDir);
  if (process.argv.includes('--check')) {
    const differences = await compareWithLake(lakeDir, outDir);
    process.stdout.write(`${JSON.stringify(differences)}\n`);
    if (Object.values(differences).some((d) => d.lakeOnly > 0 || d.referenceOnly > 0)) process.exit(1);
  }
}

import { Args, Flags } from '@oclif/core';
import { ShopstreamCommand } from '../cli/base-command.js';
import { renderCsv, renderTable } from '../cli/render.js';
import { closeLake, openLake } from '../lake/table/open-lake.js';
import { EXPORT_FORMATS, exportTarget } from '../query/export-result.js';
import { type QueryResult, runQuery } from '../query/run-query.js';

export default class Query extends ShopstreamCommand {
  static override description =
    'Run one read-only DuckDB SELECT over the lake; every table the query names is registered as a view. The query cannot write, attach, install or read other files: save results with --out.';
  static override examples = [
    `<%= config.bin %> query "SELECT event_type, count(*) FROM raw_events GROUP BY 1"`,
    `<%= config.bin %> query "SELECT count(*) FROM raw_events" --as-of 3`,
    `<%= config.bin %> query "SELECT * FROM quarantine" --as-of 2026-11-20T10:00:00Z --csv > bad.csv`,
    `<%= config.bin %> query "SELECT * FROM raw_events WHERE event_type = 'purchase'" --out purchases.parquet`,
  ];
  static override args = { sql: Args.string({ description: 'DuckDB SQL: one SELECT', required: true }) };
  static override flags = {
    'as-of': Flags.string({ description: 'Read tables as of a version number or an ISO-8601 timestamp.' }),
    csv: Flags.boolean({ description: 'Print CSV instead of a table.', exclusive: ['json', 'out'] }),
    out: Flags.string({
      description: 'Write the result to this local file (outside the lake) instead of printing it.',
    }),
    format: Flags.string({
      description: 'Format of --out (default: from its extension).',
      options: [...EXPORT_FORMATS],
      dependsOn: ['out'],
    }),
  };

  async run(): Promise<QueryResult> {
    const { args, flags } = await this.parse(Query);
    const out = flags.out === undefined ? undefined : exportTarget(flags.out, flags.format);
    const lake = await openLake(this.resolveConfig(flags));
    try {
      const result = await runQuery(lake, {
        sql: args.sql,
        ...(flags['as-of'] ? { asOf: flags['as-of'] } : {}),
        ...(out ? { out } : {}),
      });
      if (!this.jsonEnabled()) {
        if (result.exported)
          this.log(
            `wrote ${result.exported.rows} rows to ${result.exported.path} (${result.exported.format})`,
          );
        else
          this.log(
            flags.csv ? renderCsv(result.rows, result.columns) : renderTable(result.rows, result.columns),
          );
      }
      return result;
    } finally {
      closeLake(lake);
    }
  }
}

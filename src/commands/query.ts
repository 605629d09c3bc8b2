import { Args, Flags } from '@oclif/core';
import { ShopstreamCommand } from '../cli/base-command.js';
import { renderCsv, renderTable } from '../cli/render.js';
import { closeLake, openLake } from '../lake/open-lake.js';
import { type QueryResult, runQuery } from '../query/run-query.js';

export default class Query extends ShopstreamCommand {
  static override description =
    'Run DuckDB SQL over the lake; every table the query names is registered as a view.';
  static override examples = [
    `<%= config.bin %> query "SELECT event_type, count(*) FROM raw_events GROUP BY 1"`,
    `<%= config.bin %> query "SELECT count(*) FROM raw_events" --as-of 3`,
    `<%= config.bin %> query "SELECT * FROM quarantine" --as-of 2026-11-20T10:00:00Z --csv > bad.csv`,
  ];
  static override args = { sql: Args.string({ description: 'DuckDB SQL', required: true }) };
  static override flags = {
    'as-of': Flags.string({ description: 'Read tables as of a version number or an ISO-8601 timestamp.' }),
    csv: Flags.boolean({ description: 'Print CSV instead of a table.', exclusive: ['json'] }),
  };

  async run(): Promise<QueryResult> {
    const { args, flags } = await this.parse(Query);
    const lake = await openLake(this.resolveConfig(flags));
    try {
      const result = await runQuery(lake, {
        sql: args.sql,
        ...(flags['as-of'] ? { asOf: flags['as-of'] } : {}),
      });
      if (!this.jsonEnabled())
        this.log(
          flags.csv ? renderCsv(result.rows, result.columns) : renderTable(result.rows, result.columns),
        );
      return result;
    } finally {
      closeLake(lake);
    }
  }
}

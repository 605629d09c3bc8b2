import { Args, Flags } from '@oclif/core';
import { ShopstreamCommand } from '../cli/base-command.js';
import { redisUrlFlag, warehouseFlag } from '../cli/flags.js';
import { renderTable } from '../cli/render.js';
import { currentActor } from '../governance/actor.js';
import { closeLake, openLake } from '../lake/table/open-lake.js';
import { type PipelineSummary, runPipeline } from '../ops/run-pipeline.js';
import { currentRun } from '../runtime/run-context.js';
import { redisUserFlags } from '../stream/redis-sink.js';
import { openWarehouse } from '../warehouse/open-warehouse.js';

export default class Run extends ShopstreamCommand {
  static override audited = true;
  static override description =
    'Run the pipeline as one task with one run id: ingest → GDPR requests → build-marts → load. Stops at the first failing stage with its exit code; a rerun redoes only what is missing.';
  static override examples = [
    '<%= config.bin %> run landing/',
    "<%= config.bin %> run 's3://landing/clickstream/**/*.ndjson.gz' --gdpr-file /srv/shopstream/erasure.txt --json",
    '<%= config.bin %> run landing/ --no-load --metrics-file /var/lib/node_exporter/shopstream.prom',
  ];
  static override strict = false;
  static override args = {
    sources: Args.string({ description: 'files, directories or globs to ingest (none: skip ingest)' }),
  };
  static override flags = {
    'gdpr-file': Flags.string({
      description: 'User ids to forget, one per line; consumed (deleted) once they are forgotten.',
    }),
    warehouse: warehouseFlag(),
    'no-load': Flags.boolean({ description: 'Stop after build-marts.' }),
    'redis-url': redisUrlFlag("Also delete forgotten users' fraud flag keys in this Redis"),
    'warn-only': Flags.boolean({ description: 'Do not fail on data quality checks.' }),
  };

  async run(): Promise<PipelineSummary> {
    const { argv, flags } = await this.parse(Run);
    const config = this.resolveConfig(flags);
    const lake = await openLake(config);
    let summary: PipelineSummary;
    try {
      summary = await runPipeline(lake, {
        config,
        sources: argv as string[],
        ...(flags['gdpr-file'] ? { gdprFile: flags['gdpr-file'] } : {}),
        ...(flags['no-load']
          ? {}
          : { openWarehouse: () => openWarehouse(lake, config, 'run', currentRun.id) }),
        ...(flags['redis-url'] ? { userFlags: redisUserFlags(flags['redis-url']) } : {}),
        actor: currentActor(),
        warnOnly: flags['warn-only'],
      });
    } finally {
      closeLake(lake);
    }
    if (!this.jsonEnabled()) {
      this.log(`run ${summary.runId}`);
      this.log(renderTable(summary.stages.map((s) => ({ ...s, detail: s.detail ?? '' }))));
    }
    if (summary.error) this.failAfter({ ...summary, error: undefined }, summary.error);
    return summary;
  }
}

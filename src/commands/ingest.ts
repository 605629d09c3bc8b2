import { Args, Flags } from '@oclif/core';
import { ShopstreamCommand } from '../cli/base-command.js';
import { ProgressBar } from '../cli/progress.js';
import { type IngestSummary, ingest, unreadableSourcesError } from '../ingest/ingest.js';
import { configuredIngestOptions } from '../ingest/ingest-options.js';
import { closeLake, openLake } from '../lake/table/open-lake.js';
import { badRatioError, percent } from '../ops/quality-gate.js';

export default class Ingest extends ShopstreamCommand {
  static override audited = true;
  static override description =
    'Land raw clickstream events (NDJSON, .gz, CSV, Avro; files, directories, globs) in raw_events; bad records go to quarantine; new optional Avro fields become columns.';
  static override examples = [
    '<%= config.bin %> ingest events/2026-11-20.ndjson.gz',
    `<%= config.bin %> ingest 'landing/**/*.ndjson' exports/orders.csv --json`,
    '<%= config.bin %> ingest landing/ --max-bad-ratio 0.05 --lake /data/lake',
    '<%= config.bin %> ingest exports/events-v2.avro',
  ];
  static override strict = false;
  static override args = {
    sources: Args.string({ description: 'files, directories or globs', required: true }),
  };
  static override flags = {
    fingerprint: Flags.string({
      description:
        'How a landed file is recognised: stat (path, size, mtime; default) or content (also SHA-256).',
      options: ['stat', 'content'],
    }),
    'max-bad-ratio': Flags.string({
      description: 'Fail (exit 65) when quarantined/read exceeds this (default 0.01).',
    }),
  };

  async run(): Promise<IngestSummary> {
    const { argv, flags } = await this.parse(Ingest);
    const maxBadRatio = flags['max-bad-ratio'] === undefined ? undefined : Number(flags['max-bad-ratio']);
    const config = this.resolveConfig({ ...flags, ...(maxBadRatio !== undefined ? { maxBadRatio } : {}) });
    const lake = await openLake(config);
    const bar = new ProgressBar(this.interactive, 'ingest');
    let summary: IngestSummary;
    try {
      summary = await ingest(lake, {
        ...configuredIngestOptions(config, argv as string[]),
        unreadable: 'report',
        onProgress: (p) =>
          bar.update(p.bytesDone, p.bytesTotal, `${p.phase} ${p.filesDone}/${p.filesTotal} files`),
      });
    } finally {
      bar.stop();
      closeLake(lake);
    }
    if (!this.jsonEnabled()) this.log(describe(summary));
    const unreadable = unreadableSourcesError(summary);
    if (unreadable) this.failAfter(summary, unreadable);
    const tooManyBad = badRatioError(summary);
    if (tooManyBad) this.failAfter(summary, tooManyBad);
    return summary;
  }
}

function describe(s: IngestSummary): string {
  const lines = [
    `files: ${s.files.total} (${s.files.ingested} ingested, ${s.files.alreadyIngested} already ingested)`,
    `read ${s.read}, written ${s.written}, duplicates ${s.duplicates}, quarantined ${s.quarantined}; quality ${percent(s.qualityRatio)}`,
  ];
  if (s.rawEventsVersion !== null)
    lines.push(`raw_events version ${s.rawEventsVersion}; partitions: ${s.partitions.length}`);
  for (const u of s.unreadable) lines.push(`  not landed (unreadable): ${u.reason}`);
  for (const q of s.quarantineSamples)
    lines.push(`  quarantined ${q.file}:${q.line} field ${q.field}: ${q.reason}`);
  return lines.join('\n');
}

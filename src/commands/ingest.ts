import { Args, Flags } from '@oclif/core';
import { ShopstreamCommand } from '../cli/base-command.js';
import { ProgressBar } from '../cli/progress.js';
import { dataError } from '../errors.js';
import { type IngestSummary, ingest, unreadableSourcesError } from '../ingest/ingest.js';
import { configuredIngestOptions } from '../ingest/ingest-options.js';
import { closeLake, openLake } from '../lake/table/open-lake.js';

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
    if (unreadable) {
      if (this.jsonEnabled()) this.logJson(summary);
      throw unreadable;
    }
    if (summary.badRatioExceeded) {
      const first = summary.quarantineSamples[0];
      if (this.jsonEnabled()) this.logJson(summary);
      throw dataError(
        'BAD_RATIO',
        `${summary.quarantined} of ${summary.read} records were quarantined (${pct(summary.badRatio)} > --max-bad-ratio ${pct(summary.maxBadRatio)})` +
          (first ? `; first: ${first.file}:${first.line} field ${first.field}: ${first.reason}` : ''),
        {
          suggestions: [
            'good records were landed; inspect them with: shopstream query "SELECT * FROM quarantine"',
          ],
        },
      );
    }
    return summary;
  }
}

function pct(ratio: number): string {
  return `${(ratio * 100).toFixed(2)}%`;
}

function describe(s: IngestSummary): string {
  const lines = [
    `files: ${s.files.total} (${s.files.ingested} ingested, ${s.files.alreadyIngested} already ingested)`,
    `read ${s.read}, written ${s.written}, duplicates ${s.duplicates}, quarantined ${s.quarantined}; quality ${pct(s.qualityRatio)}`,
  ];
  if (s.rawEventsVersion !== null)
    lines.push(`raw_events version ${s.rawEventsVersion}; partitions: ${s.partitions.length}`);
  for (const u of s.unreadable) lines.push(`  not landed (unreadable): ${u.reason}`);
  for (const q of s.quarantineSamples)
    lines.push(`  quarantined ${q.file}:${q.line} field ${q.field}: ${q.reason}`);
  return lines.join('\n');
}

import { Flags } from '@oclif/core';
import { ShopstreamCommand } from '../cli/base-command.js';
import { ProgressBar } from '../cli/progress.js';
import { usageError } from '../errors.js';
import { type GenerateSummary, writeClickstream } from '../generate/clickstream-generator.js';

export default class Generate extends ShopstreamCommand {
  static override description =
    'Write a realistic synthetic clickstream (NDJSON, gzip with .gz): zipf users, sessions, funnels, bots, fraud bursts, late, duplicate and malformed lines. Deterministic with --seed.';
  static override examples = [
    '<%= config.bin %> generate --events 1000000 --out events.ndjson',
    '<%= config.bin %> generate --events 10000000 --out events.ndjson.gz --seed 7 --days 7',
    '<%= config.bin %> generate --events 5000 --out sample.ndjson --start 2026-11-20T00:00:00Z --json',
  ];
  static override flags = {
    events: Flags.integer({
      description: 'Lines to write (events, duplicates and malformed lines).',
      required: true,
      min: 1,
    }),
    out: Flags.string({ description: 'Output file (.ndjson or .ndjson.gz).', required: true }),
    seed: Flags.integer({ description: 'Random seed: the same seed writes the same bytes.', default: 42 }),
    start: Flags.string({ description: 'First event time (ISO-8601).', default: '2026-11-01T00:00:00Z' }),
    days: Flags.integer({ description: 'Days of event time to spread over.', default: 2, min: 1 }),
    hours: Flags.integer({ description: 'Hours of event time to spread over (instead of --days).', min: 1 }),
  };

  async run(): Promise<GenerateSummary> {
    const { flags } = await this.parse(Generate);
    const start = new Date(flags.start);
    if (Number.isNaN(start.getTime()))
      throw usageError('START', `--start "${flags.start}" is not an ISO-8601 timestamp`);
    const bar = new ProgressBar(this.interactive, 'generate');
    try {
      const summary = await writeClickstream(
        flags.out,
        { events: flags.events, seed: flags.seed, start, days: flags.hours ? flags.hours / 24 : flags.days },
        (done, total) => bar.update(done, total, `${done} lines`),
      );
      if (!this.jsonEnabled()) {
        this.log(
          `wrote ${summary.lines} lines (${(summary.bytes / 2 ** 20).toFixed(1)} MiB) for ${summary.users} users in ${summary.sessions} sessions to ${flags.out}`,
        );
      }
      return summary;
    } finally {
      bar.stop();
    }
  }
}

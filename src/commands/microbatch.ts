import { Flags } from '@oclif/core';
import { ShopstreamCommand } from '../cli/base-command.js';
import { redisUrlFlag } from '../cli/flags.js';
import { usageError } from '../errors.js';
import { closeLake, openLake, s3Options } from '../lake/table/open-lake.js';
import { FileAlertSink } from '../stream/file-alert-sink.js';
import { type MicrobatchSummary, runMicrobatch } from '../stream/microbatch.js';
import { RedisAlertSink } from '../stream/redis-sink.js';
import { parseSecondsMs } from '../util/durations.js';

export default class Microbatch extends ShopstreamCommand {
  static override audited = true;
  static override description =
    'Minute-level fraud detection in micro-batches: event-time windows with a 5-minute watermark and 15-minute allowed lateness; alerts as NDJSON; accepted events landed in raw_events.';
  static override examples = [
    'kcat -C -t clickstream | <%= config.bin %> microbatch --from -',
    '<%= config.bin %> microbatch --from landing/ --redis-url redis://127.0.0.1:6379',
    '<%= config.bin %> microbatch --from landing/ --alerts alerts.ndjson --metrics',
    '<%= config.bin %> microbatch --from landing/ --once   # from cron: take what is there, then exit',
  ];
  static override flags = {
    from: Flags.string({
      description: '`-` for NDJSON on stdin, or a landing directory or s3:// prefix polled for new files.',
      required: true,
    }),
    once: Flags.boolean({ description: 'Process what is there (or stdin until EOF), then exit.' }),
    interval: Flags.string({
      description: 'Seconds between batches (fractions allowed, e.g. 0.2).',
      default: '1',
    }),
    alerts: Flags.string({
      description:
        'Append alerts to this NDJSON file instead of stdout (deduplicated by alert id). Without it, stdout carries only alerts (NDJSON) and the --json summary goes to stderr.',
    }),
    'no-land': Flags.boolean({ description: 'Do not land events in raw_events.' }),
    'land-every': Flags.integer({
      description: 'Seconds between landings in raw_events.',
      default: 60,
      min: 0,
    }),
    metrics: Flags.boolean({ description: 'Per-batch metrics as JSON lines on stderr.' }),
    'redis-url': redisUrlFlag('Also publish alerts to Redis and set a per-user flag key with a TTL'),
    'flag-ttl': Flags.integer({ description: 'Seconds a per-user Redis flag lives.', default: 3600, min: 1 }),
  };

  /** Alerts go to stdout (no --alerts file): stdout stays pure NDJSON alerts. */
  #alertsOnStdout = false;

  /** With alerts on stdout, the --json summary goes to stderr (one line), never between alerts. */
  override logJson(json: unknown): void {
    if (this.#alertsOnStdout) process.stderr.write(`${JSON.stringify(json)}\n`);
    else super.logJson(json);
  }

  async run(): Promise<MicrobatchSummary> {
    const { flags } = await this.parse(Microbatch);
    this.#alertsOnStdout = !flags.alerts;
    const config = this.resolveConfig(flags);
    const lake = await openLake(config);
    const file = flags.alerts ? await FileAlertSink.open(flags.alerts) : undefined;
    const redis = flags['redis-url']
      ? await RedisAlertSink.connect(flags['redis-url'], flags['flag-ttl'])
      : undefined;
    const stop = new AbortController();
    process.once('SIGTERM', () => stop.abort());
    process.once('SIGINT', () => stop.abort());
    try {
      return await runMicrobatch(lake, {
        from: flags.from,
        once: flags.once,
        intervalMs: intervalMs(flags.interval),
        land: !flags['no-land'],
        landEveryMs: flags['land-every'] * 1000,
        config,
        s3: s3Options(config),
        signal: stop.signal,
        emit: async (alert) => {
          await redis?.publish(alert);
          if (file) await file.write(alert);
          else process.stdout.write(`${JSON.stringify(alert)}\n`);
        },
        ...(flags.metrics
          ? { onBatch: (m) => process.stderr.write(`${JSON.stringify({ metric: 'microbatch', ...m })}\n`) }
          : {}),
      });
    } finally {
      await redis?.close();
      closeLake(lake);
    }
  }
}

function intervalMs(text: string): number {
  const ms = parseSecondsMs(text, { minSeconds: 0.01 });
  if (ms === undefined)
    throw usageError('INTERVAL', `--interval "${text}" is not a number of seconds (at least 0.01)`);
  return ms;
}

import { Command, Flags, type Interfaces } from '@oclif/core';
import type { Config } from '../config/config-schema.js';
import { resolveConfig } from '../config/resolve-config.js';
import { ExitCode, isShopstreamError, usageError } from '../errors.js';
import { currentActor } from '../governance/actor.js';
import { lakeActivity } from '../lake/log/activity.js';
import { recordCommandRun } from '../ops/record-run.js';
import { currentRun } from '../runtime/run-context.js';
import { knownSecrets, redactSecrets } from '../util/redact.js';

/** Flags every command takes. */
export const baseFlags = {
  lake: Flags.string({
    description: 'Lake location: a directory or file:// URI (env SHOPSTREAM_LAKE; default ./lake).',
    helpGroup: 'GLOBAL',
  }),
  's3-endpoint': Flags.string({
    description: 'S3-compatible endpoint for s3:// lakes (env AWS_ENDPOINT_URL_S3).',
    helpGroup: 'GLOBAL',
  }),
  'unsafe-single-writer': Flags.boolean({
    description: 'Allow an S3 server that ignores conditional writes (never run two writers then).',
    helpGroup: 'GLOBAL',
  }),
  config: Flags.string({
    description: 'Config file (env SHOPSTREAM_CONFIG; default ./shopstream.config.json if present).',
    helpGroup: 'GLOBAL',
  }),
  'metrics-file': Flags.string({
    description: "Write the run's Prometheus metrics to this file (node_exporter textfile collector).",
    helpGroup: 'GLOBAL',
    env: 'SHOPSTREAM_METRICS_FILE',
  }),
  pushgateway: Flags.string({
    description: "Push the run's Prometheus metrics to this Pushgateway URL.",
    helpGroup: 'GLOBAL',
    env: 'SHOPSTREAM_PUSHGATEWAY',
  }),
};

export type BaseFlags = Interfaces.InferredFlags<typeof baseFlags>;

/**
 * Commands parse flags, call one service function and render its result. This base maps errors to
 * the documented exit codes and prints them (as JSON with --json) on stderr.
 */
export abstract class ShopstreamCommand extends Command {
  static override enableJsonFlag = true;
  static override baseFlags = baseFlags;
  /** Commands that change data append a row to the lake's audit_log when they end. */
  static audited = false;

  #startedAt = new Date();
  #config: Config | undefined;
  #metrics: { file?: string; pushgateway?: string } = {};
  /** The secret values to mask, computed once per resolved configuration. */
  #secrets: { config: Config | undefined; values: string[] } | undefined;

  override async init(): Promise<void> {
    await super.init();
    this.#startedAt = new Date();
    lakeActivity.reset();
    currentRun.start();
  }

  protected override async finally(error: Error | undefined): Promise<void> {
    await super.finally(error);
    // no config resolved: the command stopped at its arguments and changed nothing
    const config = this.#config;
    if (!config) return;
    const audited = (this.constructor as typeof ShopstreamCommand).audited;
    const targets = {
      lakeTables: audited,
      ...(this.#metrics.file ? { metricsFile: this.#metrics.file } : {}),
      ...(this.#metrics.pushgateway ? { pushgateway: this.#metrics.pushgateway } : {}),
    };
    if (!targets.lakeTables && !targets.metricsFile && !targets.pushgateway) return;
    const described = error ? this.redacted(describeError(error)) : undefined;
    const { reads, writes } = lakeActivity.current();
    const command = (this.id ?? 'unknown').replaceAll(':', ' ');
    const failures = await recordCommandRun(
      config,
      {
        runId: currentRun.id,
        command,
        scheduled: currentRun.fromScheduler || command === 'run',
        argv: this.argv,
        actor: currentActor(),
        startedAt: this.#startedAt,
        finishedAt: new Date(),
        rowsIn: currentRun.rowsIn,
        rowsOut: currentRun.rowsOut,
        quarantined: currentRun.quarantined,
        qualityRatio: currentRun.qualityRatio,
        latencyP50Ms: currentRun.latencyQuantile(0.5),
        latencyP95Ms: currentRun.latencyQuantile(0.95),
        exitCode: described?.exitCode ?? (typeof process.exitCode === 'number' ? process.exitCode : 0),
        errorCode: described?.code ?? null,
        errorMessage: described?.message ?? null,
        reads,
        writes,
      },
      targets,
    );
    for (const failure of failures) process.stderr.write(`shopstream: warning: ${this.redact(failure)}\n`);
  }

  /** Masks credentials (URL userinfo, query-string secrets, configured passwords) in text we emit. */
  protected redact(text: string): string {
    const config = this.#config;
    let secrets = this.#secrets;
    if (secrets?.config !== config || secrets === undefined) {
      secrets = this.#secrets = {
        config,
        values: knownSecrets(this.argv, process.env, [
          config?.warehouse.snowflake?.password,
          config?.s3.endpoint,
          this.#metrics.pushgateway,
        ]),
      };
    }
    return redactSecrets(text, secrets.values);
  }

  /** stdout goes through the redaction too (a stage detail may quote a service error). */
  override log(message = '', ...args: unknown[]): void {
    super.log(this.redact(message), ...args);
  }

  protected override logJson(json: unknown): void {
    super.logJson(this.redactDeep(json));
  }

  private redactDeep(value: unknown): unknown {
    if (typeof value === 'string') return this.redact(value);
    if (Array.isArray(value)) return value.map((v) => this.redactDeep(v));
    if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype)
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.redactDeep(v)]));
    return value;
  }

  private redacted(described: DescribedError): DescribedError {
    return {
      ...described,
      message: this.redact(described.message),
      suggestions: described.suggestions.map((s) => this.redact(s)),
      location: described.location === undefined ? undefined : this.redact(described.location),
    };
  }

  protected resolveConfig(flags: {
    lake?: string;
    config?: string;
    maxBadRatio?: number;
    fingerprint?: string;
    's3-endpoint'?: string;
    warehouse?: string;
    'unsafe-single-writer'?: boolean;
    'metrics-file'?: string;
    pushgateway?: string;
  }): Config {
    if (flags.maxBadRatio !== undefined && !(flags.maxBadRatio >= 0 && flags.maxBadRatio <= 1)) {
      // a flag value, so a usage error (64); the same value from a config file or env is 78
      throw usageError(
        'BAD_FLAG',
        `--max-bad-ratio: expected a ratio from 0 to 1, got ${flags.maxBadRatio}`,
        {
          suggestions: ['e.g. --max-bad-ratio 0.05 allows 5% quarantined records'],
        },
      );
    }
    this.#metrics = {
      ...(flags['metrics-file'] ? { file: flags['metrics-file'] } : {}),
      ...(flags.pushgateway ? { pushgateway: flags.pushgateway } : {}),
    };
    this.#config = resolveConfig({
      ...(flags['s3-endpoint'] !== undefined ? { s3Endpoint: flags['s3-endpoint'] } : {}),
      ...(flags.warehouse !== undefined ? { warehouse: flags.warehouse } : {}),
      ...(flags['unsafe-single-writer'] ? { unsafeSingleWriter: true } : {}),
      ...(flags.fingerprint !== undefined ? { fingerprint: flags.fingerprint } : {}),
      ...(flags.config !== undefined ? { config: flags.config } : {}),
      ...(flags.lake !== undefined ? { lake: flags.lake } : {}),
      ...(flags.maxBadRatio !== undefined ? { maxBadRatio: flags.maxBadRatio } : {}),
    });
    return this.#config;
  }

  /**
   * Fails with `error` after the work was done (records landed, marts written): with --json the
   * summary still goes to stdout, the error to stderr, so a script sees both.
   */
  protected failAfter(summary: unknown, error: unknown): never {
    if (this.jsonEnabled()) this.logJson(summary);
    throw error;
  }

  /** True when output goes to a person: progress bars and colour are allowed. */
  protected get interactive(): boolean {
    return Boolean(process.stderr.isTTY) && !this.jsonEnabled() && !process.env.CI;
  }

  protected override async catch(error: Interfaces.CommandError): Promise<void> {
    const { code, exitCode, message, suggestions, location } = this.redacted(describeError(error));
    if (this.jsonEnabled()) {
      process.stderr.write(
        `${JSON.stringify({ error: { code, message, exitCode, location, suggestions } })}\n`,
      );
    } else {
      process.stderr.write(`shopstream: error [${code}]: ${message}\n`);
      for (const suggestion of suggestions) process.stderr.write(`  hint: ${suggestion}\n`);
      if (exitCode === ExitCode.bug && error.stack) process.stderr.write(`${this.redact(error.stack)}\n`);
    }
    process.exitCode = exitCode;
  }
}

interface DescribedError {
  readonly code: string;
  readonly exitCode: number;
  readonly message: string;
  readonly suggestions: readonly string[];
  readonly location: string | undefined;
}

function describeError(error: Interfaces.CommandError): DescribedError {
  if (isShopstreamError(error)) {
    return {
      code: error.code,
      exitCode: error.exitCode,
      message: error.message,
      suggestions: error.suggestions,
      location: error.location,
    };
  }
  // oclif's own parse errors (unknown flag, missing argument) carry exit 2.
  const oclif = (error as { oclif?: { exit?: number } }).oclif;
  if (oclif?.exit !== undefined && oclif.exit !== 0) {
    return {
      code: 'USAGE',
      exitCode: ExitCode.usage,
      message: error.message,
      suggestions: ['run with --help for usage'],
      location: undefined,
    };
  }
  const duck = /^(IO Error|Invalid Input Error|Conversion Error)/.exec(error.message);
  if (duck) {
    return {
      code: 'DATA',
      exitCode: ExitCode.data,
      message: error.message,
      suggestions: [],
      location: undefined,
    };
  }
  return {
    code: 'BUG',
    exitCode: ExitCode.bug,
    message: `${error.message} (this is a bug in shopstream; please report it with the command you ran)`,
    suggestions: [],
    location: undefined,
  };
}

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { configError } from '../errors.js';
import { type Config, ConfigSchema } from './config-schema.js';

export const CONFIG_FILE_NAME = 'shopstream.config.json';

/** Values given on the command line; undefined means "not given". */
export interface ConfigFlags {
  readonly config?: string;
  readonly lake?: string;
  readonly maxBadRatio?: number;
  readonly fingerprint?: string;
  readonly s3Endpoint?: string;
  readonly warehouse?: string;
  readonly unsafeSingleWriter?: boolean;
}

/** Environment variables read, by config path. */
const ENV_KEYS: readonly { env: string; path: readonly string[]; type: 'string' | 'number' }[] = [
  { env: 'SHOPSTREAM_LAKE', path: ['lake'], type: 'string' },
  { env: 'SHOPSTREAM_MAX_BAD_RATIO', path: ['ingest', 'maxBadRatio'], type: 'number' },
  { env: 'SHOPSTREAM_FINGERPRINT', path: ['ingest', 'fingerprint'], type: 'string' },
  { env: 'AWS_ENDPOINT_URL_S3', path: ['s3', 'endpoint'], type: 'string' },
  { env: 'SHOPSTREAM_S3_CACHE_MAX_MB', path: ['s3', 'cacheMaxMB'], type: 'number' },
  { env: 'SHOPSTREAM_WAREHOUSE', path: ['warehouse', 'path'], type: 'string' },
  { env: 'SHOPSTREAM_WAREHOUSE_KIND', path: ['warehouse', 'kind'], type: 'string' },
  { env: 'SNOWFLAKE_ACCOUNT', path: ['warehouse', 'snowflake', 'account'], type: 'string' },
  { env: 'SNOWFLAKE_USER', path: ['warehouse', 'snowflake', 'user'], type: 'string' },
  { env: 'SNOWFLAKE_PASSWORD', path: ['warehouse', 'snowflake', 'password'], type: 'string' },
  { env: 'SNOWFLAKE_PRIVATE_KEY_PATH', path: ['warehouse', 'snowflake', 'privateKeyPath'], type: 'string' },
  { env: 'SNOWFLAKE_ROLE', path: ['warehouse', 'snowflake', 'role'], type: 'string' },
  { env: 'SNOWFLAKE_WAREHOUSE', path: ['warehouse', 'snowflake', 'warehouse'], type: 'string' },
  { env: 'SNOWFLAKE_DATABASE', path: ['warehouse', 'snowflake', 'database'], type: 'string' },
  { env: 'SNOWFLAKE_SCHEMA', path: ['warehouse', 'snowflake', 'schema'], type: 'string' },
  { env: 'SNOWFLAKE_ACCESS_URL', path: ['warehouse', 'snowflake', 'accessUrl'], type: 'string' },
  { env: 'SNOWFLAKE_EXTERNAL_STAGE', path: ['warehouse', 'snowflake', 'externalStage'], type: 'string' },
  { env: 'SHOPSTREAM_PSEUDONYM_KEY', path: ['privacy', 'pseudonymKey'], type: 'string' },
  { env: 'SHOPSTREAM_GDPR_SIGNING_KEY_PATH', path: ['gdpr', 'signingKeyPath'], type: 'string' },
  { env: 'SHOPSTREAM_DUCKDB_THREADS', path: ['duckdb', 'threads'], type: 'number' },
  { env: 'SHOPSTREAM_DUCKDB_MEMORY_LIMIT', path: ['duckdb', 'memoryLimit'], type: 'string' },
  { env: 'SHOPSTREAM_DUCKDB_TEMP_DIRECTORY', path: ['duckdb', 'tempDirectory'], type: 'string' },
];

/**
 * Resolves configuration: flags > environment (`SHOPSTREAM_*`) > `shopstream.config.json` > defaults.
 * The file is `--config`, else `$SHOPSTREAM_CONFIG`, else `./shopstream.config.json` when present.
 */
export function resolveConfig(
  flags: ConfigFlags,
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): Config {
  const merged: Record<string, unknown> = readConfigFile(flags.config ?? env.SHOPSTREAM_CONFIG, cwd);
  for (const { env: name, path: keyPath, type } of ENV_KEYS) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const value = type === 'number' ? Number(raw) : raw;
    if (type === 'number' && !Number.isFinite(value)) {
      throw configError('CONFIG_ENV', `environment variable ${name}="${raw}" is not a number`);
    }
    setPath(merged, keyPath, value);
  }
  if (flags.lake !== undefined) setPath(merged, ['lake'], flags.lake);
  if (flags.maxBadRatio !== undefined) setPath(merged, ['ingest', 'maxBadRatio'], flags.maxBadRatio);
  if (flags.warehouse !== undefined) setPath(merged, ['warehouse', 'path'], flags.warehouse);
  if (flags.s3Endpoint !== undefined) setPath(merged, ['s3', 'endpoint'], flags.s3Endpoint);
  if (flags.unsafeSingleWriter) setPath(merged, ['s3', 'unsafeSingleWriter'], true);
  if (flags.fingerprint !== undefined) setPath(merged, ['ingest', 'fingerprint'], flags.fingerprint);
  const parsed = ConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw configError('CONFIG_INVALID', `invalid configuration: ${problems.join('; ')}`, {
      suggestions: ['see "Configuration" in the README for every key and its type'],
    });
  }
  return parsed.data;
}

function readConfigFile(explicit: string | undefined, cwd: string): Record<string, unknown> {
  const file = explicit ? path.resolve(cwd, explicit) : path.join(cwd, CONFIG_FILE_NAME);
  if (!existsSync(file)) {
    if (explicit) throw configError('CONFIG_MISSING', `config file not found: ${file}`);
    return {};
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw configError('CONFIG_UNREADABLE', `cannot read config file ${file}`, { cause: error });
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw configError('CONFIG_INVALID', `${file}: the top level must be a JSON object`);
    }
    return value as Record<string, unknown>;
  } catch (error) {
    if (error instanceof SyntaxError) {
      throw configError('CONFIG_INVALID', `${file}: not valid JSON (${error.message})`, { cause: error });
    }
    throw error;
  }
}

function setPath(target: Record<string, unknown>, keyPath: readonly string[], value: unknown): void {
  let node = target;
  for (const key of keyPath.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keyPath[keyPath.length - 1]!] = value;
}

import type { Config } from '../config/config-schema.js';
import { s3Options } from '../lake/table/open-lake.js';
import type { IngestOptions } from './ingest.js';

/** Ingest options as configured (`ingest.*`, S3 access) for these sources. */
export function configuredIngestOptions(config: Config, sources: readonly string[]): IngestOptions {
  return {
    sources,
    maxBadRatio: config.ingest.maxBadRatio,
    maxFutureHours: config.ingest.maxFutureHours,
    minEventDate: config.ingest.minEventDate,
    fingerprint: config.ingest.fingerprint,
    s3: s3Options(config),
  };
}

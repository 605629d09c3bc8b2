import { z } from 'zod';

/** shopstream.config.json. Every key is optional; defaults are the product's embedded defaults. */
export const ConfigSchema = z
  .object({
    /** Lake root: a directory path or file:// URI. */
    lake: z.string().min(1).default('./lake'),
    ingest: z
      .object({
        /** Quarantined / read above this ratio fails the run (exit 65) after landing what is good. */
        maxBadRatio: z.number().min(0).max(1).default(0.01),
        /** Events more than this many hours after ingest time are impossible (quarantined). */
        maxFutureHours: z.number().min(0).default(24),
        /** Events before this date are impossible (quarantined). */
        minEventDate: z
          .string()
          .regex(/^\d{4}-\d{2}-\d{2}$/)
          .default('2000-01-01'),
        /** How a landed file is recognised: path+size+mtime, or also a SHA-256 of its content. */
        fingerprint: z.enum(['stat', 'content']).default('stat'),
      })
      .strict()
      .prefault({}),
    marts: z
      .object({
        /** A user's session ends after this many minutes without an event. */
        sessionTimeoutMinutes: z.number().positive().default(30),
        fraud: z
          .object({
            /** More events than this by one user in one event-time minute is suspicious. */
            maxEventsPerMinute: z.number().int().positive().default(100),
            /** More cart/purchase value than this by one user in one minute is suspicious. */
            maxValuePerMinute: z.number().positive().default(50_000),
            /** A single event with a larger quantity is suspicious. */
            maxQuantity: z.number().int().positive().default(50),
            /** A cart worth more than this is suspicious. */
            maxCartValue: z.number().positive().default(10_000),
            /** This many distinct IPs within a session, or within the window, is suspicious. */
            multiIpThreshold: z.number().int().min(2).default(3),
            multiIpWindowMinutes: z.number().int().positive().default(10),
          })
          .strict()
          .prefault({}),
        /** Customer lifetime value: BG/NBD + Gamma-Gamma fitted on every build (see README, Marts). */
        clv: z
          .object({
            /** Predictions cover this many months from the end of the data. */
            horizonMonths: z.number().positive().max(120).default(12),
            /** Annual rate predicted_clv is discounted at, month by month (0.1 = 10% a year). */
            annualDiscountRate: z.number().min(0).max(1).default(0.1),
            /** The currency the model is fitted in (default: marts.currency.reporting). */
            currency: z
              .string()
              .regex(/^[A-Z]{3}$/, 'an ISO 4217 code, e.g. USD')
              .optional(),
            /** Fewer fittable customers than this (or than 10 with repeat purchases): no fit, NULL predictions. */
            minCustomers: z.number().int().min(10).default(50),
          })
          .strict()
          .prefault({}),
        /** Quality ratio below this fails build-marts (the seed's SLO: > 99%). */
        minQualityRatio: z.number().min(0).max(1).default(0.99),
        /** Arrival later than this after event time counts as a late event. */
        lateAfterMinutes: z.number().positive().default(60),
        /** Money: which currency events without one are in, and what the marts report in. */
        currency: z
          .object({
            /** The currency of events that carry none (ISO 4217). */
            default: z
              .string()
              .regex(/^[A-Z]{3}$/)
              .default('USD'),
            /** The currency of fraud thresholds and of aggregated money (default: the default currency). */
            reporting: z
              .string()
              .regex(/^[A-Z]{3}$/)
              .optional(),
            /**
             * CSV or Parquet of daily rates (date, currency, rate = reporting units per unit of currency).
             * Unset: money stays in its own currency and is never converted.
             */
            ratesFile: z.string().min(1).optional(),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    s3: z
      .object({
        /** Endpoint for S3-compatible servers, e.g. http://127.0.0.1:9000 (env AWS_ENDPOINT_URL_S3). */
        endpoint: z.string().url().optional(),
        region: z.string().optional(),
        /** Path-style URLs (default: on when an endpoint is given). */
        forcePathStyle: z.boolean().optional(),
        /** Allow a server that ignores conditional writes: only ever run one writer then. */
        unsafeSingleWriter: z.boolean().default(false),
        /** Bound of the local download cache of s3:// lake files, in MiB (least recently used evicted). */
        cacheMaxMB: z.number().int().positive().default(5120),
      })
      .strict()
      .prefault({}),
    warehouse: z
      .object({
        /** duckdb (embedded file, default) or snowflake. */
        kind: z.enum(['duckdb', 'snowflake']).default('duckdb'),
        /** The embedded DuckDB warehouse file. */
        path: z.string().min(1).default('./warehouse.duckdb'),
        snowflake: z
          .object({
            account: z.string().optional(),
            user: z.string().optional(),
            /** Prefer key-pair auth (privateKeyPath); a password comes from SNOWFLAKE_PASSWORD. */
            password: z.string().optional(),
            privateKeyPath: z.string().optional(),
            role: z.string().optional(),
            warehouse: z.string().optional(),
            database: z.string().optional(),
            schema: z.string().optional(),
            /** A Snowflake-compatible endpoint instead of <account>.snowflakecomputing.com. */
            accessUrl: z.string().url().optional(),
            timeoutSeconds: z.number().positive().default(600),
            /**
             * For s3:// lakes: an external stage (storage integration) whose URL is the lake root.
             * Load files are then written into the lake under _shopstream/ and copied from there,
             * instead of PUT through the client.
             */
            externalStage: z
              .string()
              .regex(/^[A-Za-z_][A-Za-z0-9_.$]*$/)
              .optional(),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    slo: z
      .object({
        /** Share of scheduled runs (run, ingest, build-marts, load) that must succeed. */
        availability: z.number().min(0).max(1).default(0.99),
        /** Micro-batch arrival-to-alert latency p95 must stay below this (the seed: 500 ms). */
        latencyP95Ms: z.number().positive().default(500),
        /** Events per second that ingesting runs must sustain, over runs of at least minRows. */
        minThroughputPerSecond: z.number().min(0).default(5000),
        /** Runs smaller than this do not count for throughput (start-up cost dominates them). */
        throughputMinRows: z.number().int().min(0).default(100_000),
        /** Mean data quality ratio of the runs (the seed: > 99%). */
        minQualityRatio: z.number().min(0).max(1).default(0.99),
      })
      .strict()
      .prefault({}),
    gdpr: z
      .object({
        /**
         * Ed25519 private key (PEM) signing erasure receipts (env SHOPSTREAM_GDPR_SIGNING_KEY_PATH).
         * Unset: a key generated once in the lake at _shopstream/secrets/gdpr-signing.key (0600).
         */
        signingKeyPath: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
    privacy: z
      .object({
        /**
         * Secret for the keyed HMAC behind marts' user_key (env SHOPSTREAM_PSEUDONYM_KEY; at least 16
         * characters). Unset: a random secret kept in the lake at _shopstream/secrets/.
         */
        pseudonymKey: z.string().min(16).optional(),
      })
      .strict()
      .prefault({}),
    duckdb: z
      .object({
        threads: z.number().int().positive().optional(),
        memoryLimit: z.string().optional(),
        /** Where DuckDB spills what does not fit in memory (default `.tmp` in the working directory). */
        tempDirectory: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;

/** The currency the CLV model is fitted in: marts.clv.currency, else the reporting currency. */
export function clvCurrency(marts: Config['marts']): string {
  return marts.clv.currency ?? marts.currency.reporting ?? marts.currency.default;
}

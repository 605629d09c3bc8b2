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
        minEventDate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).default('2000-01-01'),
      })
      .strict()
      .prefault({}),
    duckdb: z
      .object({
        threads: z.number().int().positive().optional(),
        memoryLimit: z.string().optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;

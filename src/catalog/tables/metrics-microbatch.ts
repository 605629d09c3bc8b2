import type { DeclaredTable } from '../table-definition.js';

export const METRICS_MICROBATCH = 'metrics_microbatch';

/** One row per micro-batch: volumes, watermark and latency (the SLOs read it). */
export const METRICS_MICROBATCH_TABLE: DeclaredTable = {
  name: METRICS_MICROBATCH,
  role: 'stream',
  definition: {
    columns: [
      { name: 'batch_at', type: 'timestamp' },
      { name: 'events', type: 'long' },
      { name: 'alerts', type: 'long' },
      { name: 'late_events', type: 'long' },
      { name: 'watermark', type: 'timestamp' },
      { name: 'watermark_lag_ms', type: 'long' },
      { name: 'batch_latency_ms', type: 'long' },
      { name: 'events_per_second', type: 'long' },
      // added later: tables written before it get the column (null in their old rows)
      { name: 'arrival_lag_ms', type: 'long' },
    ],
  },
  load: 'when named',
  erasure: 'erase',
};

import type { ColumnDef } from '../../lake/table/columns.js';
import type { DeclaredTable } from '../table-definition.js';

export const PIPELINE_RUNS = 'pipeline_runs';

export const PIPELINE_RUNS_COLUMNS: readonly ColumnDef[] = [
  {
    name: 'run_id',
    type: 'string',
    nullable: false,
    comment: 'Stamped on every commit and load of the run.',
  },
  { name: 'command', type: 'string', nullable: false, comment: 'ingest, build-marts, load, run, ...' },
  { name: 'started_at', type: 'timestamp', nullable: false, comment: 'Start.' },
  { name: 'finished_at', type: 'timestamp', nullable: false, comment: 'End.' },
  { name: 'duration_ms', type: 'long', nullable: false, comment: 'Wall time.' },
  { name: 'rows_in', type: 'long', nullable: false, comment: 'Events read.' },
  { name: 'rows_out', type: 'long', nullable: false, comment: 'Rows committed (landed, built, loaded).' },
  { name: 'quarantined', type: 'long', nullable: false, comment: 'Records refused.' },
  { name: 'quality_ratio', type: 'double', comment: 'Lowest quality ratio of its stages.' },
  { name: 'latency_p50_ms', type: 'double', comment: 'Micro-batch arrival-to-alert latency, median.' },
  { name: 'latency_p95_ms', type: 'double', comment: 'Micro-batch arrival-to-alert latency, p95.' },
  { name: 'throughput_per_s', type: 'double', comment: 'rows_in per second of wall time.' },
  { name: 'outcome', type: 'string', nullable: false, comment: 'ok or error.' },
  { name: 'exit_code', type: 'integer', nullable: false, comment: 'The documented exit code.' },
  { name: 'error_code', type: 'string', comment: 'shopstream error code on failure.' },
  {
    name: 'scheduled',
    type: 'boolean',
    comment: 'Run id from a scheduler (SHOPSTREAM_RUN_ID) or `shopstream run`: counts for availability.',
  },
  { name: 'dt', type: 'date', nullable: false, comment: 'UTC date of started_at (partition).' },
];

export const PIPELINE_RUNS_TABLE: DeclaredTable = {
  name: PIPELINE_RUNS,
  role: 'record',
  definition: {
    columns: PIPELINE_RUNS_COLUMNS,
    partitionColumns: ['dt'],
    description: 'One row per shopstream command run: volumes, quality, latency, outcome (for SLOs).',
  },
  load: 'when named',
  erasure: 'erase',
};

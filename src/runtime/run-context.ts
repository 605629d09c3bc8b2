import { randomUUID } from 'node:crypto';

/** Figures a stage reports to the run it is part of. */
export interface StageFigures {
  /** Events read (ingest, micro-batch). */
  readonly rowsIn?: number;
  /** Rows committed: events landed, mart rows written, rows loaded. */
  readonly rowsOut?: number;
  /** Records quarantined. */
  readonly quarantined?: number;
  /** Share of valid records / passing checks; the run keeps the lowest. */
  readonly qualityRatio?: number;
  /** Processing latencies (micro-batch: arrival to alert per batch), milliseconds. */
  readonly latenciesMs?: readonly number[];
}

const MAX_LATENCIES = 100_000;

/**
 * The run a process is doing: its id (stamped on every commit, load and metric; `SHOPSTREAM_RUN_ID`
 * lets a scheduler pass its own) and the figures its stages report, for pipeline_runs and
 * Prometheus. Process-wide: a CLI process runs one command.
 */
class RunContext {
  id: string = randomUUID();
  /** The run id came from a scheduler (`SHOPSTREAM_RUN_ID`): the run counts for availability. */
  fromScheduler = false;
  rowsIn = 0;
  rowsOut = 0;
  quarantined = 0;
  qualityRatio: number | null = null;
  readonly latenciesMs: number[] = [];

  start(scheduledId: string | undefined = process.env.SHOPSTREAM_RUN_ID || undefined): void {
    this.id = scheduledId ?? randomUUID();
    this.fromScheduler = scheduledId !== undefined;
    this.rowsIn = 0;
    this.rowsOut = 0;
    this.quarantined = 0;
    this.qualityRatio = null;
    this.latenciesMs.length = 0;
  }

  record(figures: StageFigures): void {
    this.rowsIn += figures.rowsIn ?? 0;
    this.rowsOut += figures.rowsOut ?? 0;
    this.quarantined += figures.quarantined ?? 0;
    if (figures.qualityRatio !== undefined) {
      this.qualityRatio = Math.min(this.qualityRatio ?? 1, figures.qualityRatio);
    }
    for (const latency of figures.latenciesMs ?? []) {
      if (this.latenciesMs.length < MAX_LATENCIES) this.latenciesMs.push(latency);
    }
  }

  /** The q-quantile (0..1) of the recorded latencies, or null without any. */
  latencyQuantile(q: number): number | null {
    if (this.latenciesMs.length === 0) return null;
    const sorted = [...this.latenciesMs].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? null;
  }
}

export const currentRun = new RunContext();

import type { Config } from '../config/config-schema.js';
import { type BatchResult, DEFAULT_WINDOWS, FraudWindows } from './fraud-windows.js';
import { type EventNormalizer, mergeCarts, type NormalizedBatch, pruneCartStates } from './normalize.js';
import type { SavedState } from './state.js';

/**
 * The micro-batch's event-time step: a normalized batch through the fraud windows (fraud-windows.ts),
 * with the carried cart states kept in step: the batch's join the saved ones as it is processed,
 * and those too old to matter are forgotten as the watermark moves.
 */
export class LiveWindows {
  private readonly windows: FraudWindows;
  private lastCartPrune = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly state: SavedState,
    private readonly normalizer: EventNormalizer,
    private readonly config: Config,
  ) {
    state.carts ??= {};
    this.windows = new FraudWindows(config.marts.fraud, DEFAULT_WINDOWS, state.windows);
  }

  /**
   * The batch's cart states join the saved ones (a prefetched batch's only once it is processed: a
   * restart re-reads its files from the states before it).
   */
  takeCarts(normalized: NormalizedBatch): void {
    mergeCarts(this.state.carts!, normalized.carts);
  }

  /** Runs the windows over the batch's events; the state holds the windows after it. */
  async process(normalized: NormalizedBatch): Promise<BatchResult> {
    const result = this.windows.process(normalized.events);
    this.state.windows = this.windows.current(); // serialized as is by saveState: no copy
    // cart states older than this can only precede events too late to count: forget them
    const cartCutoff =
      result.watermark -
      DEFAULT_WINDOWS.allowedLatenessMs -
      DEFAULT_WINDOWS.windowMs -
      this.config.marts.sessionTimeoutMinutes * 60_000;
    if (result.watermark > -8e15 && cartCutoff - this.lastCartPrune >= 60_000) {
      this.lastCartPrune = cartCutoff;
      pruneCartStates(this.state.carts!, cartCutoff);
      await this.normalizer.pruneCarts(cartCutoff);
    }
    return result;
  }
}

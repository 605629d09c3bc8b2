/**
 * Event-time fraud windows for micro-batches, after the seed's Flink job: tumbling one-minute
 * windows per user, a watermark of (max event time seen - bounded out-of-orderness) that never moves
 * back, and allowed lateness. A window is emitted once the watermark passes its end; a late event
 * within the lateness updates it and re-emits it with a higher version; once the watermark passes
 * end + lateness the window is final and its state dropped; events for dropped windows are late.
 * Per-event rules alert at once. Pure: state in, state out, no I/O.
 */
export interface FraudRules {
  readonly maxEventsPerMinute: number;
  readonly maxValuePerMinute: number;
  readonly maxQuantity: number;
  readonly maxCartValue: number;
  readonly multiIpThreshold: number;
}

export interface WindowSettings {
  readonly windowMs: number;
  readonly outOfOrdernessMs: number;
  readonly allowedLatenessMs: number;
}

export const DEFAULT_WINDOWS: WindowSettings = {
  windowMs: 60_000,
  outOfOrdernessMs: 5 * 60_000,
  allowedLatenessMs: 15 * 60_000,
};

export interface StreamEvent {
  readonly eventId: string;
  readonly userId: string;
  readonly eventTime: number;
  readonly eventType: string;
  readonly ip: string | null;
  readonly value: number;
  readonly quantity: number | null;
  readonly cartValue: number | null;
  readonly isBot: boolean;
}

export interface Alert {
  readonly alertId: string;
  readonly userId: string;
  readonly rule: string;
  readonly windowStart: string | null;
  readonly windowEnd: string | null;
  readonly version: number;
  readonly isFinal: boolean;
  readonly evidence: Readonly<Record<string, unknown>>;
  readonly eventId: string | null;
}

interface WindowState {
  userId: string;
  start: number;
  events: number;
  value: number;
  ips: string[];
  /** Versions emitted so far (0 = never emitted). */
  version: number;
  /** The aggregate at the last emission, to re-emit only on change. */
  emittedSignature: string | null;
}

export interface WindowsState {
  watermark: number;
  maxEventTime: number;
  windows: Record<string, WindowState>;
  lateCount: number;
}

export interface BatchResult {
  readonly alerts: readonly Alert[];
  readonly late: readonly StreamEvent[];
  readonly watermark: number;
}

export function emptyState(): WindowsState {
  // finite sentinels: the state is saved as JSON, where -Infinity would become null
  return { watermark: -8.64e15, maxEventTime: -8.64e15, windows: {}, lateCount: 0 };
}

export class FraudWindows {
  constructor(
    private readonly rules: FraudRules,
    private readonly settings: WindowSettings = DEFAULT_WINDOWS,
    private state: WindowsState = emptyState(),
  ) {}

  snapshot(): WindowsState {
    return structuredClone(this.state);
  }

  /** Feeds one micro-batch; returns the alerts to emit and the events too late to count. */
  process(events: readonly StreamEvent[]): BatchResult {
    const alerts: Alert[] = [];
    const late: StreamEvent[] = [];
    const { windowMs, allowedLatenessMs, outOfOrdernessMs } = this.settings;
    for (const event of events) {
      alerts.push(...this.eventRules(event));
      const start = Math.floor(event.eventTime / windowMs) * windowMs;
      if (start + windowMs + allowedLatenessMs <= this.state.watermark) {
        late.push(event);
        this.state.lateCount++;
        continue;
      }
      const key = `${event.userId}|${start}`;
      this.state.windows[key] ??= {
        userId: event.userId,
        start,
        events: 0,
        value: 0,
        ips: [],
        version: 0,
        emittedSignature: null,
      };
      const window = this.state.windows[key];
      window.events++;
      window.value += event.value;
      if (event.ip && !window.ips.includes(event.ip)) window.ips.push(event.ip);
      this.state.maxEventTime = Math.max(this.state.maxEventTime, event.eventTime);
    }
    this.state.watermark = Math.max(this.state.watermark, this.state.maxEventTime - outOfOrdernessMs);
    for (const [key, window] of Object.entries(this.state.windows)) {
      const end = window.start + windowMs;
      if (end > this.state.watermark) continue; // not yet due
      const final = end + allowedLatenessMs <= this.state.watermark;
      const reasons = this.windowRules(window);
      const signature = JSON.stringify([window.events, window.value, window.ips.length]);
      const changed = signature !== window.emittedSignature;
      // emit on change (first emission, or a late event updated it), and once more when it closes
      if (reasons.length > 0 && (changed || (final && window.version > 0))) {
        window.version++;
        window.emittedSignature = signature;
        for (const rule of reasons) alerts.push(this.windowAlert(window, rule, final));
      }
      if (final) delete this.state.windows[key];
    }
    return { alerts, late, watermark: this.state.watermark };
  }

  private eventRules(event: StreamEvent): Alert[] {
    const out: Alert[] = [];
    const alert = (rule: string, evidence: Record<string, unknown>) =>
      out.push({
        alertId: `${rule}:${event.eventId}`,
        userId: event.userId,
        rule,
        windowStart: null,
        windowEnd: null,
        version: 1,
        isFinal: true,
        evidence,
        eventId: event.eventId,
      });
    if (event.isBot) alert('bot_user_agent', {});
    if (event.quantity !== null && event.quantity > this.rules.maxQuantity)
      alert('high_quantity', { quantity: event.quantity });
    if (event.cartValue !== null && event.cartValue > this.rules.maxCartValue)
      alert('high_cart_value', { cart_value: event.cartValue });
    return out;
  }

  private windowRules(window: WindowState): string[] {
    const reasons: string[] = [];
    if (window.events > this.rules.maxEventsPerMinute) reasons.push('events_per_minute');
    if (window.value > this.rules.maxValuePerMinute) reasons.push('value_per_minute');
    if (window.ips.length >= this.rules.multiIpThreshold) reasons.push('multiple_ips');
    return reasons;
  }

  private windowAlert(window: WindowState, rule: string, isFinal: boolean): Alert {
    const start = new Date(window.start).toISOString();
    return {
      alertId: `${rule}:${window.userId}:${start}:v${window.version}`,
      userId: window.userId,
      rule,
      windowStart: start,
      windowEnd: new Date(window.start + this.settings.windowMs).toISOString(),
      version: window.version,
      isFinal,
      evidence: {
        events: window.events,
        total_value: Math.round(window.value * 100) / 100,
        distinct_ips: window.ips.length,
      },
      eventId: null,
    };
  }
}

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
  readonly currency: string | null;
  readonly userAgent: string | null;
  readonly isBot: boolean;
  /** When the event arrived (epoch ms): read from the pipe, or its landing file written. */
  readonly arrivedAt: number;
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
  /** Arrival (ISO) of the event that made this alert due: latency = emission - arrival. */
  readonly arrivedAt: string;
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
  /** A bot_user_agent alert went out for this user and window. */
  botAlerted?: boolean;
  /** Arrival (epoch ms) of the latest event added. */
  lastArrival?: number;
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

  /** The live state, for serializing at once (no copy); changes with the next process(). */
  current(): Readonly<WindowsState> {
    return this.state;
  }

  /** Feeds one micro-batch; returns the alerts to emit and the events too late to count. */
  process(events: readonly StreamEvent[]): BatchResult {
    const alerts: Alert[] = [];
    const late: StreamEvent[] = [];
    const { windowMs, allowedLatenessMs, outOfOrdernessMs } = this.settings;
    const watermarkBefore = this.state.watermark;
    // arrival of the event that moved the watermark furthest in this batch
    let watermarkArrival = 0;
    const updated = new Set<string>();
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
      window.lastArrival = Math.max(window.lastArrival ?? 0, event.arrivedAt);
      updated.add(key);
      if (event.ip && !window.ips.includes(event.ip)) window.ips.push(event.ip);
      if (event.isBot && !window.botAlerted) {
        window.botAlerted = true;
        alerts.push(this.botAlert(window, event));
      }
      if (event.eventTime >= this.state.maxEventTime) {
        this.state.maxEventTime = event.eventTime;
        watermarkArrival = Math.max(watermarkArrival, event.arrivedAt);
      }
    }
    this.state.watermark = Math.max(this.state.watermark, this.state.maxEventTime - outOfOrdernessMs);
    const watermarkMoved = this.state.watermark > watermarkBefore;
    for (const key in this.state.windows) {
      const window = this.state.windows[key]!;
      const end = window.start + windowMs;
      if (end > this.state.watermark) continue; // not yet due
      const final = end + allowedLatenessMs <= this.state.watermark;
      // due before this batch, untouched by it and not closing now: nothing can have changed
      if (!final && end <= watermarkBefore && !updated.has(key)) continue;
      const reasons = this.windowRules(window);
      const signature = JSON.stringify([window.events, window.value, window.ips.length]);
      const changed = signature !== window.emittedSignature;
      // emit on change (first emission, or a late event updated it), and once more when it closes
      if (reasons.length > 0 && (changed || (final && window.version > 0))) {
        window.version++;
        window.emittedSignature = signature;
        // due because the watermark passed (its event's arrival) or a late event updated it
        const arrival = Math.max(
          watermarkMoved ? watermarkArrival : 0,
          updated.has(key) ? (window.lastArrival ?? 0) : 0,
        );
        for (const rule of reasons) alerts.push(this.windowAlert(window, rule, final, arrival));
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
        arrivedAt: new Date(event.arrivedAt).toISOString(),
      });
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

  /** bot_user_agent: once per user and window, at the window's first bot event, with its agent. */
  private botAlert(window: WindowState, event: StreamEvent): Alert {
    const start = new Date(window.start).toISOString();
    return {
      alertId: `bot_user_agent:${window.userId}:${start}`,
      userId: window.userId,
      rule: 'bot_user_agent',
      windowStart: start,
      windowEnd: new Date(window.start + this.settings.windowMs).toISOString(),
      version: 1,
      isFinal: true,
      evidence: { user_agent: event.userAgent, ip: event.ip, first_event_id: event.eventId },
      eventId: event.eventId,
      arrivedAt: new Date(event.arrivedAt).toISOString(),
    };
  }

  private windowAlert(window: WindowState, rule: string, isFinal: boolean, arrival: number): Alert {
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
      arrivedAt: new Date(arrival).toISOString(),
    };
  }
}

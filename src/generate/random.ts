/** A small seeded PRNG (mulberry32): the same seed gives the same sequence on every platform. */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** Exponential with the given mean. */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /**
   * 0..n-1 with P(k) ∝ 1/(k+offset) (Zipf-Mandelbrot, s = 1): a few are very active, most rarely.
   * The offset keeps the head plausible (the busiest user is not a third of all traffic).
   */
  zipf(n: number, offset = 1): number {
    const k = Math.floor(Math.exp(this.next() * Math.log((n + offset) / offset)) * offset) - offset;
    return Math.min(n - 1, Math.max(0, k));
  }
}

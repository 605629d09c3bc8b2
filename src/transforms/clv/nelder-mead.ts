/**
 * Nelder-Mead simplex minimisation (standard coefficients: reflection 1, expansion 2, contraction
 * 0.5, shrink 0.5). Written here: the npm packages that offer it are unmaintained (`fmin`, last
 * released 2016, pulls a plotting dependency) or barely used (`optimization-js`); the method is
 * 60 lines. Deterministic: same function and start, same result.
 */
export interface MinimizeOptions {
  readonly maxIterations?: number;
  /**
   * Stop when the simplex's function values differ by less than this (relative). On the values
   * only, not the points: a likelihood with a flat ridge (BG/NBD's a and b growing together when
   * hardly anybody drops out) would otherwise be walked along until maxIterations.
   */
  readonly tolerance?: number;
  /** Initial step along each axis. */
  readonly step?: number;
  /**
   * End a walk whose simplex comes back to one it held (the default) with the simplex it would
   * hold after maxIterations: the same result, without walking the cycle. Off only for tests.
   */
  readonly stopOnCycle?: boolean;
}

export interface MinimizeResult {
  readonly x: readonly number[];
  readonly value: number;
  readonly iterations: number;
  readonly converged: boolean;
}

export function nelderMead(
  f: (x: readonly number[]) => number,
  start: readonly number[],
  options: MinimizeOptions = {},
): MinimizeResult {
  const maxIterations = options.maxIterations ?? 2_000;
  const tolerance = options.tolerance ?? 1e-10;
  const step = options.step ?? 0.5;
  const n = start.length;
  const value = (x: number[]) => {
    const v = f(x);
    return Number.isFinite(v) ? v : Number.POSITIVE_INFINITY;
  };
  let simplex = [start.slice(), ...start.map((_, i) => start.map((s, j) => (i === j ? s + step : s)))].map(
    (x) => ({ x, v: value(x) }),
  );
  const along = (from: number[], to: number[], t: number) => from.map((a, i) => a + t * (to[i]! - a));
  const cycle = options.stopOnCycle === false ? undefined : new SimplexCycle(maxIterations);
  for (let iteration = 0; iteration < maxIterations; iteration++) {
    // a step depends on the simplex alone: once a simplex comes back, the walk repeats it forever
    // (on a flat likelihood whose rounding noise exceeds the tolerance, the simplex shrinks to an
    // ulp and cycles there), so the simplex it would end on after maxIterations is known now
    const ending = cycle?.endingOf(simplex, iteration);
    if (ending) {
      simplex = ending;
      break;
    }
    simplex.sort((p, q) => p.v - q.v);
    const best = simplex[0]!;
    const worst = simplex[n]!;
    if (Math.abs(worst.v - best.v) <= tolerance * (Math.abs(best.v) + tolerance))
      return { x: best.x, value: best.v, iterations: iteration, converged: true };
    const centroid = start.map((_, i) => simplex.slice(0, n).reduce((s, p) => s + p.x[i]!, 0) / n);
    const reflected = along(worst.x, centroid, 2);
    const vr = value(reflected);
    if (vr < best.v) {
      const expanded = along(worst.x, centroid, 3);
      const ve = value(expanded);
      simplex[n] = ve < vr ? { x: expanded, v: ve } : { x: reflected, v: vr };
    } else if (vr < simplex[n - 1]!.v) {
      simplex[n] = { x: reflected, v: vr };
    } else {
      const outside = vr < worst.v;
      const contracted = outside ? along(worst.x, centroid, 1.5) : along(worst.x, centroid, 0.5);
      const vc = value(contracted);
      if (vc < Math.min(vr, worst.v)) simplex[n] = { x: contracted, v: vc };
      else
        simplex = simplex
          .map((p, i) => (i === 0 ? p : { x: along(best.x, p.x, 0.5), v: 0 }))
          .map((p, i) => (i === 0 ? p : { x: p.x, v: value(p.x) }));
    }
  }
  simplex.sort((p, q) => p.v - q.v);
  return { x: simplex[0]!.x, value: simplex[0]!.v, iterations: maxIterations, converged: false };
}

/** A number's text that tells -0 from 0 (a step may treat them differently). */
const exact = (n: number): string => (Object.is(n, -0) ? '-0' : String(n));

interface Vertex {
  readonly x: number[];
  readonly v: number;
}

/**
 * The last simplexes of a walk (vertices in their order, bit for bit), to find one that comes back.
 * Vertices are never changed in place (a step replaces them), so keeping the arrays keeps the states.
 */
class SimplexCycle {
  static readonly KEPT = 16;
  private readonly keys: string[] = [];
  private readonly states: Vertex[][] = [];

  constructor(private readonly maxIterations: number) {}

  /**
   * The simplex the walk would hold after its last iteration, if `simplex` (the state at the top of
   * `iteration`) repeats one of the last states kept: the walk is then periodic from that state on.
   */
  endingOf(simplex: readonly Vertex[], iteration: number): Vertex[] | undefined {
    const key = simplex.map((p) => `${p.x.map(exact).join(',')}:${p.v}`).join(';');
    const at = this.keys.lastIndexOf(key);
    if (at >= 0) {
      const first = iteration - (this.keys.length - at); // the iteration that held this state before
      const period = iteration - first;
      const last = first + ((this.maxIterations - first) % period);
      return [...this.states[at + (last - first)]!];
    }
    this.keys.push(key);
    this.states.push([...simplex]);
    if (this.keys.length > SimplexCycle.KEPT) {
      this.keys.shift();
      this.states.shift();
    }
    return undefined;
  }
}

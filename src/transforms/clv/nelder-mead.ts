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
  for (let iteration = 0; iteration < maxIterations; iteration++) {
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

import gammaln from '@stdlib/math-base-special-gammaln';

export { gammaln };

/** log(exp(a) + exp(b)) without overflow. */
export function logAddExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  const max = Math.max(a, b);
  return max + Math.log1p(Math.exp(-Math.abs(a - b)));
}

/**
 * Gauss hypergeometric 2F1(a, b; c; z) for 0 <= z < 1 by its power series. Written here because no
 * small maintained npm package provides it (stdlib has no hyp2f1 package; mathjs does not have it).
 * BG/NBD calls it with z = t / (alpha + T + t) < 1 and positive a, b, c, where the terms are
 * positive and eventually decrease geometrically, so summing until a term no longer changes the
 * sum is exact to double precision.
 */
export function hyp2f1(a: number, b: number, c: number, z: number): number {
  if (!(z >= 0 && z < 1)) throw new RangeError(`hyp2f1: z must be in [0, 1), got ${z}`);
  let term = 1;
  let sum = 1;
  for (let n = 0; n < 100_000; n++) {
    term *= (((a + n) * (b + n)) / ((c + n) * (n + 1))) * z;
    const next = sum + term;
    if (next === sum) return sum;
    sum = next;
  }
  throw new RangeError(`hyp2f1(${a}, ${b}; ${c}; ${z}) did not converge`);
}

/**
 * ln(Gamma(base + n) / Gamma(base)), the log of the rising factorial. For a small whole n (the
 * models' purchase counts) as a sum of logs: differencing two large log-gammas loses the digits
 * that tell a flat likelihood's points apart (BG/NBD's a and b in the millions when nobody drops
 * out), and the optimizer then never sees it converge.
 */
export function logRising(base: number, n: number): number {
  if (Number.isInteger(n) && n >= 0 && n <= 256) {
    let sum = 0;
    for (let k = 0; k < n; k++) sum += Math.log(base + k);
    return sum;
  }
  return gammaln(base + n) - gammaln(base);
}

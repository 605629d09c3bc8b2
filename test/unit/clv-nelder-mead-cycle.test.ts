import { describe, expect, it } from 'vitest';
import { nelderMead } from '../../src/transforms/clv/nelder-mead.js';

// A bowl whose values carry deterministic noise far above the tolerance at the scale of an ulp (as
// a flat likelihood's rounding noise does): from this start the simplex shrinks to adjacent
// doubles and then cycles there until maxIterations, never meeting the tolerance.
const noisyBowl = ([x, y, z]: readonly number[]) =>
  (x! - 1) ** 2 + (y! - 2) ** 2 + 1e-6 * Math.sin(1e13 * (x! + 3 * y!)) + 0 * z!;
const start = [0.3, -1, 2];

function run(maxIterations: number, stopOnCycle: boolean) {
  let evaluations = 0;
  const result = nelderMead(
    (x) => {
      evaluations++;
      return noisyBowl(x);
    },
    start,
    { maxIterations, stopOnCycle },
  );
  return { result, evaluations };
}

describe('Nelder-Mead: a walk that cycles ends where maxIterations would have ended it', () => {
  // several bounds, so that the walk would stop at different phases of the cycle
  it.each([2000, 1999, 1501, 1000, 777])('maxIterations %i: same point and value, bit for bit', (max) => {
    const walked = run(max, false);
    const shortcut = run(max, true);
    expect(walked.result.converged).toBe(false);
    expect(shortcut.result.iterations).toBe(walked.result.iterations);
    expect(shortcut.result.converged).toBe(walked.result.converged);
    expect(Object.is(shortcut.result.value, walked.result.value)).toBe(true);
    expect(shortcut.result.x.length).toBe(3);
    for (const [i, xi] of shortcut.result.x.entries()) expect(Object.is(xi, walked.result.x[i])).toBe(true);
    // the cycle is not walked: a fraction of the evaluations
    expect(shortcut.evaluations).toBeLessThan(walked.evaluations / 2);
  });

  it('a walk that converges is the same walk', () => {
    let walked = 0;
    let shortcut = 0;
    const bowl = ([x, y]: readonly number[]) => (x! - 1) ** 2 + 100 * (y! - x! ** 2) ** 2;
    const a = nelderMead(
      (x) => {
        walked++;
        return bowl(x);
      },
      [-1.2, 1],
      { stopOnCycle: false },
    );
    const b = nelderMead(
      (x) => {
        shortcut++;
        return bowl(x);
      },
      [-1.2, 1],
    );
    expect(b).toEqual(a);
    expect(shortcut).toBe(walked);
  });
});

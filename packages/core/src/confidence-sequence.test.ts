import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MIXTURE_PRIOR,
  betaMixtureBounds,
  lnBeta,
  lnGamma,
  lnMarginalLikelihood,
  type BetaMixturePrior,
} from './confidence-sequence.js';
import { clopperPearsonLower } from './stats.js';
import { isDensePureMathError } from './errors.js';

const JEFFREYS: BetaMixturePrior = [{ weight: 1, a: 0.5, b: 0.5 }];

function lnFactorial(n: number): number {
  let s = 0;
  for (let i = 2; i <= n; i++) s += Math.log(i);
  return s;
}

/** ln of the sequence probability under Beta(a, b) by the product of predictive probabilities. */
function lnPredictiveProduct(a: number, b: number, s: number, f: number): number {
  let out = 0;
  for (let i = 0; i < s; i++) out += Math.log((a + i) / (a + b + i));
  for (let j = 0; j < f; j++) out += Math.log((b + j) / (a + b + s + j));
  return out;
}

describe('lnGamma / lnBeta', () => {
  it('matches ln((n - 1)!) and ln sqrt(pi)', () => {
    for (const n of [1, 2, 3, 5, 10, 12, 13, 20, 50, 100, 170]) {
      const want = lnFactorial(n - 1);
      expect(Math.abs(lnGamma(n) - want)).toBeLessThanOrEqual(1e-13 * Math.max(1, Math.abs(want)));
    }
    expect(Math.abs(lnGamma(0.5) - 0.5 * Math.log(Math.PI))).toBeLessThan(1e-14);
    expect(Math.abs(lnGamma(1.5) - Math.log(Math.sqrt(Math.PI) / 2))).toBeLessThan(1e-14);
    // Gamma(x) ~ 1/x - gamma for tiny x.
    expect(Math.abs(lnGamma(1e-10) - (-Math.log(1e-10) - 0.5772156649015329e-10))).toBeLessThan(1e-14);
  });

  it('satisfies the recurrence ln Gamma(x + 1) = ln Gamma(x) + ln x', () => {
    for (const x of [0.01, 0.3, 0.77, 3.3, 11.5, 12.5, 1e3 + 0.25, 1e6 + 0.5]) {
      expect(Math.abs(lnGamma(x + 1) - lnGamma(x) - Math.log(x))).toBeLessThan(1e-15 * Math.max(1, lnGamma(x + 1)) * 8);
    }
  });

  it('lnBeta is symmetric and B(1, b) = 1 / b', () => {
    expect(lnBeta(2.5, 7)).toBeCloseTo(lnBeta(7, 2.5), 14);
    expect(lnBeta(1, 1 / 16)).toBeCloseTo(Math.log(16), 13);
  });

  it('rejects x <= 0', () => {
    expect(() => lnGamma(0)).toThrowError(/x > 0/);
  });
});

describe('lnMarginalLikelihood', () => {
  it('equals the product of beta-binomial predictive probabilities', () => {
    for (const [a, b] of [
      [0.5, 0.5],
      [1, 1 / 16],
      [2, 3],
    ] as const) {
      for (const [s, f] of [
        [0, 0],
        [5, 0],
        [0, 7],
        [37, 4],
        [900, 100],
      ] as const) {
        const got = lnMarginalLikelihood(s, f, [{ weight: 3, a, b }]);
        const want = lnPredictiveProduct(a, b, s, f);
        expect(Math.abs(got - want)).toBeLessThan(1e-11 * Math.max(1, Math.abs(want)));
      }
    }
  });

  it('mixes components by normalized weight', () => {
    const got = lnMarginalLikelihood(30, 2, DEFAULT_MIXTURE_PRIOR);
    const want = Math.log(
      0.5 * Math.exp(lnPredictiveProduct(0.5, 0.5, 30, 2)) + 0.5 * Math.exp(lnPredictiveProduct(1, 1 / 16, 30, 2)),
    );
    expect(got).toBeCloseTo(want, 12);
  });
});

describe('betaMixtureBounds', () => {
  const alpha = 0.001;
  /** ln M_n(m) = ln C - S ln m - F ln(1 - m): the mixture martingale at candidate m. */
  const lnM = (s: number, n: number, m: number, prior = DEFAULT_MIXTURE_PRIOR): number =>
    lnMarginalLikelihood(s, n - s, prior) - (s > 0 ? s * Math.log(m) : 0) - (n - s > 0 ? (n - s) * Math.log1p(-m) : 0);

  it('puts each end where the mixture martingale crosses 1 / alpha, rounded outward', () => {
    for (const [s, n] of [
      [1, 1],
      [3, 10],
      [95, 100],
      [400, 400],
      [9_900, 10_000],
      [99_990, 100_000],
      [69_000, 100_000],
    ] as const) {
      const { lower, upper } = betaMixtureBounds(s, n, alpha);
      const lnThreshold = Math.log(1 / alpha);
      // At the ends the martingale is at or above 1/alpha (outside the confidence set) ...
      if (lower > 0) expect(lnM(s, n, lower)).toBeGreaterThanOrEqual(lnThreshold - 1e-12);
      if (upper < 1) expect(lnM(s, n, upper)).toBeGreaterThanOrEqual(lnThreshold - 1e-12);
      // ... and just inside it is below (the set is not needlessly wide).
      const eps = 1e-6 * (upper - lower);
      if (lower > 0) expect(lnM(s, n, lower + eps)).toBeLessThan(lnThreshold);
      if (upper < 1) expect(lnM(s, n, upper - eps)).toBeLessThan(lnThreshold);
      expect(lower).toBeLessThan(s / n);
      if (s < n) expect(upper).toBeGreaterThan(s / n);
    }
  });

  it('handles the edges: n = 0, no successes, all successes', () => {
    expect(betaMixtureBounds(0, 0, alpha)).toEqual({ lower: 0, upper: 1 });
    expect(betaMixtureBounds(0, 50, alpha).lower).toBe(0);
    expect(betaMixtureBounds(50, 50, alpha).upper).toBe(1);
    // All successes: closed form n ln m = ln C + ln alpha.
    const n = 346;
    const want = Math.exp((lnMarginalLikelihood(n, 0, DEFAULT_MIXTURE_PRIOR) + Math.log(alpha)) / n);
    // Within the outward-rounding slack (about 1e-11 relative here).
    expect(Math.abs(betaMixtureBounds(n, n, alpha).lower - want)).toBeLessThan(1e-10);
    expect(betaMixtureBounds(n, n, alpha).lower).toBeLessThanOrEqual(want);
  });

  it('is symmetric under a symmetric prior', () => {
    for (const [s, n] of [
      [7, 30],
      [620, 1000],
    ] as const) {
      const a = betaMixtureBounds(s, n, 0.05, JEFFREYS);
      const b = betaMixtureBounds(n - s, n, 0.05, JEFFREYS);
      expect(a.lower).toBeCloseTo(1 - b.upper, 12);
    }
  });

  it('is monotone: lower grows with successes, and with n when every draw succeeds', () => {
    let prev = -1;
    for (let s = 0; s <= 200; s++) {
      const l = betaMixtureBounds(s, 200, alpha).lower;
      expect(l).toBeGreaterThanOrEqual(prev);
      prev = l;
    }
    for (const a of [0.5, 0.1, 0.001, 1e-6]) {
      let last = 0;
      for (let n = 1; n <= 2 ** 24; n = Math.ceil(n * 1.07) + 1) {
        const l = betaMixtureBounds(n, n, a).lower;
        expect(l, `alpha ${a}, n ${n}`).toBeGreaterThanOrEqual(last);
        last = l;
      }
    }
  });

  it('is never tighter than the fixed-n Clopper-Pearson bound at the same alpha (it holds for all n at once)', () => {
    for (const [s, n] of [
      [300, 300],
      [5_114, 5_114],
      [980, 1000],
      [97_800, 100_000],
    ] as const) {
      expect(betaMixtureBounds(s, n, alpha).lower).toBeLessThan(clopperPearsonLower(s, n, alpha));
    }
  });

  it('covers the mean at every n up to a horizon with probability >= 1 - alpha (exact, by dynamic programming)', () => {
    // P(exists n <= H: p outside (lower_n, upper_n)) summed exactly over all count paths: the probability of
    // reaching (n, S) without having left the confidence sequence, then the mass that leaves at each n.
    const H = 300;
    for (const a of [0.1, 0.01]) {
      for (const p of [0.5, 0.6915, 0.8413, 0.97725]) {
        let alive = new Float64Array(H + 2);
        alive[0] = 1;
        let escaped = 0;
        for (let n = 1; n <= H; n++) {
          const next = new Float64Array(H + 2);
          for (let s = 0; s < n; s++) {
            const mass = alive[s]!;
            if (mass === 0) continue;
            next[s + 1]! += mass * p;
            next[s]! += mass * (1 - p);
          }
          for (let s = 0; s <= n; s++) {
            if (next[s] === 0) continue;
            const { lower, upper } = betaMixtureBounds(s, n, a);
            if (!(lower < p && p < upper)) {
              escaped += next[s]!;
              next[s] = 0;
            }
          }
          alive = next;
        }
        expect(escaped, `alpha ${a}, p ${p}`).toBeLessThanOrEqual(a);
      }
    }
  });

  it('rejects bad arguments', () => {
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        return isDensePureMathError(e) ? e.code : 'other';
      }
      return undefined;
    };
    expect(code(() => betaMixtureBounds(5, 4, alpha))).toBe('invalid-argument');
    expect(code(() => betaMixtureBounds(1, 4, 0))).toBe('invalid-argument');
    expect(code(() => betaMixtureBounds(1, 4, 0.1, []))).toBe('invalid-argument');
    expect(code(() => betaMixtureBounds(1, 4, 0.1, [{ weight: 1, a: 0, b: 1 }]))).toBe('invalid-argument');
  });
});

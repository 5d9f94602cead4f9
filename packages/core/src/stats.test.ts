import { describe, expect, it } from 'vitest';
import stdlibBinomialTest from '@stdlib/stats-binomial-test';
import { binomialTestTwoSided, clopperPearson, clopperPearsonLower, normalCdf, normalQuantile } from './stats.js';
import { DensePureMathError } from './errors.js';
import { REF, expectClose, type Json } from './test-util/reference.js';

describe('Clopper-Pearson (statsmodels method="beta", via scipy.stats.beta)', () => {
  for (const r of REF.clopperPearson as Json[]) {
    it(`k=${r.k} n=${r.n} alpha=${r.alpha}`, () => {
      const ci = clopperPearson(r.k, r.n, r.alpha);
      expectClose(ci.lower, r.lower, 1e-12, 0, 'lower');
      expectClose(ci.upper, r.upper, 1e-12, 0, 'upper');
      expectClose(clopperPearsonLower(r.k, r.n, r.alpha), r.oneSidedLower, 1e-12, 0, 'one-sided lower');
    });
  }
  it('edge cases: k = 0 -> lower 0, k = n -> upper 1, n = 1', () => {
    expect(clopperPearson(0, 50, 0.01).lower).toBe(0);
    expect(clopperPearson(50, 50, 0.01).upper).toBe(1);
    expect(clopperPearsonLower(0, 1, 0.001)).toBe(0);
    // n = k: the one-sided bound is alpha^(1/n)
    expectClose(clopperPearsonLower(1, 1, 0.001), 0.001, 1e-12);
    expectClose(clopperPearsonLower(100, 100, 0.001), 0.001 ** (1 / 100), 1e-12);
  });
  it('validates arguments', () => {
    for (const [k, n, a] of [
      [1, 0, 0.1],
      [3, 2, 0.1],
      [-1, 2, 0.1],
      [1.5, 2, 0.1],
      [1, 2, 0],
      [1, 2, 1],
      [1, 2, Number.NaN],
    ] as const) {
      expect(() => clopperPearson(k, n, a)).toThrow(DensePureMathError);
      expect(() => clopperPearsonLower(k, n, a)).toThrow(DensePureMathError);
    }
  });
});

describe('normal quantile and cdf (scipy.stats.norm)', () => {
  for (const r of REF.normalQuantile as Json[]) {
    it(`ppf(${r.p})`, () => {
      // p = 1e-300: @stdlib erfcinv and scipy's ndtri differ by 7.0e-14 relative (-37.04709629936378 vs
      // -37.0470962993612); everywhere else the observed difference is <= 3.4e-16.
      const rel = r.p === 1e-300 ? 2e-13 : 1e-12;
      expectClose(normalQuantile(r.p), r.x, rel, 0, `ppf(${r.p})`);
    });
  }
  for (const r of REF.normalCdf as Json[]) {
    it(`cdf(${r.x})`, () => {
      // Lower tail: @stdlib's 0.5 erfc(-x / sqrt 2) vs scipy's ndtr differ by 1.6e-14 relative at x = -10
      // and 4.6e-15 at x = -5 (rounding of x / sqrt 2 amplified by x^2); elsewhere they agree exactly.
      const rel = r.x <= -5 ? 5e-14 : 1e-12;
      expectClose(normalCdf(r.x), r.p, rel, 0, `cdf(${r.x})`);
    });
  }
  it('symmetry, round trip, and validation', () => {
    expect(normalQuantile(0.5)).toBe(0);
    expectClose(normalQuantile(0.975), -normalQuantile(0.025), 1e-15);
    for (const p of [1e-12, 0.01, 0.3, 0.7, 0.99]) expectClose(normalCdf(normalQuantile(p)), p, 1e-12);
    expect(() => normalQuantile(1.5)).toThrow(DensePureMathError);
    expect(() => normalQuantile(Number.NaN)).toThrow(DensePureMathError);
    expect(() => normalCdf(Number.NaN)).toThrow(DensePureMathError);
  });
});

describe('binomialTestTwoSided (scipy.stats.binomtest)', () => {
  for (const r of REF.binomialTest as Json[]) {
    it(`k=${r.k} n=${r.n} p=${r.p}`, () => {
      // 950/1000 (p-value 1.9e-216): @stdlib's incomplete beta and scipy/boost's differ by 1.2e-13 relative
      // that deep in the tail; everywhere else the observed difference is <= 2.3e-14.
      const rel = r.pValue < 1e-100 ? 5e-13 : 1e-12;
      expectClose(binomialTestTwoSided(r.k, r.n, r.p), r.pValue, rel, 0, 'p-value');
    });
  }
  it('agrees with @stdlib/stats-binomial-test where that is accurate (p-values not tiny)', () => {
    for (const [k, n, p] of [
      [7, 10, 0.5],
      [60, 100, 0.5],
      [45, 100, 0.3],
      [527, 1000, 0.5],
      [3, 1000, 0.001],
    ] as const) {
      expectClose(binomialTestTwoSided(k, n, p), stdlibBinomialTest(k, n, { p }).pValue, 1e-10);
    }
  });
  it('validates arguments', () => {
    expect(() => binomialTestTwoSided(1, 0)).toThrow(DensePureMathError);
    expect(() => binomialTestTwoSided(3, 2)).toThrow(DensePureMathError);
    expect(() => binomialTestTwoSided(1, 2, 0)).toThrow(DensePureMathError);
    expect(() => binomialTestTwoSided(1, 2, 1)).toThrow(DensePureMathError);
  });
});

import betaQuantile from '@stdlib/stats-base-dists-beta-quantile';
import betaincinv from '@stdlib/math-base-special-betaincinv';
import erfcinv from '@stdlib/math-base-special-erfcinv';
import normalCdfImpl from '@stdlib/stats-base-dists-normal-cdf';
import binomialPmf from '@stdlib/stats-base-dists-binomial-pmf';
import binomialCdf from '@stdlib/stats-base-dists-binomial-cdf';
import betainc from '@stdlib/math-base-special-betainc';
import { DensePureMathError, assertInteger } from './errors.js';

function assertCounts(k: number, n: number): void {
  assertInteger('n (number of trials)', n, 1);
  assertInteger('k (number of successes)', k, 0, n);
}

/** Throws `invalid-argument` unless x is in (0, 1). */
export function assertOpenUnit(name: string, x: number): void {
  if (typeof x !== 'number' || !(x > 0 && x < 1)) {
    throw new DensePureMathError('invalid-argument', `${name} must be in (0, 1), got ${String(x)}`);
  }
}

/** A two-sided confidence interval for a binomial proportion. */
export interface ConfidenceInterval {
  readonly lower: number;
  readonly upper: number;
}

/**
 * Two-sided (1 - alpha) Clopper-Pearson interval for k successes out of n, exactly as statsmodels'
 * `proportion_confint(k, n, alpha, method='beta')`: lower = BetaInv(alpha/2; k, n-k+1) (0 when k = 0),
 * upper = BetaInv(1 - alpha/2; k+1, n-k) (1 when k = n). The upper end is computed with the inverse of the
 * upper regularized incomplete beta (scipy's `beta.isf`, @stdlib `betaincinv(alpha/2, k+1, n-k, true)`), so
 * tiny alpha keeps full precision (1 - alpha/2 would round).
 */
export function clopperPearson(k: number, n: number, alpha: number): ConfidenceInterval {
  assertCounts(k, n);
  assertOpenUnit('alpha', alpha);
  const a2 = alpha * 0.5;
  const lower = k === 0 ? 0 : betaQuantile(a2, k, n - k + 1);
  const upper = k === n ? 1 : betaincinv(a2, k + 1, n - k, true);
  return { lower, upper };
}

/**
 * One-sided (1 - alpha) lower confidence bound on a binomial proportion, as Cohen et al.'s CERTIFY uses
 * it (locuslab/smoothing `_lower_confidence_bound`: `proportion_confint(k, n, alpha=2*alpha,
 * method='beta')[0]`), i.e. BetaInv(alpha; k, n-k+1), and 0 when k = 0.
 */
export function clopperPearsonLower(k: number, n: number, alpha: number): number {
  assertCounts(k, n);
  assertOpenUnit('alpha', alpha);
  return k === 0 ? 0 : betaQuantile(alpha, k, n - k + 1);
}

/**
 * One-sided (1 - alpha) upper confidence bound on a binomial proportion: the upper end of the two-sided
 * (1 - 2 alpha) Clopper-Pearson interval (statsmodels' `proportion_confint(k, n, alpha=2*alpha,
 * method='beta')[1]`), i.e. the inverse of the upper regularized incomplete beta at alpha with (k + 1, n - k),
 * and 1 when k = n. Unlike `clopperPearson(k, n, 2 * alpha)` it takes any alpha in (0, 1).
 */
export function clopperPearsonUpper(k: number, n: number, alpha: number): number {
  assertCounts(k, n);
  assertOpenUnit('alpha', alpha);
  return k === n ? 1 : betaincinv(alpha, k + 1, n - k, true);
}

/**
 * Standard normal quantile Phi^{-1}(p) (p = 0 -> -Infinity, p = 1 -> +Infinity), computed as
 * -sqrt(2) erfcinv(2p) for p < 0.5 and sqrt(2) erfcinv(2(1 - p)) otherwise (@stdlib erfcinv; 1 - p is exact
 * there). @stdlib's normal-quantile package goes through erfinv(2p - 1) and loses relative precision in
 * the lower tail (observed 1.2e-5 relative error at p = 1e-15, -Infinity at p = 1e-300), so it is not used.
 */
export function normalQuantile(p: number): number {
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
    throw new DensePureMathError('invalid-argument', `normalQuantile needs p in [0, 1], got ${String(p)}`);
  }
  return p < 0.5 ? -Math.SQRT2 * erfcinv(2 * p) : Math.SQRT2 * erfcinv(2 * (1 - p));
}

/** Standard normal CDF Phi(x), via @stdlib. NaN throws. */
export function normalCdf(x: number): number {
  if (typeof x !== 'number' || Number.isNaN(x)) {
    throw new DensePureMathError('invalid-argument', `normalCdf needs a number, got ${String(x)}`);
  }
  return normalCdfImpl(x, 0, 1);
}

/** P(X > x) for X ~ Binomial(n, p): the regularized incomplete beta I_p(x + 1, n - x). */
function binomialSf(x: number, n: number, p: number): number {
  if (x < 0) return 1;
  if (x >= n) return 0;
  return betainc(p, x + 1, n - x, true, false);
}

/** scipy.stats._binomtest._binary_search_for_binom_tst. */
function binarySearchForBinomTest(a: (x: number) => number, d: number, lo0: number, hi0: number): number {
  let lo = lo0;
  let hi = hi0;
  while (lo < hi) {
    const mid = lo + Math.floor((hi - lo) / 2);
    const midval = a(mid);
    if (midval < d) lo = mid + 1;
    else if (midval > d) hi = mid - 1;
    else return mid;
  }
  return a(lo) <= d ? lo : lo - 1;
}

/**
 * Two-sided exact binomial test p-value, as `scipy.stats.binomtest(k, n, p).pvalue` (and the older
 * `scipy.stats.binom_test` that locuslab/smoothing's PREDICT calls): sum of the probabilities of all
 * outcomes no more likely than k (relative tolerance 1 + 1e-7), clipped to 1. Ported from scipy's
 * algorithm on top of @stdlib's binomial pmf/cdf and regularized incomplete beta (the upper tail uses
 * I_p directly rather than 1 - cdf, so tiny p-values keep their relative precision).
 * n >= 1, 0 <= k <= n, 0 < p < 1.
 */
export function binomialTestTwoSided(k: number, n: number, p = 0.5): number {
  assertCounts(k, n);
  assertOpenUnit('p', p);
  const pmf = (x: number): number => binomialPmf(x, n, p);
  const d = pmf(k);
  const rerr = 1 + 1e-7;
  const pn = p * n;
  let pval: number;
  if (k === pn) {
    pval = 1;
  } else if (k < pn) {
    const ix = binarySearchForBinomTest((x) => -pmf(x), -d * rerr, Math.ceil(pn), n);
    const y = n - ix + (d * rerr === pmf(ix) ? 1 : 0);
    pval = binomialCdf(k, n, p) + binomialSf(n - y, n, p);
  } else {
    const ix = binarySearchForBinomTest(pmf, d * rerr, 0, Math.floor(pn));
    const y = ix + 1;
    pval = binomialCdf(y - 1, n, p) + binomialSf(k - 1, n, p);
  }
  return Math.min(1, pval);
}

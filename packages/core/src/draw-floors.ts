// How few draws certifying an input could possibly take: yardsticks for what sequential certification spends.
import betaQuantile from '@stdlib/stats-base-dists-beta-quantile';
import { DensePureMathError } from './errors.js';
import { firstCountWhere } from './search.js';
import { assertOpenUnit } from './stats.js';

const MAX_DRAWS = 2 ** 32;

function assertRate(name: string, x: number): void {
  if (typeof x !== 'number' || !(x > 0 && x <= 1)) {
    throw new DensePureMathError('invalid-argument', `${name} must be in (0, 1], got ${String(x)}`);
  }
}

/**
 * The fewest draws with which fixed-n CERTIFY (Cohen's one-sided Clopper-Pearson bound) would certify
 * pA > threshold if the votes for the top class came in at exactly the rate pA: the draw count an oracle
 * that knew pA would choose. The bound is BetaInv(alpha; k, n - k + 1) at k = n pA, continuous in the count
 * (at integer k it is Clopper-Pearson's), so it grows with n and a doubling search then bisection finds the
 * first count. With pA = 1 it is ceil(ln alpha / ln threshold), the floor of an input every draw gets right.
 * Null when pA <= threshold or no count up to 2^32 certifies.
 */
export function oracleFixedDraws(pA: number, threshold: number, alpha: number): number | null {
  assertRate('pA', pA);
  assertOpenUnit('threshold', threshold);
  assertOpenUnit('alpha', alpha);
  if (!(pA > threshold)) return null;
  return firstCountWhere((n) => betaQuantile(alpha, n * pA, n - n * pA + 1) > threshold, MAX_DRAWS);
}

/** Kullback-Leibler divergence between Bernoulli(p) and Bernoulli(q) in nats (0 ln 0 = 0). */
export function bernoulliKl(p: number, q: number): number {
  const term = (x: number, y: number): number => (x === 0 ? 0 : x * Math.log(x / y));
  return term(p, q) + term(1 - p, 1 - q);
}

/**
 * Wald's lower bound on the expected number of draws of ANY sequential test (any stopping rule, any look
 * schedule, any confidence sequence) that certifies pA > threshold with error at most alpha when pA equals
 * the threshold and certifies with probability at least 1 - beta when the true rate is pA:
 *   E_pA[n] >= kl(1 - beta, alpha) / KL(Bernoulli(pA) || Bernoulli(threshold)),
 * where kl is the Bernoulli KL of the two certification probabilities (the data-processing inequality on
 * the stopped likelihood ratio; Wald 1945, and e.g. Garivier & Kaufmann 2016, Lemma 1). Unlike
 * {@link oracleFixedDraws} no procedure can beat it; it is smaller because it may use all the information a
 * test could. Infinity when pA <= threshold (no valid test certifies there with probability > alpha).
 */
export function waldDrawsBound(pA: number, threshold: number, alpha: number, beta: number): number {
  assertRate('pA', pA);
  assertOpenUnit('threshold', threshold);
  assertOpenUnit('alpha', alpha);
  assertOpenUnit('beta', beta);
  if (!(1 - beta > alpha)) {
    throw new DensePureMathError('invalid-argument', `1 - beta must exceed alpha (a test more powerful than chance), got beta ${beta}, alpha ${alpha}`);
  }
  if (!(pA > threshold)) return Infinity;
  return bernoulliKl(1 - beta, alpha) / bernoulliKl(pA, threshold);
}

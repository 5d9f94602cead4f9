import { DensePureMathError, assertInteger } from './errors.js';

/**
 * One component of a mixing prior: weight * Beta(a, b). Weights of a prior need not sum to 1; they are
 * normalized.
 */
export interface BetaComponent {
  readonly weight: number;
  readonly a: number;
  readonly b: number;
}

/** A mixing distribution on the Bernoulli mean: a finite mixture of Beta distributions. */
export type BetaMixturePrior = readonly BetaComponent[];

/**
 * The default mixing prior of {@link betaMixtureBounds}: 1/2 Beta(1/2, 1/2) (Jeffreys; regret about
 * (1/2) ln(pi n / 2) nats uniformly over p) + 1/2 Beta(1, 1/16) (mass piled up near 1; regret about
 * (1/16) ln n nats when every draw agrees). Certification thresholds Phi(r / sigma) lie between 0.69 and
 * 0.9987 for the radii that matter, and a base classifier that is robust at an input has pA near 1: there
 * the second component certifies with close to the draws a fixed-n Clopper-Pearson bound needs (all-correct
 * draws to reach pA >= 0.97725 at alpha = 0.001: Clopper-Pearson at a fixed n 301, this prior 346, Jeffreys
 * alone 459; to reach 0.99865: 5,114, 6,045, 8,904), while the first keeps the bound within ln 2 nats of
 * Jeffreys' everywhere else. Fixed in the code, before and independently of any data (as Ville's inequality
 * requires of the mixing distribution).
 */
export const DEFAULT_MIXTURE_PRIOR: BetaMixturePrior = Object.freeze([
  Object.freeze({ weight: 0.5, a: 0.5, b: 0.5 }),
  Object.freeze({ weight: 0.5, a: 1, b: 1 / 16 }),
]);

/** Lower and upper end of a confidence sequence at one look. */
export interface ConfidenceBounds {
  readonly lower: number;
  readonly upper: number;
}

// Stirling series coefficients B_{2k} / (2k (2k - 1)), k = 1..7.
const STIRLING = [1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156];
const HALF_LN_2PI = 0.9189385332046728;

/**
 * ln Gamma(x) for x > 0: the Stirling series (7 terms, error < 1e-16 relative for x >= 12) after shifting
 * small x up with Gamma(x) = Gamma(x + k) / (x (x + 1) ... (x + k - 1)).
 */
export function lnGamma(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) {
    throw new DensePureMathError('invalid-argument', `lnGamma needs a finite x > 0, got ${String(x)}`);
  }
  // Shift up to y >= 12 where the series is accurate: ln Gamma(x) = ln Gamma(y) - ln(x (x + 1) ... (y - 1)).
  let prod = 1;
  let y = x;
  while (y < 12) {
    prod *= y;
    y += 1;
  }
  const shift = Math.log(prod);
  const inv = 1 / y;
  const inv2 = inv * inv;
  let series = 0;
  let pow = inv;
  for (const c of STIRLING) {
    series += c * pow;
    pow *= inv2;
  }
  return (y - 0.5) * Math.log(y) - y + HALF_LN_2PI + series - shift;
}

/** ln B(a, b) = ln Gamma(a) + ln Gamma(b) - ln Gamma(a + b), a, b > 0. */
export function lnBeta(a: number, b: number): number {
  return lnGamma(a) + lnGamma(b) - lnGamma(a + b);
}

function assertPrior(prior: BetaMixturePrior): void {
  if (!Array.isArray(prior) || prior.length === 0) {
    throw new DensePureMathError('invalid-argument', 'a mixing prior needs at least one Beta component');
  }
  for (const c of prior) {
    if (!(c.weight > 0 && Number.isFinite(c.weight) && c.a > 0 && Number.isFinite(c.a) && c.b > 0 && Number.isFinite(c.b))) {
      throw new DensePureMathError(
        'invalid-argument',
        `a mixing prior component needs finite weight, a, b > 0, got ${JSON.stringify(c)}`,
      );
    }
  }
}

/**
 * ln of the prior-predictive (marginal) probability of one particular sequence with `successes` ones and
 * `failures` zeros: ln integral p^S (1 - p)^F dPrior(p) = ln sum_j w_j B(a_j + S, b_j + F) / B(a_j, b_j)
 * (weights normalized).
 */
export function lnMarginalLikelihood(successes: number, failures: number, prior: BetaMixturePrior): number {
  let total = 0;
  for (const c of prior) total += c.weight;
  let max = -Infinity;
  const terms: number[] = [];
  for (const c of prior) {
    const t = Math.log(c.weight / total) + lnBeta(c.a + successes, c.b + failures) - lnBeta(c.a, c.b);
    terms.push(t);
    if (t > max) max = t;
  }
  let sum = 0;
  for (const t of terms) sum += Math.exp(t - max);
  return max + Math.log(sum);
}

/** S ln m + F ln(1 - m), the log-likelihood of the counts at mean m (0 ln 0 = 0). */
function logLikelihood(successes: number, failures: number, m: number): number {
  return (successes > 0 ? successes * Math.log(m) : 0) + (failures > 0 ? failures * Math.log1p(-m) : 0);
}

/**
 * Bisection for the crossing of the monotone log-likelihood with `threshold` on [lo, hi] (ll(lo) and
 * ll(hi) on opposite sides). `increasing` says which way ll runs on the bracket. Returns the end of the
 * final bracket that lies outside the confidence set (ll <= threshold), so rounding never narrows the set.
 */
function crossing(
  successes: number,
  failures: number,
  threshold: number,
  lo0: number,
  hi0: number,
  increasing: boolean,
): number {
  let lo = lo0;
  let hi = hi0;
  for (let i = 0; i < 200; i++) {
    const mid = lo + (hi - lo) / 2;
    if (mid <= lo || mid >= hi) break;
    const inside = logLikelihood(successes, failures, mid) > threshold;
    if (inside === increasing) hi = mid;
    else lo = mid;
  }
  return increasing ? lo : hi;
}

/**
 * Slack (nats) subtracted from the rejection threshold so that rounding in ln Gamma (about 1e-16 of
 * |ln Gamma| ~ n ln n) can only widen the confidence set.
 */
function slack(successes: number, failures: number): number {
  const n = successes + failures;
  return 1e-12 * (n + 1) * Math.log(n + 2) + 1e-12;
}

/**
 * Beta-binomial mixture confidence sequence for a Bernoulli mean (Robbins 1970; Lai 1976, "On confidence
 * sequences", Ann. Statist. 4(2); Howard, Ramdas, McAuliffe & Sekhon 2021, "Time-uniform, nonparametric,
 * nonasymptotic confidence sequences", Ann. Statist. 49(2), the conjugate (beta-binomial) mixture), after n
 * draws of which `successes` were ones.
 *
 * For a candidate mean m, M_n(m) = integral prod_i [p^X_i (1 - p)^(1 - X_i)] / [m^X_i (1 - m)^(1 - X_i)]
 * dPrior(p) = C(S, F) / (m^S (1 - m)^F) is a mixture of likelihood ratios, hence a nonnegative martingale
 * with M_0 = 1 under i.i.d. Bernoulli(m) draws. Ville's inequality (1939) gives, for the true mean p,
 * P(exists n >= 0: M_n(p) >= 1 / alpha) <= alpha: exact, for every n at once, no asymptotics.
 * The confidence set at n is {m : M_n(m) < 1 / alpha} = {m : S ln m + F ln(1 - m) > ln C - ln(1/alpha)},
 * an interval (lower, upper) around S / n because the left side is concave in m; so
 * P(exists n: p <= lower_n or p >= upper_n) <= alpha, and in particular P(p <= lower_T) <= alpha at ANY
 * random time T (a stopping time, or any data-dependent choice whatsoever), which is what a sequential
 * certificate needs. Both ends come from the same event, so using the upper end too costs no extra alpha.
 *
 * The bounds depend on the draws only through (S, n), so they do not depend on the order of the draws, on
 * how they were batched, or on the look schedule. Cost: one ln-marginal and a bisection, per look.
 * Ends are rounded outward (never inward). n = 0 gives (0, 1); S = 0 gives lower 0; S = n gives upper 1.
 */
export function betaMixtureBounds(
  successes: number,
  n: number,
  alpha: number,
  prior: BetaMixturePrior = DEFAULT_MIXTURE_PRIOR,
): ConfidenceBounds {
  assertInteger('n (draws)', n, 0);
  assertInteger('successes', successes, 0, n);
  if (!(alpha > 0 && alpha < 1)) {
    throw new DensePureMathError('invalid-argument', `alpha must be in (0, 1), got ${String(alpha)}`);
  }
  assertPrior(prior);
  if (n === 0) return { lower: 0, upper: 1 };
  const failures = n - successes;
  const threshold = lnMarginalLikelihood(successes, failures, prior) + Math.log(alpha) - slack(successes, failures);
  const pHat = successes / n;
  let lower = 0;
  if (successes > 0) {
    // All ones: n ln m = threshold has the closed form m = exp(threshold / n); bisection handles the rest.
    lower = failures === 0 ? Math.exp(threshold / successes) : crossing(successes, failures, threshold, 0, pHat, true);
    if (failures === 0) lower = Math.min(lower, nextDown(lower));
  }
  let upper = 1;
  if (failures > 0) {
    upper =
      successes === 0 ? -Math.expm1(threshold / failures) : crossing(successes, failures, threshold, pHat, 1, false);
    if (successes === 0) upper = Math.max(upper, nextUp(upper));
  }
  return { lower, upper: Math.min(1, upper) };
}

/** A double just below x in (0, 1] (one ulp-ish; enough to undo one rounding of exp). */
function nextDown(x: number): number {
  return x - Math.max(Number.EPSILON * x, Number.MIN_VALUE);
}

function nextUp(x: number): number {
  return Math.min(1, x + Math.max(Number.EPSILON * x, Number.MIN_VALUE));
}

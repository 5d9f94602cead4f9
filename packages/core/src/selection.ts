import { argmax } from './certify.js';
import { DEFAULT_MIXTURE_PRIOR, betaMixtureBounds, type BetaMixturePrior } from './confidence-sequence.js';

/**
 * How CERTIFY's selection phase picks the top class on draws [0, n0).
 * - `fixed`: all n0 draws, then the most voted class (Cohen et al.).
 * - `adaptive`: looks after growing rounds and stops at the first look where the leading class is a clear
 *   majority: its (1 - level) anytime-valid lower bound (the beta-binomial mixture of `betaMixtureBounds`) on
 *   its share of the votes is above 1/2. n0 is the cap: at n0 draws it picks the most voted class, as `fixed`.
 *   `level` (default: the certificate's alpha) bounds, for each class, the chance of stopping early on it while
 *   it holds at most half of the votes (Ville's inequality for its confidence sequence): the only way an early
 *   stop can pick worse than the fixed rule would, and then the certificate abstains or is smaller, never wrong.
 */
export type SelectionRule = { readonly kind: 'fixed' } | { readonly kind: 'adaptive'; readonly level?: number };

/** The default selection rule of sequential CERTIFY. */
export const DEFAULT_SELECTION: SelectionRule = Object.freeze({ kind: 'adaptive' });

/** Growth of the adaptive selection rounds: each look comes this factor of draws after the one before. */
const SELECTION_GROWTH = 1.5;

/**
 * The fewest draws, all for one class, whose (1 - level) mixture lower bound is above 1/2: before that no
 * look of the adaptive rule can stop, so it is the first one.
 */
export function firstSelectionLook(level: number, prior: BetaMixturePrior = DEFAULT_MIXTURE_PRIOR): number {
  let s = 1;
  while (!(betaMixtureBounds(s, s, level, prior).lower > 0.5)) s++;
  return s;
}

/**
 * The draw counts at which the selection phase looks, increasing, the last one n0: [n0] for `fixed`; for
 * `adaptive` the first look that can stop, then rounds growing by half, capped at n0.
 */
export function selectionLooks(n0: number, rule: SelectionRule, alpha: number, prior: BetaMixturePrior = DEFAULT_MIXTURE_PRIOR): number[] {
  if (rule.kind === 'fixed') return [n0];
  const looks: number[] = [];
  let s = Math.min(n0, firstSelectionLook(rule.level ?? alpha, prior));
  for (;;) {
    looks.push(s);
    if (s >= n0) return looks;
    s = Math.min(n0, Math.ceil(SELECTION_GROWTH * s));
  }
}

/**
 * The class the selection phase picks after `s` of its draws (counts per class), or null to draw on. At the cap
 * n0 it always picks (the most voted class, ties to the smallest label, as `certify`); before it, only under the
 * adaptive rule and only when the leading class's lower bound on its share is above 1/2.
 */
export function selectionPick(
  counts: readonly number[],
  s: number,
  n0: number,
  rule: SelectionRule,
  alpha: number,
  prior: BetaMixturePrior = DEFAULT_MIXTURE_PRIOR,
): number | null {
  const leader = argmax(counts);
  if (s >= n0) return leader;
  if (rule.kind === 'fixed') return null;
  return betaMixtureBounds(counts[leader]!, s, rule.level ?? alpha, prior).lower > 0.5 ? leader : null;
}

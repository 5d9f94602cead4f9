import { either as E } from 'fp-ts';
import { normalQuantile } from './stats.js';
import { type BatchProgress, type Sampler, sampleInto } from './certify.js';
import { DEFAULT_MIXTURE_PRIOR, betaMixtureBounds, type BetaMixturePrior } from './confidence-sequence.js';
import { assertSequentialOptions } from './sequential-options.js';
import { DEFAULT_SELECTION, type SelectionRule, selectionLooks, selectionPick } from './selection.js';

/** Options of {@link certifySequential}. Check them first with `validateSequentialOptions` for tagged errors. */
export interface SequentialCertifyOptions {
  /** Smoothing noise std in [0, 1] pixel units (> 0). */
  readonly sigma: number;
  /**
   * Selection draws (>= 1): draws [0, n0) are the most the selection phase may use to pick the top class; they
   * never enter the bound, and estimation starts at draw n0 whatever selection used.
   */
  readonly n0: number;
  /** How selection picks the top class within its n0 draws; default {@link DEFAULT_SELECTION} (adaptive, level alpha). */
  readonly selection?: SelectionRule;
  /** Cap on estimation draws (>= 1): estimation uses at most draws [n0, n0 + nMax). */
  readonly nMax: number;
  /** Failure probability of the certificate, 0 < alpha < 1. */
  readonly alpha: number;
  /** The radii to certify: positive and strictly increasing. The last one is the target. */
  readonly radii: readonly number[];
  /** Number of classes (>= 2). */
  readonly numClasses: number;
  /** Largest draw count per sampler call (>= 1); a round may take several calls. */
  readonly batchSize: number;
  /**
   * Smallest round (draws between two looks), >= 1; default {@link DEFAULT_MIN_ROUND}. The bound may be
   * looked at after every round at no statistical cost (the confidence sequence holds at every draw count).
   */
  readonly minRound?: number;
  /**
   * Rounds grow with the estimation draws so far: round = max(minRound, ceil(roundGrowth * drawsSoFar)),
   * capped by what is left of nMax; >= 0, default {@link DEFAULT_ROUND_GROWTH} (a stop then comes at most
   * ~10% + minRound draws after the first draw count at which the bound allowed it). 0: rounds of minRound.
   */
  readonly roundGrowth?: number;
  /**
   * Level of the upper confidence sequence that drives the two early stops that give up (pA <= 1/2 is
   * clear; the next radius is out of reach); default alpha. It never affects the certificate's validity
   * (see {@link certifySequential}); a larger value stops hopeless inputs sooner at the price of stopping,
   * with probability at most futilityAlpha, an input that could still have reached the next radius.
   */
  readonly futilityAlpha?: number;
  /**
   * Also stop when the next radius is out of reach within the cap (stop reason `next-radius-beyond-cap`);
   * default true. Like the other stops that give up, it only decides when to stop.
   */
  readonly capFutility?: boolean;
  /** Mixing prior of the confidence sequence; default {@link DEFAULT_MIXTURE_PRIOR}. Fix it before seeing data. */
  readonly prior?: BetaMixturePrior;
  /** After each sampler call; in the estimation phase totalInPhase is the cap nMax. */
  readonly onBatch?: (p: BatchProgress) => void;
}

/**
 * Why the estimation phase stopped.
 * - `largest-radius-certified`: the lower bound certifies the last requested radius.
 * - `pA-below-half`: the upper bound is <= 1/2: no radius will ever be certified (abstain).
 * - `next-radius-out-of-reach`: the upper bound is below Phi(r / sigma) for the smallest requested radius r
 *   not yet certified: the radius cannot improve to r any more.
 * - `next-radius-beyond-cap`: even if pA were as large as the upper bound and every remaining draw up to nMax
 *   came in at exactly that rate, the lower bound at nMax would not certify r_next (only with `capFutility`).
 * - `draw-cap`: nMax estimation draws were used.
 */
export type SequentialStopReason =
  | 'largest-radius-certified'
  | 'pA-below-half'
  | 'next-radius-out-of-reach'
  | 'next-radius-beyond-cap'
  | 'draw-cap';

/** Default smallest round of estimation draws. */
export const DEFAULT_MIN_ROUND = 50;
/** Default round growth (rounds of max(minRound, ceil(growth * draws so far))). */
export const DEFAULT_ROUND_GROWTH = 0.1;

/** Draws used, for accounting (multiply by evaluations per draw for model cost). */
export interface SequentialDraws {
  /** Selection draws used: n0, or fewer when adaptive selection stopped early. */
  readonly selection: number;
  /** Estimation draws used, <= nMax. */
  readonly estimation: number;
  /** Rounds of estimation draws (looks at the bound). */
  readonly rounds: number;
}

/** Fields both outcomes of {@link certifySequential} share. */
interface SequentialCommon {
  /** The selection phase's top class (ties: smallest label), the class the bound is about. */
  readonly label: number;
  /** Anytime-valid (1 - alpha) lower confidence bound on pA at the stop (the certificate's pA). */
  readonly pA: number;
  /** Upper bound at the stop, at level futilityAlpha (only used to decide when to stop). */
  readonly pAUpper: number;
  /** Estimation count of `label`. */
  readonly nA: number;
  readonly stop: SequentialStopReason;
  readonly draws: SequentialDraws;
  readonly counts: { readonly selection: number[]; readonly estimation: number[] };
}

/** Result of {@link certifySequential}. */
export type SequentialCertifyResult =
  | (SequentialCommon & {
      readonly kind: 'certified';
      /** sigma * Phi^{-1}(pA) > 0: a valid Cohen radius. May lie between requested radii. */
      readonly radius: number;
    })
  | (SequentialCommon & {
      readonly kind: 'abstain';
      /** pA (the lower bound at the stop) <= 1/2. */
      readonly reason: 'pA<=0.5';
    });

/** sigma * Phi^{-1}(p): the Cohen radius a bound p on pA gives (-Infinity at 0, +Infinity at 1). */
function radiusOf(sigma: number, p: number): number {
  return sigma * normalQuantile(p);
}

/** The stop rule and round schedule of sequential CERTIFY: the options with defaults filled in. */
export interface SequentialRule {
  readonly sigma: number;
  readonly radii: readonly number[];
  readonly alpha: number;
  readonly futilityAlpha: number;
  readonly nMax: number;
  readonly minRound: number;
  readonly roundGrowth: number;
  readonly capFutility: boolean;
  readonly prior: BetaMixturePrior;
  readonly selection: SelectionRule;
}

/** Fills in the defaults of {@link SequentialCertifyOptions} (validates first; throws `invalid-argument`). */
export function sequentialRule(options: SequentialCertifyOptions): SequentialRule {
  assertSequentialOptions(options);
  return {
    sigma: options.sigma,
    radii: [...options.radii],
    alpha: options.alpha,
    futilityAlpha: options.futilityAlpha ?? options.alpha,
    nMax: options.nMax,
    minRound: options.minRound ?? DEFAULT_MIN_ROUND,
    roundGrowth: options.roundGrowth ?? DEFAULT_ROUND_GROWTH,
    capFutility: options.capFutility ?? true,
    prior: options.prior ?? DEFAULT_MIXTURE_PRIOR,
    selection: options.selection ?? DEFAULT_SELECTION,
  };
}

/** The bounds at one look and the stop they call for (null: draw another round). */
export interface SequentialLook {
  /** (1 - alpha) anytime-valid lower bound on pA. */
  readonly lower: number;
  /** (1 - futilityAlpha) anytime-valid upper bound on pA (drives the stops that give up). */
  readonly upper: number;
  readonly stop: SequentialStopReason | null;
}

/**
 * Draws of the next round after n estimation draws: max(minRound, ceil(roundGrowth * n)), capped by what
 * is left of nMax (0 once nMax is reached).
 */
export function nextRoundSize(n: number, rule: Pick<SequentialRule, 'nMax' | 'minRound' | 'roundGrowth'>): number {
  return Math.max(0, Math.min(rule.nMax - n, Math.max(rule.minRound, Math.ceil(rule.roundGrowth * n))));
}

/**
 * The look after n estimation draws of which nA voted for the label: bounds and stop decision (see
 * {@link certifySequential} for the rules, checked in that order). Exported so that a caller scheduling
 * the draws itself (e.g. several inputs' rounds in one model call) applies exactly the same rule.
 * Radii are compared in radius space (sigma Phi^{-1}(bound) >= r), as a certified-accuracy table compares
 * the reported radius, so "certified at r" here and in the table agree to the last bit.
 */
export function sequentialLook(nA: number, n: number, rule: SequentialRule): SequentialLook {
  const { sigma, radii, alpha, futilityAlpha, nMax, prior } = rule;
  const bounds = betaMixtureBounds(nA, n, alpha, prior);
  const lower = bounds.lower;
  const upper = futilityAlpha === alpha ? bounds.upper : betaMixtureBounds(nA, n, futilityAlpha, prior).upper;
  const look = (stop: SequentialStopReason | null): SequentialLook => ({ lower, upper, stop });
  const certified = radiusOf(sigma, lower);
  if (certified >= radii[radii.length - 1]!) return look('largest-radius-certified');
  // The next target: any radius at all (lower > 1/2, the radius-0 column of a table) until one is
  // certified, then the smallest requested radius not certified yet.
  const anyYet = lower > 0.5;
  const next = anyYet ? radii.find((r) => !(certified >= r))! : 0;
  const missed = (bound: number): boolean => (anyYet ? radiusOf(sigma, bound) < next : !(bound > 0.5));
  if (!anyYet && missed(upper)) return look('pA-below-half');
  if (anyYet && missed(upper)) return look('next-radius-out-of-reach');
  if (n >= nMax) return look('draw-cap');
  if (rule.capFutility && n > 0) {
    // Even at the optimistic rate `upper` for every draw left, the bound at the cap would miss the target.
    const finalA = nA + Math.round(upper * (nMax - n));
    if (missed(betaMixtureBounds(finalA, nMax, alpha, prior).lower)) return look('next-radius-beyond-cap');
  }
  return look(null);
}

/** Where a replayed run stops: its look (0-based), estimation draws, bounds and stop reason. */
export interface ReplayedStop extends SequentialLook {
  readonly stop: SequentialStopReason;
  readonly look: number;
  readonly estimation: number;
}

/**
 * Replays a recorded run's looks (the label's estimation count at each look, rounds by `nextRoundSize`) under
 * `rule`: the first look at which `rule` stops, or null when the record ends first. Exact for any rule with the
 * same rounds whose stops come no later than the recorded run's (a larger futility level, a smaller cap).
 */
export function replayLooks(looks: readonly number[], rule: SequentialRule): ReplayedStop | null {
  let n = 0;
  for (let i = 0; i < looks.length; i++) {
    n += nextRoundSize(n, rule);
    const look = sequentialLook(looks[i]!, n, rule);
    if (look.stop !== null) return { ...look, stop: look.stop, look: i, estimation: n };
  }
  return null;
}

/**
 * Sequential CERTIFY: Cohen, Rosenfeld & Kolter (2019)'s CERTIFY with the fixed-N Clopper-Pearson bound
 * replaced by an anytime-valid lower confidence sequence (the beta-binomial mixture of
 * `betaMixtureBounds`), so estimation can stop as soon as the answer is clear.
 *
 * Selection: draws [0, S) -> label = argmax of their counts (ties: smallest label), S <= n0: with the `fixed`
 * rule S = n0, exactly as `certify`; with the `adaptive` rule (the default, `selectionPick`) S is the first look
 * at which the leading class's lower bound on its share is above 1/2, or n0. Draws [S, n0) are never drawn.
 * Estimation: draws n0, n0 + 1, ... in rounds (contiguous absolute draw ranges, so with a counter-based
 * RNG the votes do not depend on rounds or batching; the selection draws are never reused). After each
 * round, with nA = count of label and n = estimation draws so far: lower = the (1 - alpha) mixture lower
 * bound, upper = the (1 - futilityAlpha) mixture upper bound. The target is "any radius" (lower > 1/2,
 * the radius-0 column of a table) until that is certified, then r_next = the smallest requested radius
 * not certified yet (sigma Phi^{-1}(lower) < r_next). Stop at the first look where (in this order)
 * 1. sigma Phi^{-1}(lower) >= the largest requested radius ('largest-radius-certified');
 * 2. nothing certified yet and upper <= 1/2 ('pA-below-half': abstain);
 * 3. sigma Phi^{-1}(upper) < r_next ('next-radius-out-of-reach': the radius cannot improve to r_next);
 * 4. n = nMax ('draw-cap');
 * 5. (capFutility) the lower bound at the cap, with the nMax - n draws left voting for label at the
 *    optimistic rate `upper`, would still miss the target ('next-radius-beyond-cap').
 * Rounds: max(minRound, ceil(roundGrowth * n)) draws, capped at nMax - n (`nextRoundSize`).
 * Result: radius sigma Phi^{-1}(lower) if lower > 1/2 (it may lie between requested radii), else abstain.
 *
 * Validity. Let p = P(base classifier returns label) given the selection draws. The label is a function of
 * draws [0, n0) alone (whatever rule stopped selection, it looked at no draw from n0 on), and estimation draws
 * start at n0: the draws are i.i.d. given the input, so given the label the estimation votes are i.i.d.
 * Bernoulli(p), the split of Cohen et al. How many selection draws were used changes which class is picked,
 * never this independence, so the selection rule takes no share of alpha. The mixture lower sequence satisfies
 * P(exists n: p <= lower_n) <= alpha (Ville's inequality; see `betaMixtureBounds`), a statement about all
 * n at once, so it holds at the stopping draw count T whatever rule chose T: the stop rules above, the round
 * schedule and the cap are all just ways of choosing T (T need not even be a stopping time). Hence
 * P(reported radius > sigma Phi^{-1}(p)) = P(lower_T > p) <= alpha, the same guarantee as fixed-N CERTIFY;
 * when label is not the smoothed classifier's class, p < 1/2 and a (wrong) certificate also needs
 * lower_T > p. The upper sequence (rules 2, 3, 5) only decides WHEN to stop: it enters no probability
 * statement about the certificate, so it takes no share of alpha (no split is needed); its level
 * futilityAlpha only bounds how often a stop gives up on an input that could still have reached the next
 * radius (a loss of radius versus fixed N, never of validity). The coverage test checks all of this by
 * simulation (sequential-coverage.test.ts).
 *
 * For accounting, the result carries draws { selection: n0, estimation: n, rounds } and the stop reason;
 * the model cost of a row is (n0 + n) x evaluations per draw.
 *
 * The sampler's first failure is returned as is (Left), with no further calls. Throws `invalid-argument` for
 * bad options (the same cases `validateSequentialOptions` reports as tagged errors: check them first) and
 * `sampler-contract` for malformed sampler output.
 */
export async function certifySequential<Err>(
  sampler: Sampler<Err>,
  options: SequentialCertifyOptions,
): Promise<E.Either<Err, SequentialCertifyResult>> {
  const rule = sequentialRule(options);
  const { n0, numClasses, batchSize, onBatch, alpha } = options;
  const { sigma, nMax } = rule;

  const selection = new Array<number>(numClasses).fill(0);
  let s = 0;
  let label: number | null = null;
  for (const look of selectionLooks(n0, rule.selection, alpha, rule.prior)) {
    const selected = await sampleInto(sampler, selection, 'selection', s, look - s, batchSize, onBatch, { doneBefore: s, totalInPhase: n0 });
    if (E.isLeft(selected)) return selected;
    s = look;
    label = selectionPick(selection, s, n0, rule.selection, alpha, rule.prior);
    if (label !== null) break;
  }
  if (label === null) throw new Error('unreachable: selection picks at its last look, n0');

  const estimation = new Array<number>(numClasses).fill(0);
  let n = 0;
  let rounds = 0;
  let look: SequentialLook;
  do {
    const round = nextRoundSize(n, rule);
    const sampled = await sampleInto(sampler, estimation, 'estimation', n0 + n, round, batchSize, onBatch, { doneBefore: n, totalInPhase: nMax });
    if (E.isLeft(sampled)) return sampled;
    n += round;
    rounds++;
    look = sequentialLook(estimation[label]!, n, rule);
  } while (look.stop === null);
  const { lower, upper, stop } = look;
  const common: SequentialCommon = {
    label,
    pA: lower,
    pAUpper: upper,
    nA: estimation[label]!,
    stop,
    draws: { selection: s, estimation: n, rounds },
    counts: { selection, estimation },
  };
  if (!(lower > 0.5)) return E.right({ ...common, kind: 'abstain', reason: 'pA<=0.5' });
  return E.right({ ...common, kind: 'certified', radius: radiusOf(sigma, lower) });
}

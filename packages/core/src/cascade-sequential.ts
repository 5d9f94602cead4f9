import { either as E } from 'fp-ts';
import { type BatchProgress, type Sampler, argmax, sampleInto } from './certify.js';
import {
  type CascadeResult,
  type CascadeRule,
  type CascadeSettings,
  type CascadeStage,
  type CascadeStopReason,
  cascadeResult,
  cascadeRule,
  classUpperBounds,
  decideStage,
  offClassCap,
} from './cascade.js';
import { type BetaMixturePrior, type ConfidenceBounds, DEFAULT_MIXTURE_PRIOR, betaMixtureBounds } from './confidence-sequence.js';
import { DensePureMathError, assertInteger } from './errors.js';
import { DEFAULT_SELECTION, type SelectionRule, selectionLooks, selectionPick } from './selection.js';
import { DEFAULT_MIN_ROUND, DEFAULT_ROUND_GROWTH, nextRoundSize } from './sequential.js';
import { normalQuantile } from './stats.js';

/**
 * Sequential cascaded CERTIFY: each stage of the cascade (cascade.ts) draws its estimation votes in rounds and
 * looks at anytime-valid bounds after each, stopping as soon as its decision and radius are settled.
 *
 * A stage's bounds are the beta-binomial mixture confidence sequence (`betaMixtureBounds`) in place of
 * Clopper-Pearson, at the same levels (`cascadeLevels`): the lower/upper sequence on the stage's top class at
 * levels.lower, and for a skipped stage before the last one upper sequence per class at levels.upper /
 * numClasses, read at the draw count where the stage stopped.
 *
 * Validity. For each stage j the sequences hold at every draw count at once: P(exists n: p_j(label_j) <=
 * lower_n) <= levels[j].lower and P(exists n, c: p_j(c) >= classUpper_{n,c}) <= levels[j].upper (Ville's
 * inequality per sequence, a union bound over the classes). Those are statements about the stage's whole
 * stream of draws, so they hold at the count where the stage stopped whatever chose it: its own looks, the
 * cap that the earlier stages' bounds put on its radius, the draw cap, anything else. The cascade's union bound
 * (cascade.ts) then goes through unchanged: outside an event of probability at most the sum of all the stages'
 * levels, alpha, every bound a certificate uses holds, so every certificate holds by the cascade's theorem. The
 * skip decision and the stops that give up read the upper end of the top class's sequence; they only decide
 * when a stage stops and where the cascade goes next, and enter no certificate. The coverage test checks this
 * by simulation (cascade-coverage.test.ts), with a check that it catches bounds that are not anytime-valid.
 *
 * The stage's targets are cascade radii (certified accuracy's columns): with cap = `offClassCap` of the stages
 * skipped so far for the stage's top class, a lower bound b gives radius r(b) = min(sigma (Phi^{-1}(b) -
 * Phi^{-1}(p0)), cap). Stop at the first look where (in this order)
 * 1. lower > p0 and r(lower) >= the largest radius ('largest-radius-certified');
 * 2. lower > p0 and sigma (Phi^{-1}(lower) - Phi^{-1}(p0)) >= cap ('capped-by-skipped-stages': the radius
 *    cannot grow);
 * 3. lower > p0 and r(upper) < the smallest radius not yet certified ('next-radius-out-of-reach');
 * 4. lower <= p0, upper < p0 (the stage is skipped) and it is the last stage ('below-p0': the cascade abstains);
 * 5. skipped before the last stage, with s(b) = sigma (Phi^{-1}(p0) - Phi^{-1}(b)) the cap it puts on a later
 *    answer of its own top class when b bounds the other classes: s(largest class upper bound) >= min(largest
 *    radius, cap) ('skipped-cap-settled'), or s(largest class lower bound) < the smallest radius s(upper) does
 *    not reach yet ('skipped-cap-out-of-reach'). A stage skipped as soon as it is clear would leave loose
 *    bounds on the other classes and cap every later answer needlessly; these two stops draw on only while the
 *    cap can still grow towards the radii asked for;
 * 6. n = nMax ('draw-cap').
 * The stage's decision at its stop is the fixed-N one (answer when lower > p0, skip when upper < p0, else
 * abstain), and the cascade's outcome is `cascadeResult` of the stages run.
 */

/** Options of {@link certifyCascadeSequential}. */
export interface CascadeSequentialOptions extends CascadeSettings {
  /** Selection draws per stage (>= 1, the most selection may use), never in a bound. */
  readonly n0: number;
  /**
   * How each stage picks its top class within its n0 draws; default {@link DEFAULT_SELECTION} (adaptive: stop at
   * a clear majority). As in sequential CERTIFY the label reads only draws [0, n0) and estimation starts at n0
   * whatever selection used, so the rule takes no share of alpha.
   */
  readonly selection?: SelectionRule;
  /** Cap on estimation draws per stage (>= 1). */
  readonly nMax: number;
  /** Cascade radii to certify: positive and strictly increasing; the last is the target. */
  readonly radii: readonly number[];
  readonly numClasses: number;
  readonly batchSize: number;
  /** Rounds as sequential CERTIFY's: max(minRound, ceil(roundGrowth * n)), capped by nMax. */
  readonly minRound?: number;
  readonly roundGrowth?: number;
  readonly prior?: BetaMixturePrior;
  /**
   * The confidence sequence (default: the beta-binomial mixture with `prior`). It must hold at every draw count
   * at once; a test swaps in one that does not to show that the coverage check catches it.
   */
  readonly bounds?: (successes: number, n: number, alpha: number) => ConfidenceBounds;
  readonly onBatch?: (stage: number, p: BatchProgress) => void;
}

/** The stop rule and round schedule of a sequential cascade. */
export interface CascadeSequentialRule extends CascadeRule {
  readonly radii: readonly number[];
  readonly selection: SelectionRule;
  readonly prior: BetaMixturePrior;
  readonly nMax: number;
  readonly minRound: number;
  readonly roundGrowth: number;
  readonly bounds: (successes: number, n: number, alpha: number) => ConfidenceBounds;
}

/** A bad radius list of a sequential cascade (the same kinds sequential CERTIFY reports). */
export type CascadeRadiiError =
  | { readonly kind: 'radii-empty'; readonly message: string }
  | { readonly kind: 'radius-not-positive'; readonly index: number; readonly radius: unknown; readonly message: string }
  | { readonly kind: 'radii-not-increasing'; readonly index: number; readonly radius: number; readonly previous: number; readonly message: string };

/** The first problem of a sequential cascade's radii, or null. */
export function checkCascadeRadii(radii: readonly number[]): CascadeRadiiError | null {
  if (!Array.isArray(radii) || radii.length === 0) return { kind: 'radii-empty', message: 'no radii to certify: give at least one radius > 0' };
  for (let i = 0; i < radii.length; i++) {
    const r = radii[i];
    if (typeof r !== 'number' || !(r > 0) || !Number.isFinite(r)) return { kind: 'radius-not-positive', index: i, radius: r, message: `radius ${String(r)} (number ${i + 1} of the radii) must be a finite number > 0` };
    if (i > 0 && !(r > radii[i - 1]!)) {
      return { kind: 'radii-not-increasing', index: i, radius: r, previous: radii[i - 1]!, message: `the radii must be strictly increasing: ${r} follows ${radii[i - 1]!} (list them smallest first, without repeats)` };
    }
  }
  return null;
}

/** Fills in the defaults (throws `invalid-argument` for bad settings or radii: check them first). */
export function cascadeSequentialRule(options: CascadeSequentialOptions): CascadeSequentialRule {
  const rule = cascadeRule(options);
  const radii = checkCascadeRadii(options.radii);
  if (radii !== null) throw new DensePureMathError('invalid-argument', radii.message);
  assertInteger('nMax (cap on estimation draws)', options.nMax, 1);
  const minRound = options.minRound ?? DEFAULT_MIN_ROUND;
  assertInteger('minRound', minRound, 1);
  const roundGrowth = options.roundGrowth ?? DEFAULT_ROUND_GROWTH;
  if (!(roundGrowth >= 0 && Number.isFinite(roundGrowth))) throw new DensePureMathError('invalid-argument', `roundGrowth must be a finite number >= 0, got ${roundGrowth}`);
  const prior = options.prior ?? DEFAULT_MIXTURE_PRIOR;
  return {
    ...rule,
    radii: [...options.radii],
    selection: options.selection ?? DEFAULT_SELECTION,
    prior,
    nMax: options.nMax,
    minRound,
    roundGrowth,
    bounds: options.bounds ?? ((s, n, a) => betaMixtureBounds(s, n, a, prior)),
  };
}

/** The bounds of a stage's look and the stop they call for (null: draw another round). */
export interface CascadeLook {
  /** Bounds on the stage's top class at the stage's lower level. */
  readonly lower: number;
  readonly upper: number;
  readonly stop: CascadeStopReason | null;
}

/**
 * The look at stage `stage` after n estimation draws with per-class `counts`, whose top class by selection is
 * `label` and whose radius the stages skipped so far cap at `cap` ({@link offClassCap}). Exported so that a
 * caller scheduling the draws itself (several methods on shared draws) applies exactly this rule.
 */
export function cascadeLook(rule: CascadeSequentialRule, stage: number, cap: number, label: number, counts: readonly number[], n: number): CascadeLook {
  const { p0, radii } = rule;
  const sigma = rule.sigmas[stage]!;
  const levels = rule.levels[stage]!;
  const { lower, upper } = rule.bounds(counts[label]!, n, levels.lower);
  const look = (stop: CascadeStopReason | null): CascadeLook => ({ lower, upper, stop });
  const rMax = radii[radii.length - 1]!;
  const nextAbove = (r: number): number => radii.find((t) => !(r >= t))!;
  if (lower > p0) {
    const own = (b: number): number => sigma * (normalQuantile(b) - normalQuantile(p0));
    const radius = (b: number): number => Math.min(own(b), cap);
    if (radius(lower) >= rMax) return look('largest-radius-certified');
    if (own(lower) >= cap) return look('capped-by-skipped-stages');
    if (radius(upper) < nextAbove(radius(lower))) return look('next-radius-out-of-reach');
  } else if (upper < p0) {
    if (stage === rule.sigmas.length - 1) return look('below-p0');
    // Skipped: draw on until the cap this stage puts on a later answer of its top class is settled.
    const level = levels.upper / counts.length;
    const others = counts.map((k, c) => (c === label ? null : rule.bounds(k, n, level))).filter((b) => b !== null);
    const skipCap = (b: number): number => sigma * (normalQuantile(p0) - normalQuantile(b));
    const settled = skipCap(Math.max(...others.map((b) => b.upper)));
    if (settled >= Math.min(rMax, cap)) return look('skipped-cap-settled');
    if (skipCap(Math.max(...others.map((b) => b.lower))) < nextAbove(settled)) return look('skipped-cap-out-of-reach');
  }
  if (n >= rule.nMax) return look('draw-cap');
  return look(null);
}

/** A sequential stage once it stopped: its decision and, skipped before the last stage, its class upper bounds. */
export function closeSequentialStage(
  rule: CascadeSequentialRule,
  stage: number,
  selection: readonly number[],
  estimation: readonly number[],
  n: number,
  rounds: number,
  look: CascadeLook & { readonly stop: CascadeStopReason },
): CascadeStage {
  const label = argmax(selection);
  const decision = decideStage(look.lower, look.upper, rule.p0);
  const skippedBefore = decision === 'skip' && stage < rule.sigmas.length - 1;
  const upper = (k: number, m: number, alpha: number): number => rule.bounds(k, m, alpha).upper;
  return {
    sigma: rule.sigmas[stage]!,
    label,
    lower: look.lower,
    upper: look.upper,
    decision,
    estimation: n,
    ...(skippedBefore ? { classUpper: classUpperBounds(estimation, n, rule.levels[stage]!.upper, upper) } : {}),
    counts: { selection: [...selection], estimation: [...estimation] },
    rounds,
    stop: look.stop,
  };
}

/**
 * The draw counts at which a stage's selection looks (core's `selectionLooks` for the rule's selection, at the
 * stage's lower level: the level its certificate spends).
 */
export const stageSelectionLooks = (rule: CascadeSequentialRule, stage: number, n0: number): number[] =>
  selectionLooks(n0, rule.selection, rule.levels[stage]!.lower, rule.prior);

/** The class a stage's selection picks after s of its n0 draws, or null to draw on (core's `selectionPick`). */
export const stageSelectionPick = (rule: CascadeSequentialRule, stage: number, counts: readonly number[], s: number, n0: number): number | null =>
  selectionPick(counts, s, n0, rule.selection, rule.levels[stage]!.lower, rule.prior);

/** The cap the skipped stages put on an answer `label` at the next stage. */
export const stageCap = (rule: CascadeRule, stages: readonly CascadeStage[], label: number): number => offClassCap(stages, label, rule.p0);

/**
 * Sequential cascaded CERTIFY: `samplers[k]` is the base classifier at `sigmas[k]`. Each stage selects on draws
 * [0, n0) (at the selection rule's looks, {@link stageSelectionLooks}) and estimates on draws n0, n0 + 1, ... in
 * rounds (`nextRoundSize`), stopping by {@link cascadeLook};
 * stages run until one answers or abstains (or the last is skipped). Throws `invalid-argument` for bad options
 * and `sampler-contract` for malformed sampler output; a sampler's failure comes back as its Left.
 */
export async function certifyCascadeSequential<Err>(samplers: readonly Sampler<Err>[], options: CascadeSequentialOptions): Promise<E.Either<Err, CascadeResult>> {
  const rule = cascadeSequentialRule(options);
  assertInteger('n0 (selection draws)', options.n0, 1);
  assertInteger('batchSize', options.batchSize, 1);
  if (samplers.length !== rule.sigmas.length) throw new DensePureMathError('invalid-argument', `one sampler per noise level: ${samplers.length} samplers for ${rule.sigmas.length} sigmas`);
  const { n0, batchSize, numClasses } = options;
  const stages: CascadeStage[] = [];
  for (let k = 0; k < samplers.length; k++) {
    const onBatch = options.onBatch === undefined ? undefined : (p: BatchProgress) => options.onBatch!(k, p);
    const selection = new Array<number>(numClasses).fill(0);
    let s = 0;
    let label: number | null = null;
    for (const look of stageSelectionLooks(rule, k, n0)) {
      const selected = await sampleInto(samplers[k]!, selection, 'selection', s, look - s, batchSize, onBatch, { doneBefore: s, totalInPhase: n0 });
      if (E.isLeft(selected)) return selected;
      s = look;
      label = stageSelectionPick(rule, k, selection, s, n0);
      if (label !== null) break;
    }
    if (label === null) throw new Error('unreachable: selection picks at its last look, n0');
    const cap = stageCap(rule, stages, label);
    const estimation = new Array<number>(numClasses).fill(0);
    let n = 0;
    let rounds = 0;
    let look: CascadeLook;
    do {
      const round = nextRoundSize(n, rule);
      const sampled = await sampleInto(samplers[k]!, estimation, 'estimation', n0 + n, round, batchSize, onBatch, { doneBefore: n, totalInPhase: rule.nMax });
      if (E.isLeft(sampled)) return sampled;
      n += round;
      rounds++;
      look = cascadeLook(rule, k, cap, label, estimation, n);
    } while (look.stop === null);
    const stage = closeSequentialStage(rule, k, selection, estimation, n, rounds, { ...look, stop: look.stop });
    stages.push(stage);
    if (stage.decision !== 'skip') break;
  }
  return E.right(cascadeResult(rule, stages));
}

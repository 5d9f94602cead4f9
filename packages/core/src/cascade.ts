import { either as E } from 'fp-ts';
import { type BatchProgress, type Sampler, argmax, sampleInto } from './certify.js';
import { DensePureMathError, assertInteger } from './errors.js';
import { clopperPearsonLower, clopperPearsonUpper, normalQuantile } from './stats.js';

/**
 * Cascaded randomized smoothing over several noise levels (Jeong & Shin, "Multi-scale diffusion denoised
 * smoothing", NeurIPS 2023, §3.1; reference code jh-jeong/smoothing-multiscale `certify.py` and
 * `third_party/core_mdds.py`).
 *
 * The smoothed classifiers g_1, ..., g_K at noise levels sigma_1 > ... > sigma_K (p_k(x, c) = P(f_k(x +
 * sigma_k eps) = c), each stage with the t* of its own sigma) are asked in that order; stage k answers class c
 * when p_k(x, c) > p0, and is skipped when no class is above p0. The cascade answers with the first stage that
 * answers (abstaining when every stage is skipped).
 *
 * Radius rule (the reference's: `certify.py` `radius_ = min(radius, -radius_neg)` with `radius` from
 * `SmoothedConfidence.certified_radius` and `radius_neg` the largest `off_class_upper_radius` of the stages that
 * were skipped). When stage k answers c, with lower_k a lower bound on p_k(x, c) and, for each skipped stage
 * j < k, ubar_j an upper bound on max over c' != c of p_j(x, c'):
 *
 *   R = min( sigma_k (Phi^{-1}(lower_k) - Phi^{-1}(p0)),  min_{j < k} sigma_j (Phi^{-1}(p0) - Phi^{-1}(ubar_j)) ).
 *
 * Theorem it rests on (Jeong & Shin's for cascaded smoothing, from Salman et al. 2019's lemma that
 * x -> Phi^{-1}(p_k(x, c)) is 1/sigma_k-Lipschitz for every class): if ||delta|| < R then
 * (a) p_k(x + delta, c) > p0, because Phi^{-1}(p_k) drops by less than ||delta|| / sigma_k; and
 * (b) for every j < k and c' != c, p_j(x + delta, c') < p0, because Phi^{-1}(p_j(., c')) rises by less than
 * ||delta|| / sigma_j. With p0 >= 1/2 at most one class can be above p0 at a stage, so by (b) every stage
 * before k either skips or answers c at x + delta, and by (a) stage k answers c: the cascade answers c on the
 * whole ball. That is why p0 must be at least 1/2 (below it two classes could pass one stage's threshold).
 *
 * Decisions at a stage (the reference's `certified_radius`): answer when lower > p0; skip when the upper
 * bound on the stage's top class is below p0; otherwise abstain there (the reference's -2: the stage cannot
 * tell, so the cascade stops without an answer). A stage that answers c gives a certificate only when R > 0,
 * i.e. every skipped stage's bound on the other classes is below p0 (the reference abstains when its radius
 * is negative). The skip decision itself needs no confidence: whatever the earlier stages did, (a) and (b)
 * certify the answer.
 *
 * Alpha split ({@link cascadeLevels}). The certificate is wrong only if a bound it uses is wrong: the lower
 * bound of the answering stage, or an upper bound of a skipped stage. Stage j's bounds all hold, whatever the
 * other stages did, except with probability levels[j].lower + levels[j].upper; a union bound over the K
 * stages gives P(wrong certificate) <= sum_j (levels[j].lower + levels[j].upper) = alpha. Each stage gets
 * alpha / K; a stage before the last spends half on the lower bound of its top class and half on upper
 * bounds of every class at once (Bonferroni over the numClasses classes, so they hold for whichever class a
 * later stage answers); the last stage is never skipped into a later one, so all of its alpha / K goes to
 * its lower bound. The reference instead uses alpha / (k + 1) for every bound of an answer at stage k
 * (`alpha = args.alpha / (stage + 1)`, 0-based), the lower bound of a stage and its upper bounds each at that
 * full level; the same union bound over what its certificates may rest on gives alpha (1 + 1/2 + ... + 1/K)
 * for the lower bounds plus alpha (1/2 + ... + 1/K) for the upper bounds, not alpha. Upper bounds here are
 * exact Clopper-Pearson bounds per class (the reference uses Goodman's asymptotic simultaneous intervals on
 * counts pooled by the data, and with at most one pooled bin it bounds the stage's own top class instead of the
 * answer's). With one stage and p0 = 1/2 the rule is Cohen et al.'s CERTIFY exactly: alpha / 1 on the lower
 * bound, radius sigma Phi^{-1}(lower).
 *
 * Draws: every stage uses draws [0, n0) to select its top class and [n0, n0 + n) to bound it, the same draw
 * indices as a single-sigma run at that stage's sigma, so stage k sees exactly the votes of a fixed-N run at
 * sigma_k with the same seed. The union bound above needs no independence between the stages.
 */

/** The cascade's own settings: noise levels, threshold and the failure probability of the whole cascade. */
export interface CascadeSettings {
  /** The noise levels, strictly decreasing: the largest is asked first. */
  readonly sigmas: readonly number[];
  /** Confidence threshold in [1/2, 1): a stage answers when its top class's probability is above it. */
  readonly p0: number;
  /** Failure probability of the certificate, 0 < alpha < 1, split over the stages by {@link cascadeLevels}. */
  readonly alpha: number;
}

/**
 * A bad cascade setting (messages name quantities, never command-line flags).
 * - `sigmas-empty`, `sigma-not-positive`, `sigmas-not-decreasing`: the list of noise levels.
 * - `p0-out-of-range`: p0 is not a number in (0, 1); `p0-below-half`: p0 < 1/2, where the radius rule fails.
 * - `alpha-out-of-range`: alpha is not in (0, 1).
 */
export type CascadeSettingsError =
  | { readonly kind: 'sigmas-empty'; readonly message: string }
  | { readonly kind: 'sigma-not-positive'; readonly index: number; readonly sigma: unknown; readonly message: string }
  | { readonly kind: 'sigmas-not-decreasing'; readonly index: number; readonly sigma: number; readonly previous: number; readonly message: string }
  | { readonly kind: 'p0-out-of-range'; readonly p0: unknown; readonly message: string }
  | { readonly kind: 'p0-below-half'; readonly p0: number; readonly message: string }
  | { readonly kind: 'alpha-out-of-range'; readonly alpha: unknown; readonly message: string };

/** The first problem of a cascade's settings, or the settings. */
export function validateCascadeSettings<S extends CascadeSettings>(settings: S): E.Either<CascadeSettingsError, S> {
  const { sigmas, p0, alpha } = settings;
  if (!Array.isArray(sigmas) || sigmas.length === 0) return E.left({ kind: 'sigmas-empty', message: 'a cascade needs at least one noise level' });
  for (let i = 0; i < sigmas.length; i++) {
    const s = sigmas[i];
    if (typeof s !== 'number' || !(s > 0) || !Number.isFinite(s)) {
      return E.left({ kind: 'sigma-not-positive', index: i, sigma: s, message: `noise level ${String(s)} (number ${i + 1} of the cascade's sigmas) must be a finite number > 0` });
    }
    if (i > 0 && !(s < sigmas[i - 1]!)) {
      return E.left({
        kind: 'sigmas-not-decreasing',
        index: i,
        sigma: s,
        previous: sigmas[i - 1]!,
        message: `the cascade's sigmas must be strictly decreasing (largest first, without repeats): ${s} follows ${sigmas[i - 1]!}`,
      });
    }
  }
  if (typeof p0 !== 'number' || !(p0 > 0 && p0 < 1)) return E.left({ kind: 'p0-out-of-range', p0, message: `p0 must be a number in (0, 1), got ${String(p0)}` });
  if (p0 < 0.5) {
    return E.left({
      kind: 'p0-below-half',
      p0,
      message: `p0 must be at least 0.5, got ${p0}: below 1/2 two classes can pass one stage's threshold and the cascade's radius rule no longer holds`,
    });
  }
  if (typeof alpha !== 'number' || !(alpha > 0 && alpha < 1)) return E.left({ kind: 'alpha-out-of-range', alpha, message: `alpha must be in (0, 1) (e.g. 0.001), got ${String(alpha)}` });
  return E.right(settings);
}

/** Levels of one stage's bounds. */
export interface CascadeStageLevels {
  /** Level of the lower bound on the stage's top class (what an answer at this stage rests on). */
  readonly lower: number;
  /**
   * Level of the upper bounds on every class together (what a later answer rests on when this stage is
   * skipped), each class at upper / numClasses; 0 for the last stage, whose skip ends the cascade.
   */
  readonly upper: number;
}

/** Names the split {@link cascadeLevels} makes (recorded in a run's identity). */
export const CASCADE_ALPHA_SPLIT = 'alpha/K per stage; before the last, half on the lower bound, half on per-class upper bounds (Bonferroni over classes)';

/** The alpha split over K stages (see the module comment): they add up to alpha. */
export function cascadeLevels(stages: number, alpha: number): CascadeStageLevels[] {
  assertInteger('stages', stages, 1);
  const share = alpha / stages;
  return Array.from({ length: stages }, (_, k) => (k === stages - 1 ? { lower: share, upper: 0 } : { lower: share / 2, upper: share / 2 }));
}

/** A cascade's checked settings with the alpha split filled in. */
export interface CascadeRule extends CascadeSettings {
  readonly numClasses: number;
  readonly levels: readonly CascadeStageLevels[];
}

/** The rule of a cascade (throws `invalid-argument` for bad settings: check them with {@link validateCascadeSettings} first). */
export function cascadeRule(settings: CascadeSettings & { readonly numClasses: number }): CascadeRule {
  const checked = validateCascadeSettings(settings);
  if (E.isLeft(checked)) throw new DensePureMathError('invalid-argument', checked.left.message);
  assertInteger('numClasses', settings.numClasses, 2);
  return { sigmas: [...settings.sigmas], p0: settings.p0, alpha: settings.alpha, numClasses: settings.numClasses, levels: cascadeLevels(settings.sigmas.length, settings.alpha) };
}

/** What a stage decided: answer with its top class, skip to the next noise level, or abstain (stop, undecided). */
export type CascadeDecision = 'answer' | 'skip' | 'abstain';

/** The reference's `certified_radius` decision: answer when lower > p0, skip when upper < p0, else abstain. */
export const decideStage = (lower: number, upper: number, p0: number): CascadeDecision => (lower > p0 ? 'answer' : upper < p0 ? 'skip' : 'abstain');

/** Why a sequential stage stopped drawing (see cascade-sequential.ts). */
export type CascadeStopReason =
  | 'largest-radius-certified'
  | 'capped-by-skipped-stages'
  | 'next-radius-out-of-reach'
  | 'below-p0'
  | 'skipped-cap-settled'
  | 'skipped-cap-out-of-reach'
  | 'draw-cap';

/** One stage as it was run. */
export interface CascadeStage {
  readonly sigma: number;
  /** The stage's top class (selection draws; ties: smallest label). */
  readonly label: number;
  /** Lower and upper bound on the probability of `label`, at the stage's lower level. */
  readonly lower: number;
  readonly upper: number;
  readonly decision: CascadeDecision;
  /** Estimation draws used. */
  readonly estimation: number;
  /** Upper bounds on every class's probability (a skipped stage before the last), at levels.upper / numClasses each. */
  readonly classUpper?: readonly number[];
  readonly counts: { readonly selection: readonly number[]; readonly estimation: readonly number[] };
  /** Sequential stages: rounds of estimation draws and why they stopped. */
  readonly rounds?: number;
  readonly stop?: CascadeStopReason;
}

/**
 * Why a cascade abstained: a stage could neither answer nor skip (`undecided`), every stage was skipped
 * (`all-skipped`), or the answering stage's class is not certified because a skipped stage's bound on
 * another class is not below p0 (`off-class-bound`, the reference's negative radius).
 */
export type CascadeAbstainReason = 'undecided' | 'all-skipped' | 'off-class-bound';

/** A cascade's outcome: the stages run (the last one decided), and the certificate or why there is none. */
export type CascadeResult =
  | { readonly kind: 'certified'; readonly label: number; readonly radius: number; readonly stage: number; readonly sigma: number; readonly stages: readonly CascadeStage[] }
  | { readonly kind: 'abstain'; readonly reason: CascadeAbstainReason; readonly label: number; readonly stage: number; readonly sigma: number; readonly stages: readonly CascadeStage[] };

/**
 * The largest radius the skipped stages allow an answer `label`: min over them of
 * sigma_j (Phi^{-1}(p0) - Phi^{-1}(max over c != label of classUpper_j[c])) (the reference's -radius_neg);
 * +Infinity when no stage was skipped.
 */
export function offClassCap(skipped: readonly Pick<CascadeStage, 'sigma' | 'classUpper'>[], label: number, p0: number): number {
  let cap = Number.POSITIVE_INFINITY;
  for (const stage of skipped) {
    if (stage.classUpper === undefined) throw new DensePureMathError('invalid-argument', 'a skipped stage before the last must carry its class upper bounds');
    const others = stage.classUpper.filter((_, c) => c !== label);
    const top = others.length === 0 ? 0 : Math.max(...others);
    cap = Math.min(cap, stage.sigma * (normalQuantile(p0) - normalQuantile(top)));
  }
  return cap;
}

/** The radius an answer gives: min(sigma (Phi^{-1}(lower) - Phi^{-1}(p0)), cap). */
export const cascadeRadius = (sigma: number, lower: number, p0: number, cap: number): number => Math.min(sigma * (normalQuantile(lower) - normalQuantile(p0)), cap);

/**
 * The cascade's outcome from the stages run, the last of which decided (answered, abstained, or was the last
 * stage). An answer is certified when its lower bound is above p0 and every skipped stage's bound on the
 * other classes is below p0 (cap > 0), with radius {@link cascadeRadius}.
 */
export function cascadeResult(rule: CascadeRule, stages: readonly CascadeStage[]): CascadeResult {
  const k = stages.length - 1;
  const last = stages[k];
  if (last === undefined) throw new DensePureMathError('invalid-argument', 'a cascade result needs at least one stage');
  const at = { label: last.label, stage: k, sigma: last.sigma, stages };
  if (last.decision === 'skip') {
    if (k !== rule.sigmas.length - 1) throw new DensePureMathError('invalid-argument', `stage ${k} skipped but the cascade has ${rule.sigmas.length} stages`);
    return { kind: 'abstain', reason: 'all-skipped', ...at };
  }
  if (last.decision === 'abstain') return { kind: 'abstain', reason: 'undecided', ...at };
  const cap = offClassCap(stages.slice(0, k), last.label, rule.p0);
  if (!(cap > 0)) return { kind: 'abstain', reason: 'off-class-bound', ...at };
  return { kind: 'certified', radius: cascadeRadius(last.sigma, last.lower, rule.p0, cap), ...at };
}

/** Upper bounds on every class's probability at `level` together (Bonferroni: level / numClasses each). */
export function classUpperBounds(counts: readonly number[], n: number, level: number, upper: (k: number, n: number, alpha: number) => number = clopperPearsonUpper): number[] {
  return counts.map((k) => upper(k, n, level / counts.length));
}

/**
 * One fixed-N stage from its counts: the top class of `selection`, Clopper-Pearson bounds on its estimation
 * count at the stage's lower level, the decision, and for a skipped stage before the last the class upper bounds.
 */
export function fixedStage(rule: CascadeRule, stage: number, selection: readonly number[], estimation: readonly number[], n: number): CascadeStage {
  const levels = rule.levels[stage];
  if (levels === undefined) throw new DensePureMathError('invalid-argument', `stage ${stage} is not one of the cascade's ${rule.sigmas.length}`);
  const label = argmax(selection);
  const nA = estimation[label]!;
  const lower = clopperPearsonLower(nA, n, levels.lower);
  const upper = clopperPearsonUpper(nA, n, levels.lower);
  const decision = decideStage(lower, upper, rule.p0);
  const skippedBefore = decision === 'skip' && stage < rule.sigmas.length - 1;
  return {
    sigma: rule.sigmas[stage]!,
    label,
    lower,
    upper,
    decision,
    estimation: n,
    ...(skippedBefore ? { classUpper: classUpperBounds(estimation, n, levels.upper) } : {}),
    counts: { selection: [...selection], estimation: [...estimation] },
  };
}

/** Options of {@link certifyCascade}: the cascade's settings and CERTIFY's draws at every stage. */
export interface CascadeCertifyOptions extends CascadeSettings {
  /** Selection draws per stage (>= 1). */
  readonly n0: number;
  /** Estimation draws per stage (>= 1). */
  readonly n: number;
  readonly batchSize: number;
  readonly numClasses: number;
  /** After each sampler call, with the stage it belongs to. */
  readonly onBatch?: (stage: number, p: BatchProgress) => void;
}

/**
 * One fixed-N stage on its sampler: selection draws [0, n0), estimation draws [n0, n0 + n) (as `certify`),
 * then {@link fixedStage}. The sampler's first failure comes back as is.
 */
export async function certifyCascadeStage<Err>(sampler: Sampler<Err>, rule: CascadeRule, stage: number, o: Pick<CascadeCertifyOptions, 'n0' | 'n' | 'batchSize' | 'onBatch'>): Promise<E.Either<Err, CascadeStage>> {
  assertInteger('n0 (selection draws)', o.n0, 1);
  assertInteger('n (estimation draws)', o.n, 1);
  assertInteger('batchSize', o.batchSize, 1);
  const onBatch = o.onBatch === undefined ? undefined : (p: BatchProgress) => o.onBatch!(stage, p);
  const selection = new Array<number>(rule.numClasses).fill(0);
  const selected = await sampleInto(sampler, selection, 'selection', 0, o.n0, o.batchSize, onBatch);
  if (E.isLeft(selected)) return selected;
  const estimation = new Array<number>(rule.numClasses).fill(0);
  const estimated = await sampleInto(sampler, estimation, 'estimation', o.n0, o.n, o.batchSize, onBatch);
  if (E.isLeft(estimated)) return estimated;
  return E.right(fixedStage(rule, stage, selection, estimation, o.n));
}

/**
 * Fixed-N cascaded CERTIFY: `samplers[k]` is the base classifier at `sigmas[k]`. Stages run in order until one
 * answers or abstains (or the last is skipped); see the module comment for the rule, the theorem and the alpha
 * split. Throws `invalid-argument` for bad options (check them with {@link validateCascadeSettings}) and
 * `sampler-contract` for malformed sampler output; a sampler's failure comes back as its Left.
 */
export async function certifyCascade<Err>(samplers: readonly Sampler<Err>[], options: CascadeCertifyOptions): Promise<E.Either<Err, CascadeResult>> {
  const rule = cascadeRule(options);
  if (samplers.length !== rule.sigmas.length) throw new DensePureMathError('invalid-argument', `one sampler per noise level: ${samplers.length} samplers for ${rule.sigmas.length} sigmas`);
  const stages: CascadeStage[] = [];
  for (let k = 0; k < samplers.length; k++) {
    const stage = await certifyCascadeStage(samplers[k]!, rule, k, options);
    if (E.isLeft(stage)) return stage;
    stages.push(stage.right);
    if (stage.right.decision !== 'skip') break;
  }
  return E.right(cascadeResult(rule, stages));
}

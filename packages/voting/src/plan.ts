import { either as E } from 'fp-ts';
import type { DenoiserMetadata } from '@densepure/backend';
import {
  type ReversePlan,
  type SigmaTimestep,
  type VarianceKind,
  betaSchedule,
  checkedPlanReverse,
  checkedTimestepForSigma,
  diffusionConstants,
  planReverse,
} from '@densepure/core';
import type { Batching } from './batching.js';
import { type ConfigError, invalidSetting, scheduleError } from './errors.js';
import type { Aggregation, ChainSpec, MethodReads, Purification } from './methods/entry.js';
import { type Method, methodReads, methodSlug } from './methods/table.js';
import type { MethodGroupConfig } from './types.js';

/** Members that run the same reverse chain: their votes are shared, up to `maxVotes` chains per draw. */
export interface ChainFamily {
  /** `<steps>/<spacing>`, e.g. `2/densepure` or `full/uniform`. */
  readonly key: string;
  readonly plan: ReversePlan;
  readonly maxVotes: number;
}

/**
 * Members that smooth the same purified image locally with the same extra noise: their votes (the noisy copies'
 * labels) are shared, up to `maxVotes` copies per draw.
 */
export interface LocalFamily {
  /** `<one-shot|steps/spacing>@<sigma>`, e.g. `one-shot@0.25` or `2/densepure@0.12`. */
  readonly key: string;
  /** The purified image of a draw: the one-shot x0, or vote 0 of chain family `family`. */
  readonly purified: { readonly from: 'one-shot' } | { readonly from: 'chain'; readonly family: number };
  /** Standard deviation of the local noise, in [0, 1] pixel units. */
  readonly sigma: number;
  readonly maxVotes: number;
}

/**
 * What one member reads from the shared evaluation (its method's {@link MethodReads}, the chain resolved to a
 * family): `noisy` the noisy images' labels, `one-shot` the one-shot x0's labels, `chains` the first `votes`
 * votes of chain family `family`, `local` the first `votes` votes of local family `family`, aggregated as
 * `aggregation` says.
 */
export type MemberSource =
  | { readonly from: 'noisy' }
  | { readonly from: 'one-shot' }
  | { readonly from: 'chains'; readonly family: number; readonly votes: number; readonly aggregation: Aggregation }
  | { readonly from: 'local'; readonly family: number; readonly votes: number; readonly aggregation: Aggregation };

const readsProbabilities = (r: MethodReads): boolean => (r.from === 'chains' || r.from === 'local') && r.aggregation.reads === 'probabilities';

/** The most local votes per draw: local vote j takes vote index j + 1 of the noise address (see evaluate.ts `localCopies`). */
export const MAX_LOCAL_VOTES = 0xffff;

export interface MemberPlan {
  readonly method: Method;
  readonly source: MemberSource;
  /** t* (absent for plain smoothing). */
  readonly tStar?: number;
  /** Model timesteps the member's reverse process queries, in order. */
  readonly timesteps: readonly number[];
  /** Denoiser evaluations per draw for this member alone, all votes run. */
  readonly denoiserEvalsPerDraw: number;
}

/** The diffusion side of a plan: t* for sigma, the variance rule and the one-shot step (DDS and every chain's first call). */
export interface DiffusionPlan {
  readonly tStar: SigmaTimestep;
  readonly variance: VarianceKind;
  readonly oneShot: ReversePlan;
}

/** Everything a method group needs decided before it touches a model; no model is run to make it. */
export interface GroupPlan {
  readonly sigma: number;
  readonly seed: number;
  readonly batching: Batching;
  /** C * H * W of one image. */
  readonly pixels: number;
  readonly numClasses: number;
  /** Null when every member is plain smoothing. */
  readonly diffusion: DiffusionPlan | null;
  readonly families: readonly ChainFamily[];
  readonly localFamilies: readonly LocalFamily[];
  readonly members: readonly MemberPlan[];
  /** Denoiser evaluations per draw for the whole group, all votes run. */
  readonly denoiserEvalsPerDraw: number;
  readonly decidedVoteStop: boolean;
}

/** What planning reads of the denoiser's metadata. */
export type DenoiserShape = Pick<DenoiserMetadata, 'inputShape' | 'learnedVariance' | 'diffusion'>;

/** What planning reads of the classifier. */
export interface ClassifierShape {
  /** [C, H, W] of the images it takes. */
  readonly sourceShape: readonly [number, number, number];
  readonly numClasses: number;
  /** Its name, for messages. */
  readonly name?: string;
  /** Whether it gives class probabilities (default true; a manifest with output 'scores' gives labels only). */
  readonly givesProbabilities?: boolean;
}

/** A chain family's key: `<steps>/<spacing>`. */
export const chainKey = (chain: ChainSpec): string => `${chain.steps}/${chain.spacing}`;

/** A local family's key: `<one-shot|steps/spacing>@<sigma>`. */
const localKey = (purified: Purification, sigma: number): string => `${purified.from === 'one-shot' ? 'one-shot' : chainKey(purified.chain)}@${sigma}`;

/**
 * Denoiser evaluations of `votes` runs of a chain beyond its first step: every chain starts at t*
 * (planReverse's first step), so its first model call is the group's shared one at t*.
 */
export const chainEvaluations = (plan: ReversePlan, votes: number): number => votes * (plan.steps.length - 1);

/**
 * Checks a method-group configuration against the models' metadata and plans it: t* for sigma, the variance
 * rule, one reverse plan per chain family and the evaluation counts. Pure: the first problem found comes back
 * as a ConfigError, in the order sigma, batch size, concurrency, seed, methods, denoiser, shapes, variance, K.
 */
export function planGroup(denoiser: DenoiserShape | null, classifier: ClassifierShape, config: MethodGroupConfig): E.Either<ConfigError, GroupPlan> {
  const { sigma, batchSize, seed, methods } = config;
  const concurrency = config.concurrency ?? 1;
  if (!(sigma > 0) || !Number.isFinite(sigma)) return E.left(invalidSetting('sigma', sigma, 'a positive number'));
  if (!Number.isInteger(batchSize) || batchSize < 1) return E.left(invalidSetting('batch size', batchSize, 'a whole number >= 1'));
  if (!Number.isInteger(concurrency) || concurrency < 1) return E.left(invalidSetting('concurrency', concurrency, 'a whole number >= 1'));
  if (!Number.isInteger(seed) || seed < 0) return E.left(invalidSetting('seed', seed, 'a whole number >= 0'));
  if (methods.length === 0) return E.left({ kind: 'no-methods', message: 'a method group needs at least one method' });
  const [c, h, w] = classifier.sourceShape;
  const reads = methods.map(methodReads);
  const needing = methods.find((_, i) => reads[i]!.from !== 'noisy');
  const wantsProbabilities = methods.find((_, i) => readsProbabilities(reads[i]!));
  if (wantsProbabilities !== undefined && classifier.givesProbabilities === false) {
    const name = classifier.name ?? 'the classifier';
    return E.left({
      kind: 'needs-probabilities',
      method: methodSlug(wantsProbabilities),
      classifier: name,
      message: `method '${methodSlug(wantsProbabilities)}' averages class probabilities, but ${name} gives labels only (its manifest says output 'scores'); use a classifier that outputs logits or probabilities, or a majority-vote method`,
    });
  }

  let diffusion: DiffusionPlan | null = null;
  const families: ChainFamily[] = [];
  const localFamilies: LocalFamily[] = [];
  if (needing !== undefined) {
    if (denoiser === null) {
      return E.left({ kind: 'needs-denoiser', method: methodSlug(needing), message: `method '${methodSlug(needing)}' needs a denoiser; give one, or use plain smoothing` });
    }
    const shape = denoiser.inputShape;
    if (shape[0] !== c || shape[1] !== h || shape[2] !== w) {
      return E.left({
        kind: 'shape-mismatch',
        denoiserShape: shape,
        datasetShape: [c, h, w],
        message: `the denoiser takes ${shape.join('x')} images but the dataset has ${c}x${h}x${w}; use a denoiser trained at the dataset's size`,
      });
    }
    // Every schedule field of the manifest (schedule, T, betaStart/betaEnd) is honoured; the manifest check refused contradictions.
    const betas = betaSchedule(denoiser.diffusion);
    const constants = diffusionConstants(betas);
    const variance = config.variance ?? (denoiser.learnedVariance ? 'learned-range' : 'fixed-large');
    if (variance === 'learned-range' && !denoiser.learnedVariance) {
      return E.left({
        kind: 'variance-unsupported',
        variance,
        message: `variance 'learned-range' needs a model that outputs v (learnedVariance in its manifest); use fixed-small or fixed-large`,
      });
    }
    const timestep = checkedTimestepForSigma(config.timestepRule ?? 'nearest', sigma, { schedule: denoiser.diffusion.schedule, alphasCumprod: constants.alphasCumprod });
    if (E.isLeft(timestep)) return E.left(scheduleError(timestep.left));
    const tStar = timestep.right;
    diffusion = { tStar, variance, oneShot: planReverse(constants, tStar.t, { kind: 'one-shot' }) };
    // The family running `chain` with at least `votes` votes per draw (made on first use); Left: the schedule cannot.
    const chainFamily = (chain: ChainSpec, votes: number): E.Either<ConfigError, number> => {
      const key = chainKey(chain);
      const at = families.findIndex((f) => f.key === key);
      if (at >= 0) {
        families[at] = { ...families[at]!, maxVotes: Math.max(families[at]!.maxVotes, votes) };
        return E.right(at);
      }
      const { steps, spacing } = chain;
      const planned = checkedPlanReverse(constants, tStar.t, steps === 'full' ? { kind: 'full' } : { kind: 'respaced', steps, spacing });
      if (E.isLeft(planned)) return E.left(scheduleError(planned.left));
      const plan = planned.right;
      // The shared model call at t* is every chain's first step; a plan that started elsewhere could not use it.
      const start = plan.steps[0]!.modelTimestep;
      if (start !== tStar.t) return E.left({ kind: 'chain-start', chain: key, message: `reverse chain ${key} starts at t=${start}, not at t*=${tStar.t}` });
      families.push({ key, plan, maxVotes: votes });
      return E.right(families.length - 1);
    };
    for (const r of reads) {
      if (r.from === 'chains') {
        if (!Number.isInteger(r.votes) || r.votes < 1) return E.left(invalidSetting('K', r.votes, 'a whole number >= 1'));
        const family = chainFamily(r.chain, r.votes);
        if (E.isLeft(family)) return family;
      } else if (r.from === 'local') {
        if (!Number.isInteger(r.votes) || r.votes < 1 || r.votes > MAX_LOCAL_VOTES) return E.left(invalidSetting('m', r.votes, `a whole number from 1 to ${MAX_LOCAL_VOTES}`));
        if (!(r.sigma >= 0) || !Number.isFinite(r.sigma)) return E.left(invalidSetting('sigmaL', r.sigma, 'a number >= 0'));
        let purified: LocalFamily['purified'] = { from: 'one-shot' };
        if (r.purified.from === 'chain') {
          // The purified image is the chain's first vote: the family runs at least that one.
          const family = chainFamily(r.purified.chain, 1);
          if (E.isLeft(family)) return family;
          purified = { from: 'chain', family: family.right };
        }
        const key = localKey(r.purified, r.sigma);
        const at = localFamilies.findIndex((f) => f.key === key);
        if (at >= 0) localFamilies[at] = { ...localFamilies[at]!, maxVotes: Math.max(localFamilies[at]!.maxVotes, r.votes) };
        else localFamilies.push({ key, purified, sigma: r.sigma, maxVotes: r.votes });
      }
    }
  }

  const members = methods.map((method, i): MemberPlan => memberPlan(method, reads[i]!, diffusion, families, localFamilies));
  return E.right({
    sigma,
    seed,
    batching: { batchSize, concurrency },
    pixels: c * h * w,
    numClasses: classifier.numClasses,
    diffusion,
    families,
    localFamilies,
    members,
    denoiserEvalsPerDraw: (diffusion === null ? 0 : 1) + families.reduce((s, f) => s + chainEvaluations(f.plan, f.maxVotes), 0),
    decidedVoteStop: config.decidedVoteStop ?? true,
  });
}

/** A member's plan: what it reads of the shared evaluation and what that costs per draw. */
function memberPlan(method: Method, reads: MethodReads, diffusion: DiffusionPlan | null, families: readonly ChainFamily[], localFamilies: readonly LocalFamily[]): MemberPlan {
  if (reads.from === 'noisy') return { method, source: { from: 'noisy' }, timesteps: [], denoiserEvalsPerDraw: 0 };
  const { tStar, oneShot } = diffusion!;
  if (reads.from === 'one-shot') return { method, source: { from: 'one-shot' }, tStar: tStar.t, timesteps: oneShot.modelTimesteps, denoiserEvalsPerDraw: 1 };
  if (reads.from === 'local') {
    const family = localFamilies.findIndex((f) => f.key === localKey(reads.purified, reads.sigma));
    const { purified } = localFamilies[family]!;
    const source: MemberSource = { from: 'local', family, votes: reads.votes, aggregation: reads.aggregation };
    if (purified.from === 'one-shot') return { method, source, tStar: tStar.t, timesteps: oneShot.modelTimesteps, denoiserEvalsPerDraw: 1 };
    const { plan } = families[purified.family]!;
    // One purification per draw: the chain's first vote (denoiser calls only; the local votes are classifier calls).
    return { method, source, tStar: tStar.t, timesteps: plan.modelTimesteps, denoiserEvalsPerDraw: 1 + chainEvaluations(plan, 1) };
  }
  const family = families.findIndex((f) => f.key === chainKey(reads.chain));
  const { plan } = families[family]!;
  return {
    method,
    source: { from: 'chains', family, votes: reads.votes, aggregation: reads.aggregation },
    tStar: tStar.t,
    timesteps: plan.modelTimesteps,
    denoiserEvalsPerDraw: 1 + chainEvaluations(plan, reads.votes),
  };
}

/** The members of one family (chain or local) that a call wants: how many votes each counts and how it aggregates them. */
export interface VoteNeed {
  readonly members: readonly { readonly votes: number; readonly aggregation: Aggregation }[];
  /** Whether any of them reads class probabilities (else labels suffice). */
  readonly probabilities: boolean;
}

/** A chain family's need: its members' votes, and whether a wanted local family purifies with its first vote. */
export interface FamilyNeed extends VoteNeed {
  /** Keep each draw's vote-0 sample (then `members` may be empty: the chain runs for the purified image alone). */
  readonly purifies: boolean;
}

/** What a call for the `wanted` members must compute. */
export interface Needs {
  readonly noisyLabels: boolean;
  readonly oneShot: boolean;
  /** Per family: what its wanted members need (null: the family is not run). */
  readonly families: readonly (FamilyNeed | null)[];
  /** Per local family: what its wanted members need (null: not run). */
  readonly local: readonly (VoteNeed | null)[];
}

function voteNeed(sources: readonly MemberSource[], from: 'chains' | 'local', family: number): VoteNeed | null {
  const members = sources.flatMap((s) => (s.from === from && s.family === family ? [{ votes: s.votes, aggregation: s.aggregation }] : []));
  return members.length === 0 ? null : { members, probabilities: members.some((m) => m.aggregation.reads === 'probabilities') };
}

export function needsOf(plan: GroupPlan, wanted: readonly number[]): Needs {
  const sources = wanted.map((m) => plan.members[m]!.source);
  const local = plan.localFamilies.map((_, f) => voteNeed(sources, 'local', f));
  return {
    noisyLabels: sources.some((s) => s.from === 'noisy'),
    oneShot: sources.some((s) => s.from === 'one-shot'),
    families: plan.families.map((_, f) => {
      const purifies = plan.localFamilies.some((l, i) => local[i] !== null && l.purified.from === 'chain' && l.purified.family === f);
      const need = voteNeed(sources, 'chains', f);
      return need === null && !purifies ? null : { ...(need ?? { members: [], probabilities: false }), purifies };
    }),
    local,
  };
}

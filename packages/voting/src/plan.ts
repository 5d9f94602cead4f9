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
import type { Aggregation, ChainSpec, MethodReads } from './methods/entry.js';
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
 * What one member reads from the shared evaluation (its method's {@link MethodReads}, the chain resolved to a
 * family): `noisy` the noisy images' labels, `one-shot` the one-shot x0's labels, `chains` the first `votes`
 * votes of chain family `family`, aggregated as `aggregation` says.
 */
export type MemberSource =
  | { readonly from: 'noisy' }
  | { readonly from: 'one-shot' }
  | { readonly from: 'chains'; readonly family: number; readonly votes: number; readonly aggregation: Aggregation };

const readsProbabilities = (r: MethodReads): boolean => r.from === 'chains' && r.aggregation.reads === 'probabilities';

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
    for (const r of reads) {
      if (r.from !== 'chains') continue;
      if (!Number.isInteger(r.votes) || r.votes < 1) return E.left(invalidSetting('K', r.votes, 'a whole number >= 1'));
      const key = chainKey(r.chain);
      const at = families.findIndex((f) => f.key === key);
      if (at >= 0) {
        families[at] = { ...families[at]!, maxVotes: Math.max(families[at]!.maxVotes, r.votes) };
        continue;
      }
      const { steps, spacing } = r.chain;
      const planned = checkedPlanReverse(constants, tStar.t, steps === 'full' ? { kind: 'full' } : { kind: 'respaced', steps, spacing });
      if (E.isLeft(planned)) return E.left(scheduleError(planned.left));
      const plan = planned.right;
      // The shared model call at t* is every chain's first step; a plan that started elsewhere could not use it.
      const start = plan.steps[0]!.modelTimestep;
      if (start !== tStar.t) return E.left({ kind: 'chain-start', chain: key, message: `reverse chain ${key} starts at t=${start}, not at t*=${tStar.t}` });
      families.push({ key, plan, maxVotes: r.votes });
    }
  }

  const members = methods.map((method, i): MemberPlan => memberPlan(method, reads[i]!, diffusion, families));
  return E.right({
    sigma,
    seed,
    batching: { batchSize, concurrency },
    pixels: c * h * w,
    numClasses: classifier.numClasses,
    diffusion,
    families,
    members,
    denoiserEvalsPerDraw: (diffusion === null ? 0 : 1) + families.reduce((s, f) => s + chainEvaluations(f.plan, f.maxVotes), 0),
    decidedVoteStop: config.decidedVoteStop ?? true,
  });
}

/** A member's plan: what it reads of the shared evaluation and what that costs per draw. */
function memberPlan(method: Method, reads: MethodReads, diffusion: DiffusionPlan | null, families: readonly ChainFamily[]): MemberPlan {
  if (reads.from === 'noisy') return { method, source: { from: 'noisy' }, timesteps: [], denoiserEvalsPerDraw: 0 };
  const { tStar, oneShot } = diffusion!;
  if (reads.from === 'one-shot') return { method, source: { from: 'one-shot' }, tStar: tStar.t, timesteps: oneShot.modelTimesteps, denoiserEvalsPerDraw: 1 };
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

/** The members of one chain family that a call wants: how many votes each counts and how it aggregates them. */
export interface FamilyNeed {
  readonly members: readonly { readonly votes: number; readonly aggregation: Aggregation }[];
  /** Whether any of them reads class probabilities (else labels suffice). */
  readonly probabilities: boolean;
}

/** What a call for the `wanted` members must compute. */
export interface Needs {
  readonly noisyLabels: boolean;
  readonly oneShot: boolean;
  /** Per family: what its wanted members need (null: the family is not run). */
  readonly families: readonly (FamilyNeed | null)[];
}

export function needsOf(plan: GroupPlan, wanted: readonly number[]): Needs {
  const sources = wanted.map((m) => plan.members[m]!.source);
  return {
    noisyLabels: sources.some((s) => s.from === 'noisy'),
    oneShot: sources.some((s) => s.from === 'one-shot'),
    families: plan.families.map((_, f) => {
      const members = sources.flatMap((s) => (s.from === 'chains' && s.family === f ? [{ votes: s.votes, aggregation: s.aggregation }] : []));
      return members.length === 0 ? null : { members, probabilities: members.some((m) => m.aggregation.reads === 'probabilities') };
    }),
  };
}

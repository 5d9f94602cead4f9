// Sequential CERTIFY in the runner: @densepure/core's anytime-valid rule (`sequentialRule`, `nextRoundSize`,
// `sequentialLook`, the very rule `certifySequential` applies) driven here so that several methods on shared draws
// stop one by one, and several images' rounds share model calls (see coalesce.ts).
import { either as E } from 'fp-ts';
import { z } from 'zod';
import {
  type SelectionRule,
  type SequentialRule,
  type SequentialStopReason,
  DEFAULT_MIN_ROUND,
  DEFAULT_ROUND_GROWTH,
  nextRoundSize,
  normalQuantile,
  selectionLooks,
  selectionPick,
  sequentialLook,
  sequentialRule,
  validateSequentialOptions,
} from '@densepure/core';
import type { BackendError } from '@densepure/backend';
import { wrapClassifier } from '@densepure/classifiers';
import { type EvaluationTally, type MethodGroup, makeMethodGroup } from '@densepure/voting';
import { coalescedClassifier, coalescedDenoiser } from '../coalesce.js';
import { type RunError, modelRunError } from '../errors.js';
import type { ImageResult, ImageTask } from '../image.js';
import { certifyRow } from '../tsv.js';
import type { Pipeline } from '../pipeline.js';
import { concurrently } from '../schedule.js';
import { drawsPerBatch } from '../batch.js';
import type { RunSpec } from '../spec.js';
import { countInto } from './counting.js';
import type { Mode, ModeEntry } from './types.js';
import type { FutilityCost } from '../accounting.js';

/**
 * Sequential CERTIFY: draws in rounds with an anytime-valid confidence sequence, stopping once the largest of
 * `radii` is certified or clearly out of reach; the run's N is the cap on estimation draws. `group`: images
 * certified at once, their rounds sharing model calls (speed only; default {@link DEFAULT_GROUP}).
 */
export interface SequentialMode {
  readonly kind: 'sequential';
  readonly radii: readonly number[];
  readonly group?: number;
  /**
   * How the top class is picked within the N0 selection draws: 'adaptive' (default: stop at the first look where
   * the leading class is a clear majority at level alpha, N0 the cap) or 'fixed' (all N0 draws, Cohen et al.).
   */
  readonly selection?: 'adaptive' | 'fixed';
  /**
   * The futility budget: level of the upper confidence sequence that decides when to give up on the next radius
   * (default alpha). Each image loses a radius its true pA reaches through such a stop with probability at most
   * this level; the certificate's own level stays alpha.
   */
  readonly futility?: number;
}

/** Images certified at once in sequential mode (their model calls are merged into full batches). */
export const DEFAULT_GROUP = 8;

/** The selection rule of a sequential mode, in core's terms (adaptive at level alpha unless 'fixed'). */
export const selectionRule = (mode: Pick<SequentialMode, 'selection'>): SelectionRule => ({ kind: mode.selection ?? 'adaptive' });

/**
 * The fixed sequential rule a run records in its identity (core's defaults; the bound's level is alpha). Adaptive
 * selection and a futility budget change which draws are used and when images stop, so they enter it; fixed
 * selection and the default futility level leave it as runs made before they existed recorded it.
 */
export const sequentialIdentity = (mode: SequentialMode) => ({
  radii: [...mode.radii],
  bound: 'beta-binomial mixture confidence sequence',
  minRound: DEFAULT_MIN_ROUND,
  roundGrowth: DEFAULT_ROUND_GROWTH,
  ...(selectionRule(mode).kind === 'adaptive' ? { selection: 'adaptive: stop at a clear majority (mixture lower bound > 1/2 at level alpha), N0 the cap' } : {}),
  ...(mode.futility === undefined ? {} : { futility: mode.futility }),
});

/** One method's outcome on one image, as `certifySequential` would return it. */
export interface SequentialOutcome {
  readonly label: number;
  /** The (1 - alpha) anytime-valid lower bound on pA at the stop. */
  readonly lower: number;
  /** The upper bound at the stop, at the futility level (it only decided when to stop). */
  readonly upper: number;
  readonly stop: SequentialStopReason;
  /** Selection draws used (n0, or fewer with adaptive selection). */
  readonly selection: number;
  /** The label's estimation count at each look, in order (the looks' draw counts follow from the round rule). */
  readonly looks: readonly number[];
  readonly estimation: number;
  readonly rounds: number;
  /** sigma Phi^{-1}(lower) when lower > 1/2 (certified), else null (abstain). */
  readonly radius: number | null;
}

export interface SequentialImageSettings {
  readonly sigma: number;
  readonly n0: number;
  /** Cap on estimation draws. */
  readonly n: number;
  readonly alpha: number;
  readonly radii: readonly number[];
  /** Most draws per sampler call. */
  readonly chunk: number;
  readonly selection?: SelectionRule;
  /** Level of the upper sequence that decides the stops that give up (default alpha). */
  readonly futilityAlpha?: number;
}

/** What a watcher of {@link certifyImageSequential} sees, in order: the selection counts, then each round's looks. */
export type SequentialEvent =
  | { readonly kind: 'selection'; readonly counts: readonly (readonly number[])[]; readonly labels: readonly number[] }
  | {
      readonly kind: 'round';
      /** Estimation draws counted so far, and rounds run. */
      readonly n: number;
      readonly rounds: number;
      /** Each wanted member's estimation counts so far (a member that stopped keeps its counts at its stop). */
      readonly counts: readonly (readonly number[])[];
      /** Each member that looked this round: its lower bound on pA, and why it stopped (null: it goes on). */
      readonly looks: readonly { readonly member: number; readonly lower: number; readonly stop: SequentialStopReason | null }[];
    };

/**
 * Sequential CERTIFY of one image for the group members `wanted`, on shared draws: selection on draws [0, n0) in
 * core's selection looks (a member leaves selection at its first look that picks), then rounds of estimation draws
 * n0, n0 + 1, ... that every member still running counts; a member leaves at its first look that stops. Each
 * member's outcome is exactly `certifySequential`'s on its own sampler (same draws, same rounds, same looks).
 * `tally` receives the model evaluations made; `watch`, if given, each step as it is decided (it changes nothing).
 * A model call that fails stops the image and its BackendError comes back.
 */
export async function certifyImageSequential(
  group: MethodGroup,
  settings: SequentialImageSettings,
  image: Float32Array,
  idx: number,
  wanted: readonly number[],
  tally: EvaluationTally,
  watch?: (event: SequentialEvent) => void,
): Promise<E.Either<BackendError, SequentialOutcome[]>> {
  const numClasses = group.members[0]!.numClasses;
  const { n0, alpha } = settings;
  const rule: SequentialRule = sequentialRule({ sigma: settings.sigma, n0, nMax: settings.n, alpha, radii: settings.radii, numClasses, batchSize: settings.chunk, ...(settings.selection === undefined ? {} : { selection: settings.selection }), ...(settings.futilityAlpha === undefined ? {} : { futilityAlpha: settings.futilityAlpha }) });
  const site = { group, image, idx, chunk: settings.chunk, tally };
  const count = (members: readonly number[], first: number, draws: number, into: number[][]) => countInto(site, members, first, draws, into);
  const zeros = (): number[] => new Array<number>(numClasses).fill(0);
  const selection = wanted.map(zeros);
  const labels = new Array<number>(wanted.length);
  const selectionDraws = new Array<number>(wanted.length);
  let selecting = wanted.map((_, w) => w);
  let s = 0;
  for (const look of selectionLooks(n0, rule.selection, alpha, rule.prior)) {
    const counts = selecting.map(zeros);
    const counted = await count(selecting.map((w) => wanted[w]!), s, look - s, counts);
    if (E.isLeft(counted)) return counted;
    s = look;
    selecting.forEach((w, i) => counts[i]!.forEach((c, k) => (selection[w]![k]! += c)));
    selecting = selecting.filter((w) => {
      const picked = selectionPick(selection[w]!, s, n0, rule.selection, alpha, rule.prior);
      if (picked === null) return true;
      labels[w] = picked;
      selectionDraws[w] = s;
      return false;
    });
    if (selecting.length === 0) break;
  }
  watch?.({ kind: 'selection', counts: selection, labels });
  const estimation = wanted.map(zeros);
  const outcomes = new Array<SequentialOutcome | undefined>(wanted.length);
  const history = wanted.map((): number[] => []);
  let active = wanted.map((_, w) => w);
  let n = 0;
  let rounds = 0;
  while (active.length > 0) {
    const round = nextRoundSize(n, rule);
    const counts = active.map(zeros);
    const counted = await count(active.map((w) => wanted[w]!), settings.n0 + n, round, counts);
    if (E.isLeft(counted)) return counted;
    n += round;
    rounds += 1;
    active.forEach((w, i) => counts[i]!.forEach((c, k) => (estimation[w]![k]! += c)));
    const looks: { member: number; lower: number; stop: SequentialStopReason | null }[] = [];
    active = active.filter((w) => {
      history[w]!.push(estimation[w]![labels[w]!]!);
      const look = sequentialLook(estimation[w]![labels[w]!]!, n, rule);
      looks.push({ member: w, lower: look.lower, stop: look.stop });
      if (look.stop === null) return true;
      outcomes[w] = { label: labels[w]!, lower: look.lower, upper: look.upper, stop: look.stop, selection: selectionDraws[w]!, looks: history[w]!, estimation: n, rounds, radius: look.lower > 0.5 ? settings.sigma * normalQuantile(look.lower) : null };
      return false;
    });
    watch?.({ kind: 'round', n, rounds, counts: estimation, looks });
  }
  return E.right(outcomes as SequentialOutcome[]);
}

/**
 * The pipeline's methods on models whose calls are merged across images (coalesce.ts): the group that several
 * images certified at once share. Same configuration as `pipeline.group`, hence the same counts.
 */
export function coalescedGroup(pipeline: Pipeline, spec: Pick<RunSpec, 'batch' | 'models'>): E.Either<RunError, MethodGroup> {
  const options = { batchSize: spec.batch, concurrency: Math.max(1, spec.models.workers) };
  const classifier = wrapClassifier(coalescedClassifier(pipeline.classifier, options), pipeline.dataset.shape);
  if (E.isLeft(classifier)) return E.left({ kind: 'model-load', role: 'classifier', error: classifier.left, message: `classifier: ${classifier.left.message}` });
  // The pipeline group's own configuration, so the counts are the same.
  const group = makeMethodGroup(pipeline.denoiser === null ? null : coalescedDenoiser(pipeline.denoiser, options), classifier.right, pipeline.groupConfig);
  return E.isLeft(group) ? E.left({ kind: 'method-config', error: group.left, message: group.left.message }) : E.right(group.right);
}

/** Radii positive and increasing, each reachable within the cap N at this alpha (core's checks); group whole. */
function validate(spec: RunSpec, mode: SequentialMode): RunError | null {
  if (mode.group !== undefined && !(Number.isInteger(mode.group) && mode.group >= 1)) {
    return { kind: 'invalid-setting', setting: 'group', requirement: 'must be a whole number >= 1', value: mode.group, message: `group must be a whole number >= 1, got ${mode.group}` };
  }
  if (mode.selection !== undefined && mode.selection !== 'adaptive' && mode.selection !== 'fixed') {
    return { kind: 'invalid-setting', setting: 'selection', requirement: "must be 'adaptive' or 'fixed'", value: mode.selection, message: `selection must be 'adaptive' or 'fixed', got ${String(mode.selection)}` };
  }
  const checked = validateSequentialOptions({ sigma: spec.sigma, n0: spec.n0, nMax: spec.n, alpha: spec.alpha, radii: mode.radii, numClasses: 2, batchSize: spec.batch, ...(mode.futility === undefined ? {} : { futilityAlpha: mode.futility }) });
  return checked._tag === 'Left' ? { kind: 'sequential-setting', error: checked.left, message: checked.left.message } : null;
}

/** Stops that give up on the next radius: the only ones a futility budget moves. */
const GIVE_UP: readonly SequentialStopReason[] = ['pA-below-half', 'next-radius-out-of-reach', 'next-radius-beyond-cap'];

/**
 * What the futility budget spent on a row: its level, the upper bound at the stop, and `spent`: the level when the
 * row gave up on its next radius (the most probability with which that stop lost a radius the image's pA reaches),
 * else 0.
 */
function futilityCost(level: number, o: SequentialOutcome): FutilityCost {
  return { level, upper: o.upper, spent: GIVE_UP.includes(o.stop) ? level : 0 };
}

async function certifyOne(task: ImageTask, mode: SequentialMode): Promise<E.Either<RunError, ImageResult>> {
  const { pipeline, settings, sample, idx, wanted, group } = task;
  const started = performance.now();
  const tally: EvaluationTally = { denoiser: 0, classifier: 0 };
  const chunk = drawsPerBatch(settings.batch, pipeline.methods, settings.models.workers);
  const outcomes = await certifyImageSequential(group, { sigma: settings.sigma, n0: settings.n0, n: settings.n, alpha: settings.alpha, radii: mode.radii, chunk, selection: selectionRule(mode), ...(mode.futility === undefined ? {} : { futilityAlpha: mode.futility }) }, sample.image, idx, wanted, tally);
  if (E.isLeft(outcomes)) return E.left(modelRunError(outcomes.left));
  const seconds = (performance.now() - started) / 1000;
  return E.right({
    rows: outcomes.right.map((o) => certifyRow(sample, idx, o.label, o.radius, seconds)),
    costs: outcomes.right.map((o) => ({ idx, draws: { selection: o.selection, estimation: o.estimation }, evaluations: { ...tally }, rounds: o.rounds, stop: o.stop, pA: o.lower, looks: o.looks, ...(mode.futility === undefined ? {} : { futility: futilityCost(mode.futility, o) }) })),
  });
}

const bind = (mode: SequentialMode): Mode => ({
  kind: 'sequential',
  validate: (spec) => validate(spec, mode),
  identity: () => ({ sequential: sequentialIdentity(mode) }),
  sidecar: (spec, costFile) => ({
    sequential: {
      radii: mode.radii,
      cap: spec.n,
      bound: 'anytime-valid beta-binomial mixture confidence sequence (Howard et al. 2021): valid at any stopping time',
      selection:
        selectionRule(mode).kind === 'adaptive'
          ? 'adaptive: the first look (draw counts ' + selectionLooks(spec.n0, selectionRule(mode), spec.alpha).join(', ') + ') at which the leading class is a clear majority (mixture lower bound > 1/2 at level alpha) picks it, else the most voted of N0; selection draws never enter the bound, estimation starts at draw N0'
          : 'N0 separate draws pick the class; they never enter the bound',
      ...(mode.futility === undefined ? {} : { futility: `give-up stops decided at level ${mode.futility} (per image, the chance of losing a radius its true pA reaches through such a stop); the certificate's level stays alpha` }),
      time: "the image's share of the wall time: while n images are certified at once, each is charged 1/n of it, so the times add up to the run's wall time",
      costFile,
    },
  }),
  costInSidecar: true,
  // Each look decides from the draws so far, so an image's rounds cannot be counted apart and added up.
  countsAdd: false,
  certifyImage: (task) => () => certifyOne(task, mode),
  /** Up to `group` images in flight, their model calls merged into full batches (coalesce.ts). */
  certifyLocally: async (context) => {
    const size = mode.group ?? DEFAULT_GROUP;
    let group = context.pipeline.group;
    if (size > 1) {
      const coalesced = coalescedGroup(context.pipeline, context.spec);
      if (E.isLeft(coalesced)) return coalesced;
      group = coalesced.right;
    }
    return concurrently(context, size, (image) =>
      certifyOne({ pipeline: context.pipeline, settings: context.spec, sample: context.pipeline.dataset.get(image.idx), idx: image.idx, wanted: image.wanted, group }, mode),
    );
  },
});

export const sequentialEntry: ModeEntry<SequentialMode> = {
  identityFields: {
    sequential: z.object({ radii: z.array(z.number()), bound: z.string(), minRound: z.number(), roundGrowth: z.number(), selection: z.string().optional(), futility: z.number().optional() }).optional(),
  },
  bind,
};

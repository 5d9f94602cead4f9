// Cascaded smoothing over several sigmas (Jeong & Shin 2023) in the runner: @densepure/core's cascade rule (its
// fixed-N stages, or its sequential looks) driven here so that several methods on shared draws go through the
// stages together, each stage on a method group at its own sigma (its own t*) over the pipeline's models.
import { either as E } from 'fp-ts';
import { z } from 'zod';
import {
  type CascadeResult,
  type CascadeRule,
  type CascadeSequentialRule,
  type CascadeStage,
  CASCADE_ALPHA_SPLIT,
  DEFAULT_MIN_ROUND,
  DEFAULT_ROUND_GROWTH,
  cascadeLook,
  cascadeResult,
  cascadeRule,
  cascadeSequentialRule,
  certifyCascadeStage,
  checkCascadeRadii,
  closeSequentialStage,
  nextRoundSize,
  stageCap,
  stageSelectionLooks,
  stageSelectionPick,
  validateCascadeSettings,
} from '@densepure/core';
import { type EvaluationTally, type MethodGroup, makeMethodGroup } from '@densepure/voting';
import type { CascadeCost, RowCost } from '../accounting.js';
import { drawsPerBatch } from '../batch.js';
import { type RunError, invalidSetting, modelRunError } from '../errors.js';
import type { ImageResult, ImageTask } from '../image.js';
import type { Pipeline } from '../pipeline.js';
import { inTurn } from '../schedule.js';
import type { RunSpec } from '../spec.js';
import { certifyRow } from '../tsv.js';
import type { Mode, ModeEntry } from './types.js';
import { countInto } from './counting.js';
import { selectionRule } from './sequential.js';

/**
 * Cascaded CERTIFY over `sigmas` (strictly decreasing, largest first) with confidence threshold `p0` in
 * [1/2, 1): stage k certifies at sigmas[k] with the t* of that sigma, and the cascade answers with the first
 * stage whose top class is above p0 (core's `certifyCascade` for the rule, its theorem and the alpha split).
 * The run's sigma is the first (largest) of `sigmas`: the run's method group, t* and sidecar are that stage's.
 * Every stage draws N0 + N (the same draw indices as a fixed-N run at its sigma), or with `radii` it draws
 * sequentially, N being the cap per stage.
 */
export interface CascadeMode {
  readonly kind: 'cascade';
  readonly sigmas: readonly number[];
  readonly p0: number;
  /** Present: each stage stops as soon as its decision and radius are settled (cascade radii, increasing). */
  readonly radii?: readonly number[];
  /** With radii: how each stage picks its top class within N0, as a sequential mode's (default 'adaptive'). */
  readonly selection?: 'adaptive' | 'fixed';
}

/** The confidence threshold when none is given (the reference's `--skip_p` default). */
export const DEFAULT_P0 = 0.5;

/** What a cascade run records in its identity. */
export const cascadeIdentity = (mode: CascadeMode) => ({
  sigmas: [...mode.sigmas],
  p0: mode.p0,
  alphaSplit: CASCADE_ALPHA_SPLIT,
  bound: mode.radii === undefined ? 'clopper-pearson' : 'beta-binomial mixture confidence sequence',
  ...(mode.radii === undefined ? {} : { radii: [...mode.radii], minRound: DEFAULT_MIN_ROUND, roundGrowth: DEFAULT_ROUND_GROWTH }),
  // As for a sequential mode: fixed selection leaves the identity as runs made before adaptive selection recorded it.
  ...(mode.radii !== undefined && selectionRule(mode).kind === 'adaptive' ? { selection: "adaptive: stop at a clear majority (mixture lower bound > 1/2 at the stage's lower level), N0 the cap" } : {}),
});

function validate(spec: RunSpec, mode: CascadeMode): RunError | null {
  const checked = validateCascadeSettings({ sigmas: mode.sigmas, p0: mode.p0, alpha: spec.alpha });
  if (E.isLeft(checked)) return { kind: 'cascade-setting', error: checked.left, message: checked.left.message };
  if (spec.sigma !== mode.sigmas[0]) return invalidSetting('sigma', `must be the cascade's first (largest) sigma, ${mode.sigmas[0]}`, spec.sigma);
  if (mode.selection !== undefined && mode.radii === undefined) return invalidSetting('selection', 'applies to a sequential cascade only (give radii, or drop it)', mode.selection);
  const radii = mode.radii === undefined ? null : checkCascadeRadii(mode.radii);
  return radii === null ? null : { kind: 'cascade-setting', error: radii, message: radii.message };
}

// One method group per sigma on the pipeline's models, built once per pipeline (the first is the pipeline's own).
const groupsOf = new WeakMap<Pipeline, Map<number, MethodGroup>>();

function stageGroups(pipeline: Pipeline, sigmas: readonly number[], first: MethodGroup): E.Either<RunError, MethodGroup[]> {
  let built = groupsOf.get(pipeline);
  if (built === undefined) groupsOf.set(pipeline, (built = new Map()));
  const groups: MethodGroup[] = [];
  for (const sigma of sigmas) {
    if (sigma === pipeline.groupConfig.sigma) {
      groups.push(first);
      continue;
    }
    let group = built.get(sigma);
    if (group === undefined) {
      const made = makeMethodGroup(pipeline.denoiser, pipeline.imageClassifier, { ...pipeline.groupConfig, sigma });
      if (E.isLeft(made)) return E.left({ kind: 'method-config', error: made.left, message: `cascade sigma ${sigma}: ${made.left.message}` });
      built.set(sigma, (group = made.right));
    }
    groups.push(group);
  }
  return E.right(groups);
}

const cascadeCost = (result: CascadeResult): CascadeCost => ({
  stage: result.stage,
  sigma: result.sigma,
  outcome: result.kind === 'certified' ? 'certified' : result.reason,
  stages: result.stages.map((s) => ({
    sigma: s.sigma,
    label: s.label,
    lower: s.lower,
    upper: s.upper,
    decision: s.decision,
    estimation: s.estimation,
    ...(s.rounds === undefined ? {} : { rounds: s.rounds }),
    ...(s.stop === undefined ? {} : { stop: s.stop }),
  })),
});

/** Rows and costs of the wanted methods from their stages (`stages[w]`: the stages method w ran). */
function imageResult(task: ImageTask, rule: CascadeRule, stages: readonly CascadeStage[][], tally: EvaluationTally, started: number): ImageResult {
  const seconds = (performance.now() - started) / 1000;
  const results = stages.map((s) => cascadeResult(rule, s));
  return {
    rows: results.map((r) => certifyRow(task.sample, task.idx, r.label, r.kind === 'certified' ? r.radius : null, seconds)),
    costs: results.map(
      (r): RowCost => ({
        idx: task.idx,
        draws: { selection: r.stages.reduce((sum, s) => sum + s.counts.selection.reduce((a, b) => a + b, 0), 0), estimation: r.stages.reduce((sum, s) => sum + s.estimation, 0) },
        evaluations: { ...tally },
        cascade: cascadeCost(r),
      }),
    ),
  };
}

/**
 * Fixed N: the wanted methods still in the cascade run each stage side by side on its group's shared draws
 * (core's `certifyCascadeStage`, so each method's stages are exactly those of `certifyCascade` alone).
 */
async function certifyFixed(task: ImageTask, mode: CascadeMode, groups: readonly MethodGroup[]): Promise<E.Either<RunError, ImageResult>> {
  const { pipeline, settings, sample, idx, wanted } = task;
  const started = performance.now();
  const tally: EvaluationTally = { denoiser: 0, classifier: 0 };
  const rule = cascadeRule({ sigmas: mode.sigmas, p0: mode.p0, alpha: settings.alpha, numClasses: groups[0]!.members[0]!.numClasses });
  const batchSize = drawsPerBatch(settings.batch, pipeline.methods, settings.models.workers);
  const stages: CascadeStage[][] = wanted.map(() => []);
  let alive = wanted.map((_, w) => w);
  for (let k = 0; k < groups.length && alive.length > 0; k++) {
    const samplers = groups[k]!.samplers(sample.image, idx, alive.map((w) => wanted[w]!), tally);
    const got = E.sequenceArray(await Promise.all(alive.map((_, i) => certifyCascadeStage(samplers[i]!, rule, k, { n0: settings.n0, n: settings.n, batchSize }))));
    if (E.isLeft(got)) return E.left(modelRunError(got.left));
    got.right.forEach((stage, i) => stages[alive[i]!]!.push(stage));
    alive = alive.filter((w) => stages[w]!.at(-1)!.decision === 'skip');
  }
  return E.right(imageResult(task, rule, stages, tally, started));
}

/**
 * Sequential: at each stage the methods still in the cascade select on draws [0, N0), then count rounds of
 * estimation draws together, each leaving at its first look that stops (core's `cascadeLook`); the rounds depend
 * only on the draws so far, so each method's stages are exactly those of `certifyCascadeSequential` alone.
 */
async function certifySequential(task: ImageTask, mode: CascadeMode & { readonly radii: readonly number[] }, groups: readonly MethodGroup[]): Promise<E.Either<RunError, ImageResult>> {
  const { pipeline, settings, sample, idx, wanted } = task;
  const started = performance.now();
  const tally: EvaluationTally = { denoiser: 0, classifier: 0 };
  const numClasses = groups[0]!.members[0]!.numClasses;
  const rule: CascadeSequentialRule = cascadeSequentialRule({ sigmas: mode.sigmas, p0: mode.p0, alpha: settings.alpha, radii: mode.radii, n0: settings.n0, nMax: settings.n, numClasses, batchSize: 1, selection: selectionRule(mode) });
  const chunk = drawsPerBatch(settings.batch, pipeline.methods, settings.models.workers);
  const zeros = (): number[] => new Array<number>(numClasses).fill(0);
  const count = (group: MethodGroup, members: readonly number[], first: number, draws: number, into: number[][]) =>
    countInto({ group, image: sample.image, idx, chunk, tally }, members.map((w) => wanted[w]!), first, draws, into);
  const stages: CascadeStage[][] = wanted.map(() => []);
  let alive = wanted.map((_, w) => w);
  for (let k = 0; k < groups.length && alive.length > 0; k++) {
    const group = groups[k]!;
    // Selection at the stage's looks; a method leaves it at its first look that picks (core's rule).
    const selection = alive.map(zeros);
    const labels = new Array<number>(alive.length);
    let selecting = alive.map((_, i) => i);
    let s = 0;
    for (const look of stageSelectionLooks(rule, k, settings.n0)) {
      const counts = selecting.map(zeros);
      const selected = await count(group, selecting.map((i) => alive[i]!), s, look - s, counts);
      if (E.isLeft(selected)) return E.left(modelRunError(selected.left));
      s = look;
      selecting.forEach((i, a) => counts[a]!.forEach((v, c) => (selection[i]![c]! += v)));
      selecting = selecting.filter((i) => {
        const picked = stageSelectionPick(rule, k, selection[i]!, s, settings.n0);
        if (picked !== null) labels[i] = picked;
        return picked === null;
      });
      if (selecting.length === 0) break;
    }
    const caps = alive.map((w, i) => stageCap(rule, stages[w]!, labels[i]!));
    const estimation = alive.map(zeros);
    let active = alive.map((_, i) => i);
    let n = 0;
    let rounds = 0;
    while (active.length > 0) {
      const round = nextRoundSize(n, rule);
      const counts = active.map(zeros);
      const counted = await count(group, active.map((i) => alive[i]!), settings.n0 + n, round, counts);
      if (E.isLeft(counted)) return E.left(modelRunError(counted.left));
      n += round;
      rounds += 1;
      active.forEach((i, a) => counts[a]!.forEach((v, c) => (estimation[i]![c]! += v)));
      active = active.filter((i) => {
        const look = cascadeLook(rule, k, caps[i]!, labels[i]!, estimation[i]!, n);
        if (look.stop === null) return true;
        stages[alive[i]!]!.push(closeSequentialStage(rule, k, selection[i]!, estimation[i]!, n, rounds, { ...look, stop: look.stop }));
        return false;
      });
    }
    alive = alive.filter((w) => stages[w]!.at(-1)!.decision === 'skip');
  }
  return E.right(imageResult(task, rule, stages, tally, started));
}

async function certifyOne(task: ImageTask, mode: CascadeMode): Promise<E.Either<RunError, ImageResult>> {
  const groups = stageGroups(task.pipeline, mode.sigmas, task.group);
  if (E.isLeft(groups)) return groups;
  return mode.radii === undefined ? certifyFixed(task, mode, groups.right) : certifySequential(task, { ...mode, radii: mode.radii }, groups.right);
}

const bind = (mode: CascadeMode): Mode => ({
  kind: 'cascade',
  validate: (spec) => validate(spec, mode),
  identity: () => ({ cascade: cascadeIdentity(mode) }),
  sidecar: (spec, costFile) => {
    const rule = cascadeRule({ sigmas: mode.sigmas, p0: mode.p0, alpha: spec.alpha, numClasses: 2 });
    return {
      cascade: {
        sigmas: mode.sigmas,
        p0: mode.p0,
        stages: rule.levels.map((l, k) => ({ sigma: mode.sigmas[k], lowerLevel: l.lower, upperLevel: l.upper })),
        rule: "stage k answers its top class when the lower bound on it is above p0, is skipped when the upper bound is below p0, else the cascade abstains; an answer's radius is min(sigma_k (Phi^-1(lower) - Phi^-1(p0)), min over skipped stages j of sigma_j (Phi^-1(p0) - Phi^-1(upper bound on j's other classes)))",
        alphaSplit: `${CASCADE_ALPHA_SPLIT}; upperLevel is shared by the classes (upperLevel / numClasses each)`,
        draws: mode.radii === undefined ? 'every stage run draws N0 + N (the draw indices of a fixed-N run at its sigma)' : `every stage run draws N0, then rounds of estimation draws until its decision and the radii ${mode.radii.join(', ')} are settled, at most N`,
        tStar: "tStar above is the first stage's; each stage uses the t* of its sigma under the same rule",
        costFile,
      },
    };
  },
  costInSidecar: true,
  // A stage runs only when the one before it was skipped: an image's draws cannot be counted apart and added up.
  countsAdd: false,
  certifyImage: (task) => () => certifyOne(task, mode),
  certifyLocally: (context) =>
    inTurn(context, (image) =>
      certifyOne({ pipeline: context.pipeline, settings: context.spec, sample: context.pipeline.dataset.get(image.idx), idx: image.idx, wanted: image.wanted, group: context.pipeline.group }, mode),
    ),
});

export const cascadeEntry: ModeEntry<CascadeMode> = {
  identityFields: {
    cascade: z
      .object({
        sigmas: z.array(z.number()),
        p0: z.number(),
        alphaSplit: z.string(),
        bound: z.string(),
        radii: z.array(z.number()).optional(),
        minRound: z.number().optional(),
        roundGrowth: z.number().optional(),
        selection: z.string().optional(),
      })
      .optional(),
  },
  bind,
};

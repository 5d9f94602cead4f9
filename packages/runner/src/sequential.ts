// Sequential CERTIFY in the runner: @densepure/core's anytime-valid rule (`sequentialRule`, `nextRoundSize`,
// `sequentialLook`, the very rule `certifySequential` applies) driven here so that several methods on shared draws
// stop one by one, and several images' rounds share model calls (see coalesce.ts).
import { either as E } from 'fp-ts';
import type { BackendError } from '@densepure/backend';
import { type SequentialRule, type SequentialStopReason, argmax, nextRoundSize, normalQuantile, sequentialLook, sequentialRule } from '@densepure/core';
import { wrapClassifier } from '@densepure/classifiers';
import { type EvaluationTally, type MethodGroup, makeMethodGroup } from '@densepure/voting';
import { coalescedClassifier, coalescedDenoiser } from './coalesce.js';
import type { RunError } from './errors.js';
import type { Pipeline } from './pipeline.js';
import type { RunSpec } from './spec.js';

/** One method's outcome on one image, as `certifySequential` would return it. */
export interface SequentialOutcome {
  readonly label: number;
  /** The (1 - alpha) anytime-valid lower bound on pA at the stop. */
  readonly lower: number;
  readonly stop: SequentialStopReason;
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
}

/**
 * Sequential CERTIFY of one image for the group members `wanted`, on shared draws: selection on draws [0, n0),
 * then rounds of estimation draws n0, n0 + 1, ... that every member still running counts; a member leaves at its
 * first look that stops. Each member's outcome is exactly `certifySequential`'s on its own sampler (same draws,
 * same rounds, same looks). `tally` receives the model evaluations made. A model call that fails stops the image
 * and its BackendError comes back.
 */
export async function certifyImageSequential(
  group: MethodGroup,
  settings: SequentialImageSettings,
  image: Float32Array,
  idx: number,
  wanted: readonly number[],
  tally: EvaluationTally,
): Promise<E.Either<BackendError, SequentialOutcome[]>> {
  const numClasses = group.members[0]!.numClasses;
  const rule: SequentialRule = sequentialRule({ sigma: settings.sigma, n0: settings.n0, nMax: settings.n, alpha: settings.alpha, radii: settings.radii, numClasses, batchSize: settings.chunk });
  const count = async (members: readonly number[], first: number, draws: number, into: number[][]): Promise<E.Either<BackendError, void>> => {
    for (let done = 0; done < draws; done += settings.chunk) {
      const request = { firstDraw: first + done, count: Math.min(settings.chunk, draws - done) };
      const got = E.sequenceArray(await Promise.all(group.samplers(image, idx, members, tally).map((s) => s(request))));
      if (E.isLeft(got)) return got;
      got.right.forEach((c, i) => {
        for (let k = 0; k < numClasses; k++) into[i]![k]! += c[k]!;
      });
    }
    return E.right(undefined);
  };
  const zeros = (): number[] => new Array<number>(numClasses).fill(0);
  const selection = wanted.map(zeros);
  const selected = await count(wanted, 0, settings.n0, selection);
  if (E.isLeft(selected)) return selected;
  const labels = selection.map(argmax);
  const estimation = wanted.map(zeros);
  const outcomes = new Array<SequentialOutcome | undefined>(wanted.length);
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
    active = active.filter((w) => {
      const look = sequentialLook(estimation[w]![labels[w]!]!, n, rule);
      if (look.stop === null) return true;
      outcomes[w] = { label: labels[w]!, lower: look.lower, stop: look.stop, estimation: n, rounds, radius: look.lower > 0.5 ? settings.sigma * normalQuantile(look.lower) : null };
      return false;
    });
  }
  return E.right(outcomes as SequentialOutcome[]);
}

/**
 * The pipeline's methods on models whose calls are merged across images (coalesce.ts): the group that several
 * images certified at once share. Same configuration as `pipeline.group`, hence the same counts.
 */
export function coalescedGroup(pipeline: Pipeline, spec: RunSpec): E.Either<RunError, MethodGroup> {
  const options = { batchSize: spec.batch, concurrency: Math.max(1, spec.models.workers) };
  const classifier = wrapClassifier(coalescedClassifier(pipeline.classifier, options), pipeline.dataset.shape);
  if (E.isLeft(classifier)) return E.left({ kind: 'model-load', role: 'classifier', error: classifier.left, message: `classifier: ${classifier.left.message}` });
  // The pipeline group's own configuration, so the counts are the same.
  const group = makeMethodGroup(pipeline.denoiser === null ? null : coalescedDenoiser(pipeline.denoiser, options), classifier.right, pipeline.groupConfig);
  return E.isLeft(group) ? E.left({ kind: 'method-config', error: group.left, message: group.left.message }) : E.right(group.right);
}

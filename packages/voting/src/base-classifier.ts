import { either as E, taskEither as TE, function as F } from 'fp-ts';
import { type BackendError, type Denoiser, classifierProbabilities, givesProbabilities } from '@densepure/backend';
import { type ImageClassifier, argmaxRows } from '@densepure/classifiers';
import type { DrawRequest } from '@densepure/core';
import { inBatches } from './batching.js';
import type { ConfigError } from './errors.js';
import { type DrawAddress, type Evaluation, type Models, diffusionStart, evaluateDraws, oneShotX0, reverseChains, smoothingNoise, votesOf } from './evaluate.js';
import { type GroupPlan, type MemberSource, needsOf, planGroup } from './plan.js';
import { needsDenoiser } from './methods/table.js';
import { sharedRequests } from './shared-requests.js';
import type { BaseClassifier, BaseClassifierConfig, EvaluationTally, Evaluations, MethodGroup, MethodGroupConfig } from './types.js';

/** The models behind the plan's batching, adding every image they evaluate to the group's count and `tally`. */
function batchedModels(plan: GroupPlan, denoiser: Denoiser | null, classifier: ImageClassifier, total: EvaluationTally, tally?: EvaluationTally): Models {
  const { pixels, batching } = plan;
  const rowsOf = (x: Float32Array, first: number, count: number): Float32Array => x.subarray(first * pixels, (first + count) * pixels);
  // Counted when the call runs, failed or not: the evaluations were asked of the model.
  const counted = (model: 'denoiser' | 'classifier', rows: number): TE.TaskEither<never, void> =>
    TE.fromIO(() => {
      total[model] += rows;
      if (tally !== undefined) tally[model] += rows;
    });
  return {
    denoise: (x, rows, timestep) =>
      F.pipe(
        counted('denoiser', rows),
        TE.flatMap(() =>
          inBatches(rows, batching, (first, n) =>
            F.pipe(
              denoiser!.run(rowsOf(x, first, n), new Int32Array(n).fill(timestep)),
              TE.map((out) => [out.eps, out.v] as const),
            ),
          ),
        ),
        TE.map(([eps, v]) => ({ eps, v })),
      ),
    labels: (images, rows) =>
      F.pipe(
        counted('classifier', rows),
        TE.flatMap(() => inBatches(rows, batching, (first, n) => F.pipe(classifier.labels(rowsOf(images, first, n), n), TE.map((labels) => [labels] as const)))),
        TE.map(([labels]) => labels),
      ),
    // One model call gives both: the labels are argmax of the same output `labels` reads, bit for bit.
    classify: (images, rows) =>
      F.pipe(
        counted('classifier', rows),
        TE.flatMap(() =>
          inBatches(rows, batching, (first, n) =>
            F.pipe(
              classifier.logits(rowsOf(images, first, n), n),
              TE.flatMap((out) =>
                TE.fromEither(F.pipe(classifierProbabilities(classifier.metadata, out, n), E.map((probabilities) => [argmaxRows(out, n, classifier.metadata.numClasses), probabilities] as const))),
              ),
            ),
          ),
        ),
        TE.map(([labels, probabilities]) => ({ labels, probabilities })),
      ),
  };
}

/** A member's counts of the base prediction over the evaluated draws. */
function memberCounts(source: MemberSource, ev: Evaluation, draws: number, numClasses: number, scratch: Int32Array): Int32Array {
  const counts = new Int32Array(numClasses);
  if (source.from === 'noisy' || source.from === 'one-shot') {
    for (const l of (source.from === 'noisy' ? ev.noisyLabels : ev.oneShotLabels)!) counts[l] = counts[l]! + 1;
    return counts;
  }
  const votes = (source.from === 'chains' ? ev.votes : ev.local)[source.family]!;
  for (let d = 0; d < draws; d++) {
    // With the decided-vote stop a draw may hold fewer than K votes: the aggregation's answer is then already the K-vote's.
    const winner = source.aggregation.decide(votesOf(votes, d, Math.min(votes.done[d]!, source.votes), source.aggregation, numClasses), numClasses, scratch);
    counts[winner] = counts[winner]! + 1;
  }
  return counts;
}

/**
 * Builds several base classifiers that share their noise draws (see {@link MethodGroup}). Every random number
 * comes from the counter-based RNG, addressed by (seed, image, draw, vote, step), so the counts do not depend
 * on batch size, concurrency, how CERTIFY splits the draws, which other methods share the evaluation, or the
 * decided-vote stop.
 */
export function makeMethodGroup(denoiser: Denoiser | null, classifier: ImageClassifier, config: MethodGroupConfig): E.Either<ConfigError, MethodGroup> {
  const meta = classifier.metadata;
  const planned = planGroup(denoiser?.metadata ?? null, { sourceShape: classifier.sourceShape, numClasses: meta.numClasses, name: meta.name, givesProbabilities: E.isRight(givesProbabilities(meta)) }, config);
  if (E.isLeft(planned)) return planned;
  const plan = planned.right;
  const { numClasses, seed, sigma } = plan;
  const total: EvaluationTally = { denoiser: 0, classifier: 0 };
  const evaluations = (): Evaluations => ({ ...total });

  const countsFor = async (
    image: Float32Array,
    imageIndex: number,
    draws: DrawRequest,
    wanted: readonly number[],
    tally?: EvaluationTally,
  ): Promise<E.Either<BackendError, Int32Array[]>> => {
    const models = batchedModels(plan, denoiser, classifier, total, tally);
    const ev = await evaluateDraws(plan, models, image, { seed, imageIndex, draws }, needsOf(plan, wanted));
    const scratch = new Int32Array(numClasses);
    return E.map((evaluation: Evaluation) => wanted.map((m) => memberCounts(plan.members[m]!.source, evaluation, draws.count, numClasses, scratch)))(ev);
  };

  /**
   * The noisy and purified images of one vote of some draws (pictures only: all of them, no early stop). Local
   * smoothing's purified image is the one its votes add noise to (the one-shot x0 or the chain's vote 0), whatever the vote.
   */
  const purifyDraws = async (
    source: MemberSource,
    image: Float32Array,
    at: DrawAddress,
    vote: number,
  ): Promise<E.Either<BackendError, { noisy: Float32Array; purified: Float32Array }>> => {
    const { noise, noisy } = smoothingNoise(image, sigma, at);
    // Without a denoiser the "purified" image is the clipped noisy one, for display only.
    if (source.from === 'noisy') return E.right({ noisy, purified: noisy.map((v) => Math.min(1, Math.max(0, v))) });
    const models = batchedModels(plan, denoiser, classifier, total);
    const diffusion = plan.diffusion!;
    const n = at.draws.count;
    const xt = diffusionStart(diffusion, image, sigma, noise);
    const denoised = await models.denoise(xt, n, diffusion.tStar.t)();
    if (E.isLeft(denoised)) return denoised;
    const atTStar = denoised.right;
    const purification = source.from === 'local' ? plan.localFamilies[source.family]!.purified : null;
    if (source.from === 'one-shot' || purification?.from === 'one-shot') return E.right({ noisy, purified: oneShotX0(diffusion, xt, atTStar) });
    const family = purification?.from === 'chain' ? purification.family : source.family;
    const runs = { draw: Int32Array.from({ length: n }, (_, d) => d), vote: new Int32Array(n).fill(purification === null ? vote : 0) };
    const purified = await reverseChains(plan.families[family]!.plan, diffusion, { xt, atTStar }, runs, at, models.denoise);
    return E.map((samples: Float32Array) => ({ noisy, purified: samples }))(purified);
  };

  const samplersFor = (image: Float32Array, imageIndex: number, wanted: readonly number[], tally?: EvaluationTally) =>
    sharedRequests(wanted.length, (draws) => countsFor(image, imageIndex, draws, wanted, tally));

  const members = plan.members.map((member, m): BaseClassifier => ({
    config: {
      sigma,
      seed,
      batchSize: config.batchSize,
      method: member.method,
      ...(config.concurrency === undefined ? {} : { concurrency: config.concurrency }),
      ...(config.variance === undefined ? {} : { variance: config.variance }),
      ...(config.decidedVoteStop === undefined ? {} : { decidedVoteStop: config.decidedVoteStop }),
    },
    ...(member.tStar === undefined ? {} : { tStar: member.tStar }),
    timesteps: member.timesteps,
    denoiserEvalsPerDraw: member.denoiserEvalsPerDraw,
    numClasses,
    sampler: (image, imageIndex, tally) => samplersFor(image, imageIndex, [m], tally)[0]!,
    purify: (image, imageIndex, draws, vote = 0) => purifyDraws(member.source, image, { seed, imageIndex, draws }, vote),
    evaluations,
  }));
  const all = plan.members.map((_, m) => m);
  return E.right({
    members,
    denoiserEvalsPerDraw: plan.denoiserEvalsPerDraw,
    counts: (image, imageIndex, draws, tally) => countsFor(image, imageIndex, draws, all, tally),
    samplers: (image, imageIndex, only = all, tally) => samplersFor(image, imageIndex, only, tally),
    evaluations,
  });
}

/**
 * Builds the base classifier g(x) of randomized smoothing for one method (a group of one, see
 * {@link makeMethodGroup}).
 */
export function makeBaseClassifier(denoiser: Denoiser | null, classifier: ImageClassifier, config: BaseClassifierConfig): E.Either<ConfigError, BaseClassifier> {
  const { method, ...rest } = config;
  const group = makeMethodGroup(needsDenoiser(method) ? denoiser : null, classifier, { ...rest, methods: [method] });
  return E.isLeft(group) ? group : E.right(group.right.members[0]!);
}

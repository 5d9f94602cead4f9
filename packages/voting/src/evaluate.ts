import { either as E, type taskEither as TE } from 'fp-ts';
import type { BackendError, DenoiserOutput } from '@densepure/backend';
import { type DrawRequest, type NoiseAddress, type ReversePlan, fromModelScale, gaussianFill, noiseAddress, reverseStep, toModelScale } from '@densepure/core';
import type { Aggregation } from './methods/entry.js';
import type { DiffusionPlan, GroupPlan, Needs, VoteNeed } from './plan.js';

/**
 * The two models as the evaluation calls them: whole arrays of `rows` images in, batching left to the caller.
 * A model that cannot run returns its BackendError, and the evaluation stops there and returns it.
 */
export interface Models {
  /** eps (and v) of the denoiser on `rows` model-scale inputs, all at `timestep`. */
  denoise(x: Float32Array, rows: number, timestep: number): TE.TaskEither<BackendError, DenoiserOutput>;
  /** The classifier's label for each of `rows` images in [0, 1]. */
  labels(images: Float32Array, rows: number): TE.TaskEither<BackendError, Int32Array>;
  /** Labels and class probabilities (rows x numClasses) from one classifier call. */
  classify(images: Float32Array, rows: number): TE.TaskEither<BackendError, Classified>;
}

export interface Classified {
  readonly labels: Int32Array;
  readonly probabilities: Float32Array;
}

/** Where the random numbers of a draw range live: (seed, image, draw) plus the vote and step of each number. */
export interface DrawAddress {
  readonly seed: number;
  readonly imageIndex: number;
  readonly draws: DrawRequest;
}

/** The smoothing noise of each draw (standard normal, draw-major). */
export function drawNoise(pixels: number, at: DrawAddress): Float32Array {
  const { seed, imageIndex, draws } = at;
  const noise = new Float32Array(draws.count * pixels);
  for (let i = 0; i < draws.count; i++) {
    gaussianFill(noise.subarray(i * pixels, (i + 1) * pixels), noiseAddress({ seed, imageIndex, drawIndex: draws.firstDraw + i, step: 'smoothing' }));
  }
  return noise;
}

/** x + sigma * noise in [0, 1] units (not clipped) for every draw of `noise`. */
export function noisyImages(image: Float32Array, sigma: number, noise: Float32Array): Float32Array {
  const pixels = image.length;
  const noisy = new Float32Array(noise.length);
  for (let o = 0; o < noise.length; o += pixels) {
    for (let p = 0; p < pixels; p++) noisy[o + p] = image[p]! + sigma * noise[o + p]!;
  }
  return noisy;
}

/** The smoothing noise of each draw, and x + sigma * noise in [0, 1] units (not clipped); both draw-major. */
export function smoothingNoise(image: Float32Array, sigma: number, at: DrawAddress): { noise: Float32Array; noisy: Float32Array } {
  const noise = drawNoise(image.length, at);
  return { noise, noisy: noisyImages(image, sigma, noise) };
}

/** x_t* = sqrt(abar_t*) (2x - 1 + 2 sigma noise) for every draw. */
export function diffusionStart(diffusion: DiffusionPlan, image: Float32Array, sigma: number, noise: Float32Array): Float32Array {
  const xt = new Float32Array(noise.length);
  toModelScale(image, sigma, noise, diffusion.tStar.scale, xt);
  return xt;
}

/** DDS's one-shot x0 from x_t* and the denoiser's eps there, in [0, 1]. */
export function oneShotX0(diffusion: DiffusionPlan, xt: Float32Array, atTStar: DenoiserOutput): Float32Array {
  const x0 = new Float32Array(xt.length);
  reverseStep(diffusion.oneShot, 0, xt, atTStar.eps, null, null, x0, { variance: diffusion.variance, clipX0: true });
  fromModelScale(x0, x0);
  return x0;
}

/** Votes to run: run r is vote `vote[r]` of draw `draw[r]` (an offset into the draw range). */
export interface VoteRuns {
  readonly draw: Int32Array;
  readonly vote: Int32Array;
}

/** Copies row `from[r]` of `src` to row r of a new array. */
function gatherRows(src: Float32Array, from: Int32Array, pixels: number): Float32Array {
  const out = new Float32Array(from.length * pixels);
  for (let r = 0; r < from.length; r++) out.set(src.subarray(from[r]! * pixels, (from[r]! + 1) * pixels), r * pixels);
  return out;
}

/**
 * Runs reverse chains from x_t* and returns the samples in [0, 1], one row per run. Step 0 reuses the draw's
 * model call at t* (`atTStar`); every step that adds noise takes it from the address (draw, vote, step), so a
 * run's sample does not depend on which other runs share its batches.
 */
export async function reverseChains(
  plan: ReversePlan,
  diffusion: DiffusionPlan,
  start: { readonly xt: Float32Array; readonly atTStar: DenoiserOutput },
  runs: VoteRuns,
  at: DrawAddress,
  denoise: Models['denoise'],
): Promise<E.Either<BackendError, Float32Array>> {
  const rows = runs.draw.length;
  const pixels = start.xt.length / at.draws.count;
  const { seed, imageIndex } = at;
  let x: Float32Array = gatherRows(start.xt, runs.draw, pixels);
  let next: Float32Array = new Float32Array(rows * pixels);
  const stepNoise = new Float32Array(rows * pixels);
  for (let s = 0; s < plan.steps.length; s++) {
    const step = plan.steps[s]!;
    let out: DenoiserOutput;
    if (s === 0) {
      out = { eps: gatherRows(start.atTStar.eps, runs.draw, pixels), v: start.atTStar.v === null ? null : gatherRows(start.atTStar.v, runs.draw, pixels) };
    } else {
      const denoised = await denoise(x, rows, step.modelTimestep)();
      if (E.isLeft(denoised)) return denoised;
      out = denoised.right;
    }
    if (step.addsNoise) {
      for (let r = 0; r < rows; r++) {
        const address = noiseAddress({ seed, imageIndex, drawIndex: at.draws.firstDraw + runs.draw[r]!, voteIndex: runs.vote[r]!, step: s });
        gaussianFill(stepNoise.subarray(r * pixels, (r + 1) * pixels), address);
      }
    }
    reverseStep(plan, s, x, out.eps, out.v, step.addsNoise ? stepNoise : null, next, { variance: diffusion.variance, clipX0: true });
    [x, next] = [next, x];
  }
  fromModelScale(x, x);
  return E.right(x);
}

/**
 * The address of local vote `vote` of draw `draw` (an offset into the draw range): the smoothing tag with vote
 * index vote + 1. It cannot collide with any other noise of the evaluation: the smoothing noise is the smoothing
 * tag at vote index 0 (vote + 1 >= 1), and reverse-chain noise uses step tags 0..0xfffe, never the smoothing tag
 * (0xffff); two local votes of a draw differ in their vote index, two draws in the draw index. It depends on
 * neither the purification nor sigma_l, so every local family of a draw adds the same standard normals (scaled
 * by its own sigma_l), as every method of a group shares the smoothing noise.
 */
export const localNoiseAddress = (at: DrawAddress, draw: number, vote: number): NoiseAddress =>
  noiseAddress({ seed: at.seed, imageIndex: at.imageIndex, drawIndex: at.draws.firstDraw + draw, voteIndex: vote + 1, step: 'smoothing' });

/**
 * DiffSmooth's local smoothing: run r's image is its draw's purified image (`purified`, draw-major, in [0, 1])
 * plus `sigma` times the standard normals at {@link localNoiseAddress}, not clipped (as the smoothing noise).
 * A run's image depends on its draw and vote alone, never on the other runs of the call.
 */
export function localCopies(purified: Float32Array, sigma: number, runs: VoteRuns, at: DrawAddress): Float32Array {
  const pixels = purified.length / at.draws.count;
  const rows = runs.draw.length;
  const out = new Float32Array(rows * pixels);
  const noise = new Float32Array(pixels);
  for (let r = 0; r < rows; r++) {
    const from = runs.draw[r]! * pixels;
    gaussianFill(noise, localNoiseAddress(at, runs.draw[r]!, runs.vote[r]!));
    for (let p = 0; p < pixels; p++) out[r * pixels + p] = purified[from + p]! + sigma * noise[p]!;
  }
  return out;
}

/**
 * One family's votes on a draw range: `labels` holds `maxVotes` (the most any wanted member counts) slots per
 * draw, the first `done[d]` of draw d filled; `probabilities` the same votes' class probabilities
 * (`numClasses` per vote) when a wanted member aggregates them.
 */
export interface FamilyVotes {
  readonly maxVotes: number;
  readonly labels: Int32Array;
  readonly probabilities: Float32Array | null;
  readonly done: Int32Array;
}

/** The first `count` votes of draw `d`, in the form `aggregation` reads. */
export function votesOf(votes: FamilyVotes, d: number, count: number, aggregation: Aggregation, numClasses: number): Float32Array | Int32Array {
  const first = d * votes.maxVotes;
  return aggregation.reads === 'labels' ? votes.labels.subarray(first, first + count) : votes.probabilities!.subarray(first * numClasses, (first + count) * numClasses);
}

/** The wanted members grouped by how they aggregate: each aggregation decides its members' stop together. */
function byAggregation(need: VoteNeed): { aggregation: Aggregation; memberVotes: number[] }[] {
  const groups: { aggregation: Aggregation; memberVotes: number[] }[] = [];
  for (const m of need.members) {
    const group = groups.find((g) => g.aggregation === m.aggregation);
    if (group === undefined) groups.push({ aggregation: m.aggregation, memberVotes: [m.votes] });
    else group.memberVotes.push(m.votes);
  }
  return groups;
}

/** The images that some votes of a family classify, one row per run, in [0, 1]. */
type VoteImages = (runs: VoteRuns) => Promise<E.Either<BackendError, Float32Array>>;

/**
 * A family's votes in rounds (a chain family's reverse runs, a local family's noisy copies: `images` makes them).
 * Each round runs, for every draw, the votes still needed by the members sharing them (the most any member's
 * aggregation still needs: none once all are decided), all draws' runs batched together. With
 * `decidedVoteStop` off, one round runs every draw's `maxVotes` votes. `firstVote`: every draw runs vote 0 in
 * the first round even when its members need none (a local family purifies with it).
 */
async function votesInRounds(need: VoteNeed, groupPlan: GroupPlan, n: number, images: VoteImages, models: Models, firstVote = false): Promise<E.Either<BackendError, FamilyVotes>> {
  const { numClasses } = groupPlan;
  const maxVotes = Math.max(...need.members.map((m) => m.votes));
  const votes: FamilyVotes = { maxVotes, labels: new Int32Array(n * maxVotes), probabilities: need.probabilities ? new Float32Array(n * maxVotes * numClasses) : null, done: new Int32Array(n) };
  const { labels, probabilities, done } = votes;
  const aggregations = byAggregation(need);
  const scratch = new Int32Array(numClasses);
  const more = new Int32Array(n);
  for (;;) {
    let rows = 0;
    for (let d = 0; d < n; d++) {
      more[d] = groupPlan.decidedVoteStop
        ? Math.max(...aggregations.map((g) => g.aggregation.votesStillNeeded(votesOf(votes, d, done[d]!, g.aggregation, numClasses), g.memberVotes, numClasses, scratch)))
        : maxVotes - done[d]!;
      if (firstVote && done[d] === 0) more[d] = Math.max(more[d]!, 1);
      rows += more[d]!;
    }
    if (rows === 0) return E.right(votes);
    const runs = { draw: new Int32Array(rows), vote: new Int32Array(rows) };
    for (let d = 0, r = 0; d < n; d++) {
      for (let k = 0; k < more[d]!; k++, r++) {
        runs.draw[r] = d;
        runs.vote[r] = done[d]! + k;
      }
    }
    const samples = await images(runs);
    if (E.isLeft(samples)) return samples;
    if (probabilities === null) {
      const got = await models.labels(samples.right, rows)();
      if (E.isLeft(got)) return got;
      for (let r = 0; r < rows; r++) labels[runs.draw[r]! * maxVotes + runs.vote[r]!] = got.right[r]!;
    } else {
      const got = await models.classify(samples.right, rows)();
      if (E.isLeft(got)) return got;
      for (let r = 0; r < rows; r++) {
        const slot = runs.draw[r]! * maxVotes + runs.vote[r]!;
        labels[slot] = got.right.labels[r]!;
        probabilities.set(got.right.probabilities.subarray(r * numClasses, (r + 1) * numClasses), slot * numClasses);
      }
    }
    for (let d = 0; d < n; d++) done[d] = done[d]! + more[d]!;
  }
}

/** Copies the rows of vote 0 of `samples` (one row per run of `runs`) to their draw's row of `kept`. */
function keepFirstVotes(samples: Float32Array, runs: VoteRuns, kept: Float32Array): void {
  const pixels = samples.length / runs.draw.length;
  for (let r = 0; r < runs.draw.length; r++) {
    if (runs.vote[r] === 0) kept.set(samples.subarray(r * pixels, (r + 1) * pixels), runs.draw[r]! * pixels);
  }
}

/** The labels of a draw range that the wanted members need, each made once. */
export interface Evaluation {
  /** Classifier labels of x + sigma * noise (plain smoothing). */
  readonly noisyLabels: Int32Array | null;
  /** Classifier labels of DDS's one-shot x0. */
  readonly oneShotLabels: Int32Array | null;
  /** Per chain family (null: not run, or run for its purified images alone). */
  readonly votes: readonly (FamilyVotes | null)[];
  /** Per local family (null: not run). */
  readonly local: readonly (FamilyVotes | null)[];
}

/**
 * Evaluates a range of draws for what `needs` asks: noise once, the denoiser once at t*, the one-shot x0 once
 * (DDS's labels and local smoothing's purified images), each chain family's votes (keeping vote 0's samples where
 * a local family purifies with them), then each local family's votes. Stops at the first model call that fails
 * and returns its error.
 */
export async function evaluateDraws(plan: GroupPlan, models: Models, image: Float32Array, at: DrawAddress, needs: Needs): Promise<E.Either<BackendError, Evaluation>> {
  const n = at.draws.count;
  const pixels = image.length;
  // The noisy images only when plain smoothing asks for them (DDS and DensePure start from the noise).
  const noise = drawNoise(pixels, at);
  const noisyLabels = needs.noisyLabels ? await models.labels(noisyImages(image, plan.sigma, noise), n)() : E.right(null);
  if (E.isLeft(noisyLabels)) return noisyLabels;
  const runsChains = needs.families.some((f) => f !== null);
  const localOnOneShot = needs.local.some((l, f) => l !== null && plan.localFamilies[f]!.purified.from === 'one-shot');
  if (!needs.oneShot && !runsChains && !localOnOneShot) return E.right({ noisyLabels: noisyLabels.right, oneShotLabels: null, votes: [], local: [] });
  const diffusion = plan.diffusion!;
  const xt = diffusionStart(diffusion, image, plan.sigma, noise);
  const denoised = await models.denoise(xt, n, diffusion.tStar.t)();
  if (E.isLeft(denoised)) return denoised;
  const atTStar = denoised.right;
  const x0 = needs.oneShot || localOnOneShot ? oneShotX0(diffusion, xt, atTStar) : null;
  const oneShotLabels = needs.oneShot ? await models.labels(x0!, n)() : E.right(null);
  if (E.isLeft(oneShotLabels)) return oneShotLabels;
  const votes: (FamilyVotes | null)[] = [];
  const firstSamples: (Float32Array | null)[] = [];
  for (const [f, family] of plan.families.entries()) {
    const need = needs.families[f]!;
    const kept = need?.purifies === true ? new Float32Array(n * pixels) : null;
    firstSamples.push(kept);
    if (need === null) {
      votes.push(null);
      continue;
    }
    const chains: VoteImages = async (runs) => {
      const samples = await reverseChains(family.plan, diffusion, { xt, atTStar }, runs, at, models.denoise);
      if (kept !== null && E.isRight(samples)) keepFirstVotes(samples.right, runs, kept);
      return samples;
    };
    if (need.members.length === 0) {
      // Run for the purified images alone: vote 0 of every draw, nothing classified.
      const purified = await chains({ draw: Int32Array.from({ length: n }, (_, d) => d), vote: new Int32Array(n) });
      if (E.isLeft(purified)) return purified;
      votes.push(null);
      continue;
    }
    const familyResult = await votesInRounds(need, plan, n, chains, models, need.purifies);
    if (E.isLeft(familyResult)) return familyResult;
    votes.push(familyResult.right);
  }
  const local: (FamilyVotes | null)[] = [];
  for (const [f, family] of plan.localFamilies.entries()) {
    const need = needs.local[f]!;
    if (need === null) {
      local.push(null);
      continue;
    }
    const purified = family.purified.from === 'one-shot' ? x0! : firstSamples[family.purified.family]!;
    const localResult = await votesInRounds(need, plan, n, async (runs) => E.right(localCopies(purified, family.sigma, runs, at)), models);
    if (E.isLeft(localResult)) return localResult;
    local.push(localResult.right);
  }
  return E.right({ noisyLabels: noisyLabels.right, oneShotLabels: oneShotLabels.right, votes, local });
}

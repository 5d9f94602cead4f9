import { either as E } from 'fp-ts';
import type { BackendError, Denoiser } from '@densepure/backend';
import type { ImageClassifier } from '@densepure/classifiers';
import {
  type DrawRequest,
  type ReversePlan,
  type Sampler,
  cosineBetaSchedule,
  diffusionConstants,
  fromModelScale,
  gaussianFill,
  linearBetaSchedule,
  noiseAddress,
  planReverse,
  reverseStep,
  sigmaToTimestep,
  toModelScale,
} from '@densepure/core';
import { majorityVote } from './vote.js';

/**
 * The three ways densepure turns one noise draw into a label, as one code path:
 * - `smoothing`: classify x + sigma * noise (Cohen et al. 2019);
 * - `dds`: one-shot denoise from x_t* then classify (Carlini et al. 2023, diffusion denoised smoothing);
 * - `densepure`: K reverse-diffusion runs from x_t* (full chain or b respaced steps), classify each, majority vote
 *   (Xiao et al. 2023).
 */
export type Method =
  | { readonly kind: 'smoothing' }
  | { readonly kind: 'dds' }
  | { readonly kind: 'densepure'; readonly votes: number; readonly steps: 'full' | number; readonly spacing?: 'uniform' | 'densepure' };

export type VarianceMode = 'learned-range' | 'fixed-small' | 'fixed-large';

export interface BaseClassifierConfig {
  readonly sigma: number;
  readonly seed: number;
  readonly method: Method;
  /** Images per model call (reverse chains for densepure). */
  readonly batchSize: number;
  /** Model calls in flight at once; set to the backend's worker count to use them all. */
  readonly concurrency?: number;
  /** Default: learned-range when the model learns its variance, else fixed-large (improved-diffusion's default). */
  readonly variance?: VarianceMode;
}

export interface BaseClassifier {
  readonly config: BaseClassifierConfig;
  /** Diffusion timestep matched to sigma (undefined for plain smoothing). */
  readonly tStar?: number;
  /** Model timesteps the reverse process queries, in order. */
  readonly timesteps: readonly number[];
  /** Denoiser evaluations per noise draw (K x steps). */
  readonly denoiserEvalsPerDraw: number;
  readonly numClasses: number;
  /** A CERTIFY/PREDICT sampler for one image: counts the base prediction over the requested draws. */
  sampler(image: Float32Array, imageIndex: number): Sampler;
  /** The purified images (in [0, 1]) of the requested draws, vote-major within a draw: for pictures. */
  purify(image: Float32Array, imageIndex: number, draws: DrawRequest, vote?: number): Promise<E.Either<BackendError, { noisy: Float32Array; purified: Float32Array }>>;
}

export type ConfigError = { readonly kind: 'config'; readonly message: string };

const configError = (message: string): ConfigError => ({ kind: 'config', message });

/** Thrown inside a sampler when a backend call fails; the runner catches it and reports the BackendError. */
export class BackendFailure extends Error {
  constructor(readonly error: BackendError) {
    super(error.message);
    this.name = 'BackendFailure';
  }
}

const unwrap = <A>(r: E.Either<BackendError, A>): A => {
  if (E.isLeft(r)) throw new BackendFailure(r.left);
  return r.right;
};

/** Runs `tasks` with at most `limit` in flight, keeping results in order. */
async function inPool<A>(tasks: readonly (() => Promise<A>)[], limit: number): Promise<A[]> {
  const results = new Array<A>(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

/**
 * Builds the base classifier g(x) of randomized smoothing for one method. Every random number comes from the
 * counter-based RNG, addressed by (seed, image, draw, vote, step), so the counts do not depend on batch size,
 * concurrency or how CERTIFY splits the draws.
 */
export function makeBaseClassifier(
  denoiser: Denoiser | null,
  classifier: ImageClassifier,
  config: BaseClassifierConfig,
): E.Either<ConfigError, BaseClassifier> {
  const { sigma, method, batchSize, seed } = config;
  const concurrency = config.concurrency ?? 1;
  if (!(sigma > 0) || !Number.isFinite(sigma)) return E.left(configError(`--sigma must be a positive number, got ${sigma}`));
  if (!Number.isInteger(batchSize) || batchSize < 1) return E.left(configError(`--batch must be a whole number >= 1, got ${batchSize}`));
  if (!Number.isInteger(concurrency) || concurrency < 1) return E.left(configError(`concurrency must be >= 1, got ${concurrency}`));
  if (!Number.isInteger(seed) || seed < 0) return E.left(configError(`--seed must be a whole number >= 0, got ${seed}`));
  const [c, h, w] = classifier.sourceShape;
  const pixels = c * h * w;
  const numClasses = classifier.metadata.numClasses;

  if (method.kind === 'smoothing') {
    return E.right(smoothingClassifier(classifier, config, pixels, numClasses, concurrency));
  }
  if (denoiser === null) return E.left(configError(`method '${method.kind}' needs a denoiser (--denoiser)`));
  const dm = denoiser.metadata;
  if (dm.inputShape[0] !== c || dm.inputShape[1] !== h || dm.inputShape[2] !== w) {
    return E.left(
      configError(`the denoiser takes ${dm.inputShape.join('x')} images but the dataset has ${c}x${h}x${w}; use a denoiser trained at the dataset's size`),
    );
  }
  const votes = method.kind === 'densepure' ? method.votes : 1;
  if (!Number.isInteger(votes) || votes < 1) return E.left(configError(`--K must be a whole number >= 1, got ${votes}`));
  const betas = dm.diffusion.schedule === 'linear' ? linearBetaSchedule(dm.diffusion.T) : cosineBetaSchedule(dm.diffusion.T);
  const constants = diffusionConstants(betas);
  let tStar: { t: number; scale: number };
  let plan: ReversePlan;
  try {
    tStar = sigmaToTimestep(sigma, constants.alphasCumprod);
    plan = planReverse(
      constants,
      tStar.t,
      method.kind === 'dds' ? { kind: 'one-shot' } : method.steps === 'full' ? { kind: 'full' } : { kind: 'respaced', steps: method.steps, spacing: method.spacing ?? 'uniform' },
    );
  } catch (cause) {
    return E.left(configError(cause instanceof Error ? cause.message : String(cause)));
  }
  const variance: VarianceMode = config.variance ?? (dm.learnedVariance ? 'learned-range' : 'fixed-large');
  if (variance === 'learned-range' && !dm.learnedVariance) {
    return E.left(configError(`variance 'learned-range' needs a model that outputs v (learnedVariance in its manifest); use fixed-small or fixed-large`));
  }
  const steps = plan.steps.length;

  /** Runs the chains (draw, vote) of one model batch and returns x_0 mapped to [0, 1]. */
  const runChains = async (image: Float32Array, imageIndex: number, chains: readonly (readonly [number, number])[]): Promise<{ noisy: Float32Array; purified: Float32Array }> => {
    const n = chains.length;
    let x = new Float32Array(n * pixels);
    const noisy = new Float32Array(n * pixels);
    const noise = new Float32Array(pixels);
    for (const [i, [draw]] of chains.entries()) {
      gaussianFill(noise, noiseAddress({ seed, imageIndex, drawIndex: draw, step: 'smoothing' }));
      toModelScale(image, sigma, noise, tStar.scale, x.subarray(i * pixels, (i + 1) * pixels));
      for (let p = 0; p < pixels; p++) noisy[i * pixels + p] = image[p]! + sigma * noise[p]!;
    }
    const t = new Int32Array(n);
    const stepNoise = new Float32Array(n * pixels);
    let next = new Float32Array(n * pixels);
    for (let s = 0; s < steps; s++) {
      t.fill(plan.steps[s]!.modelTimestep);
      const out = unwrap(await denoiser.run(x, t)());
      const addsNoise = plan.steps[s]!.addsNoise;
      if (addsNoise) {
        for (const [i, [draw, vote]] of chains.entries()) {
          gaussianFill(stepNoise.subarray(i * pixels, (i + 1) * pixels), noiseAddress({ seed, imageIndex, drawIndex: draw, voteIndex: vote, step: s }));
        }
      }
      reverseStep(plan, s, x, out.eps, out.v, addsNoise ? stepNoise : null, next, { variance, clipX0: true });
      [x, next] = [next, x];
    }
    const purified = new Float32Array(n * pixels);
    fromModelScale(x, purified);
    return { noisy, purified };
  };

  const chainsOf = (draws: DrawRequest, onlyVote?: number): [number, number][] => {
    const list: [number, number][] = [];
    for (let d = draws.firstDraw; d < draws.firstDraw + draws.count; d++) {
      if (onlyVote !== undefined) list.push([d, onlyVote]);
      else for (let k = 0; k < votes; k++) list.push([d, k]);
    }
    return list;
  };

  const batches = <A>(items: readonly A[]): A[][] => {
    const out: A[][] = [];
    for (let i = 0; i < items.length; i += batchSize) out.push(items.slice(i, i + batchSize));
    return out;
  };

  return E.right({
    config,
    tStar: tStar.t,
    timesteps: plan.steps.map((s) => s.modelTimestep),
    denoiserEvalsPerDraw: votes * steps,
    numClasses,
    sampler: (image, imageIndex) => async (draws) => {
      const chains = chainsOf(draws);
      const labelBatches = await inPool(
        batches(chains).map((batch) => async () => {
          const { purified } = await runChains(image, imageIndex, batch);
          return unwrap(await classifier.labels(purified, batch.length)());
        }),
        concurrency,
      );
      const labels = Int32Array.from(labelBatches.flatMap((l) => Array.from(l)));
      const counts = new Int32Array(numClasses);
      const scratch = new Int32Array(numClasses);
      for (let d = 0; d < draws.count; d++) {
        const winner = majorityVote(labels.subarray(d * votes, (d + 1) * votes), numClasses, scratch);
        counts[winner] = counts[winner]! + 1;
      }
      return counts;
    },
    purify: async (image, imageIndex, draws, vote = 0) => {
      try {
        const parts = await inPool(batches(chainsOf(draws, vote)).map((b) => () => runChains(image, imageIndex, b)), concurrency);
        const join = (key: 'noisy' | 'purified'): Float32Array => {
          const out = new Float32Array(draws.count * pixels);
          let o = 0;
          for (const p of parts) {
            out.set(p[key], o);
            o += p[key].length;
          }
          return out;
        };
        return E.right({ noisy: join('noisy'), purified: join('purified') });
      } catch (cause) {
        if (cause instanceof BackendFailure) return E.left(cause.error);
        throw cause;
      }
    },
  });
}

/** Cohen et al.'s base classifier: the classifier on x + sigma * noise (no clipping, as in their code). */
function smoothingClassifier(classifier: ImageClassifier, config: BaseClassifierConfig, pixels: number, numClasses: number, concurrency: number): BaseClassifier {
  const { sigma, seed, batchSize } = config;
  const noisyBatch = (image: Float32Array, imageIndex: number, first: number, count: number): Float32Array => {
    const x = new Float32Array(count * pixels);
    const noise = new Float32Array(pixels);
    for (let i = 0; i < count; i++) {
      gaussianFill(noise, noiseAddress({ seed, imageIndex, drawIndex: first + i, step: 'smoothing' }));
      for (let p = 0; p < pixels; p++) x[i * pixels + p] = image[p]! + sigma * noise[p]!;
    }
    return x;
  };
  const ranges = (draws: DrawRequest): [number, number][] => {
    const out: [number, number][] = [];
    for (let d = draws.firstDraw; d < draws.firstDraw + draws.count; d += batchSize) out.push([d, Math.min(batchSize, draws.firstDraw + draws.count - d)]);
    return out;
  };
  return {
    config,
    timesteps: [],
    denoiserEvalsPerDraw: 0,
    numClasses,
    sampler: (image, imageIndex) => async (draws) => {
      const counts = new Int32Array(numClasses);
      const labelBatches = await inPool(
        ranges(draws).map(([first, count]) => async () => unwrap(await classifier.labels(noisyBatch(image, imageIndex, first, count), count)())),
        concurrency,
      );
      for (const labels of labelBatches) for (const l of labels) counts[l] = counts[l]! + 1;
      return counts;
    },
    purify: async (image, imageIndex, draws) => {
      // Without a denoiser the "purified" image is the clipped noisy one, for display only.
      const noisy = noisyBatch(image, imageIndex, draws.firstDraw, draws.count);
      return E.right({ noisy, purified: noisy.map((v) => Math.min(1, Math.max(0, v))) });
    },
  };
}

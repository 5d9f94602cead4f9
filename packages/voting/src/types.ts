import type { either as E } from 'fp-ts';
import type { BackendError } from '@densepure/backend';
import type { DrawRequest, Sampler, TimestepRule, VarianceKind } from '@densepure/core';
import type { Method } from './methods/table.js';

/** A method as data: one variant per kind of the method table (./methods/table.ts). */
export type { Method };

/** @deprecated core's `VarianceKind` is the one name for it; this alias goes once the apps use that. */
export type VarianceMode = VarianceKind;

export interface BaseClassifierConfig {
  readonly sigma: number;
  readonly seed: number;
  readonly method: Method;
  /** Images per model call (reverse chains for densepure). */
  readonly batchSize: number;
  /** Model calls in flight at once; set to the backend's worker count to use them all. */
  readonly concurrency?: number;
  /** Default: learned-range when the model learns its variance, else fixed-large (improved-diffusion's default). */
  readonly variance?: VarianceKind;
  /** How t* is picked for sigma (core's TimestepRule): 'nearest' (default), 'densepure' or 'dds'. */
  readonly timestepRule?: TimestepRule;
  /**
   * Stop a draw's K votes once the majority can no longer change (default true). Exact: every draw's label,
   * hence every count, is the full K-vote's; only evaluations drop. Off runs all K votes (for comparisons).
   */
  readonly decidedVoteStop?: boolean;
}

/** Model evaluations made: images through the denoiser (one per image per timestep) and through the classifier. */
export interface Evaluations {
  readonly denoiser: number;
  readonly classifier: number;
}

/** A running count the caller owns (e.g. one per image); the group adds every evaluation it makes for that call. */
export interface EvaluationTally {
  denoiser: number;
  classifier: number;
}

export interface BaseClassifier {
  readonly config: BaseClassifierConfig;
  /** Diffusion timestep matched to sigma (undefined for plain smoothing). */
  readonly tStar?: number;
  /** Model timesteps the reverse process queries, in order. */
  readonly timesteps: readonly number[];
  /**
   * Denoiser evaluations per noise draw with all K votes run. The K reverse runs of a draw all start from the
   * same x_t*, so the first step's model call is made once per draw: 1 + K (steps - 1) for DensePure, 1 for DDS.
   * The decided-vote stop makes fewer; `evaluations()` and the tallies count what was made.
   */
  readonly denoiserEvalsPerDraw: number;
  readonly numClasses: number;
  /**
   * A CERTIFY/PREDICT sampler for one image: counts the base prediction over the requested draws, or returns
   * the BackendError of the model call that failed.
   */
  sampler(image: Float32Array, imageIndex: number, tally?: EvaluationTally): Sampler<BackendError>;
  /** The purified images (in [0, 1]) of the requested draws for one vote, draw-major: for pictures. */
  purify(image: Float32Array, imageIndex: number, draws: DrawRequest, vote?: number): Promise<E.Either<BackendError, { noisy: Float32Array; purified: Float32Array }>>;
  /** Evaluations made so far by the group this classifier belongs to (itself alone for `makeBaseClassifier`). */
  evaluations(): Evaluations;
}

export type MethodGroupConfig = Omit<BaseClassifierConfig, 'method'> & { readonly methods: readonly Method[] };

/**
 * Several methods evaluated on the same noise draws of the same image. Each member's counts are exactly those
 * of `makeBaseClassifier` for that method alone (same seed, same addressed noise); the group only saves work:
 * the noise and x_t* are made once, the denoiser runs once per draw at t* (DDS's x0 and every reverse chain's
 * first step), and DensePure members with the same chain share their votes (K = 5 counts the first 5 of the
 * votes that K = 10 draws; with the decided-vote stop a draw's shared votes go on while any member is undecided).
 */
export interface MethodGroup {
  readonly members: readonly BaseClassifier[];
  /** Denoiser evaluations per noise draw for the whole group with all votes run (an upper bound with the stop). */
  readonly denoiserEvalsPerDraw: number;
  /** Per-member counts of the base prediction over the same draws (or the BackendError of a failed model call). */
  counts(image: Float32Array, imageIndex: number, draws: DrawRequest, tally?: EvaluationTally): Promise<E.Either<BackendError, Int32Array[]>>;
  /**
   * One CERTIFY/PREDICT sampler per member (or per member listed in `only`, in that order) for one image. Requests
   * for the same draw range are computed once and handed to every member, so members certified side by side
   * (same N0, N, batch) cost one evaluation. `tally` receives the evaluations made for this image.
   */
  samplers(image: Float32Array, imageIndex: number, only?: readonly number[], tally?: EvaluationTally): Sampler<BackendError>[];
  /** Evaluations made by this group since it was built (all images, all calls). */
  evaluations(): Evaluations;
}

import { either as E, taskEither as TE } from 'fp-ts';
import type { BackendError, Denoiser } from '@densepure/backend';
import { type ReversePlan, type VarianceKind, gaussianFill, noiseAddress, reverseStep } from '@densepure/core';
import type { GaussianMixture } from './mixture.js';
import { exactEpsilon } from './posterior.js';

/** An eps model for a batch of `rows` points at one model timestep. */
export type EpsModel = (x: Float32Array, rows: number, timestep: number) => TE.TaskEither<BackendError, Float32Array>;

/** The eps model of a loaded denoiser (any backend). */
export const denoiserEps =
  (denoiser: Denoiser): EpsModel =>
  (x, rows, timestep) =>
    TE.map((out: { eps: Float32Array }) => out.eps)(denoiser.run(x, new Int32Array(rows).fill(timestep)));

/** The closed-form eps in float64 (rounded to float32 as a model's output is): fast, for measurements. */
export const exactEps =
  (m: GaussianMixture, alphasCumprod: ArrayLike<number>): EpsModel =>
  (x, rows, timestep) =>
    TE.right(Float32Array.from(exactEpsilon(m, alphasCumprod[timestep]!, x, rows)));

export interface ChainOptions {
  readonly seed: number;
  readonly imageIndex: number;
  readonly drawIndex: number;
  readonly variance: VarianceKind;
  /** Default true, as the pipeline does. */
  readonly clipX0?: boolean;
  /** Points per model call. Default: all n at once. */
  readonly batch?: number;
}

/** At most this many samples per x_t: sample r uses the RNG's vote index r (< 2^16). */
export const MAX_CHAIN_SAMPLES = 0x10000;

/**
 * n samples of the reverse chain `plan` from one state x_t (model units, d values), as voting runs DensePure's
 * votes: sample r is vote r of draw `drawIndex`, its step-s noise comes from (seed, imageIndex, drawIndex, r, s),
 * and each step is core's `reverseStep` with x0 clipped to [-1, 1]. So for the same x_t these are exactly the
 * chains voting's DensePure runs (a test checks it), and the result does not depend on `batch`.
 * Returns n x d in model units (no mapping to [0, 1]).
 */
export function sampleReverseChain(eps: EpsModel, plan: ReversePlan, xt: Float32Array, n: number, opts: ChainOptions): TE.TaskEither<BackendError, Float32Array> {
  return async () => {
    if (!Number.isInteger(n) || n < 1 || n > MAX_CHAIN_SAMPLES) throw new RangeError(`n must be a whole number in [1, ${MAX_CHAIN_SAMPLES}], got ${n}`);
    const d = xt.length;
    const batch = Math.max(1, Math.min(opts.batch ?? n, n));
    const out = new Float32Array(n * d);
    for (let first = 0; first < n; first += batch) {
      const rows = Math.min(batch, n - first);
      let x = new Float32Array(rows * d);
      for (let r = 0; r < rows; r++) x.set(xt, r * d);
      let next = new Float32Array(rows * d);
      const noise = new Float32Array(rows * d);
      for (let s = 0; s < plan.steps.length; s++) {
        const step = plan.steps[s]!;
        const e = await eps(x, rows, step.modelTimestep)();
        if (E.isLeft(e)) return e;
        if (step.addsNoise) {
          for (let r = 0; r < rows; r++) {
            gaussianFill(noise.subarray(r * d, (r + 1) * d), noiseAddress({ seed: opts.seed, imageIndex: opts.imageIndex, drawIndex: opts.drawIndex, voteIndex: first + r, step: s }));
          }
        }
        reverseStep(plan, s, x, e.right, null, step.addsNoise ? noise : null, next, { variance: opts.variance, clipX0: opts.clipX0 ?? true });
        [x, next] = [next, x];
      }
      out.set(x, first * d);
    }
    return E.right(out);
  };
}

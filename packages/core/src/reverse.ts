import { either as E } from 'fp-ts';
import { DensePureMathError, type ScheduleError, assertFinite, assertInteger, orThrow } from './errors.js';
import { diffusionConstants, respacedBetas, roundHalfEven, spaceTimesteps, type DiffusionConstants } from './schedule.js';

/**
 * How to run the reverse chain from x_{t*}.
 *
 * - `full`: the DDPM chain t*, t*-1, ..., 0 (t* + 1 model calls).
 * - `respaced`, spacing `'uniform'` (default): `steps` kept timesteps on [0, t*] including both ends,
 *   chosen as improved-diffusion's `space_timesteps(t* + 1, String(steps))` (evenly strided, Python
 *   rounding), betas as `SpacedDiffusion` (1 - abar_k / abar_prev, abar_prev = 1 before the first).
 *   `steps = 1` keeps only t* (a single step whose posterior mean is the predicted x0).
 * - `respaced`, spacing `'densepure'`: DensePure's `use_t_steps` code exactly: model timesteps
 *   round(t* - i t* / steps) for i < steps (Python rounding; the last is about t* / steps, not 0), betas
 *   min(1 - abar[k_{j+1}] / abar[k_j], 0.999) over [0, ...those timesteps ascending] (so abar_0 is the
 *   reference rather than 1), and no noise added at the last step.
 * - `one-shot`: Carlini et al.'s single denoising step x0 = sqrt(1/abar) x_t - sqrt(1/abar - 1) eps, clipped.
 */
export type ReverseMode =
  | { readonly kind: 'full' }
  | { readonly kind: 'respaced'; readonly steps: number; readonly spacing?: 'uniform' | 'densepure' }
  | { readonly kind: 'one-shot' };

/** Variance choice of improved-diffusion's `ModelVarType`. */
export type VarianceKind = 'learned-range' | 'fixed-small' | 'fixed-large';

/** Float64 coefficients of one reverse step (those of the (respaced) diffusion at `respacedIndex`). */
export interface ReverseStepPlan {
  /** Original-schedule timestep index to pass to the model (not rescaled to 1000 steps). */
  readonly modelTimestep: number;
  /** Index of this step in the (respaced) diffusion (= modelTimestep for `full`). */
  readonly respacedIndex: number;
  /** False for the last step (respaced index 0) and for one-shot: no noise is added. */
  readonly addsNoise: boolean;
  readonly posteriorMeanCoef1: number;
  readonly posteriorMeanCoef2: number;
  readonly posteriorVariance: number;
  readonly posteriorLogVarianceClipped: number;
  /** log(beta) of the (respaced) diffusion: the max_log of the learned-range variance. */
  readonly logBeta: number;
  /** log of improved-diffusion's FIXED_LARGE variance [posteriorVariance[1], betas[1:]] at this index. */
  readonly fixedLargeLogVariance: number;
  readonly sqrtRecipAlphasCumprod: number;
  readonly sqrtRecipm1AlphasCumprod: number;
}

/** An executable reverse chain: run steps[0], steps[1], ... in order. */
export interface ReversePlan {
  readonly mode: ReverseMode;
  readonly tStar: number;
  /** T of the full schedule the plan was made from. */
  readonly numTimesteps: number;
  readonly steps: readonly ReverseStepPlan[];
  /** steps[i].modelTimestep, for convenience. */
  readonly modelTimesteps: readonly number[];
}

function stepAt(c: DiffusionConstants, j: number, modelTimestep: number, addsNoise: boolean): ReverseStepPlan {
  const T = c.numTimesteps;
  const fixedLargeVar = j === 0 ? (T > 1 ? c.posteriorVariance[1]! : c.betas[0]!) : c.betas[j]!;
  return {
    modelTimestep,
    respacedIndex: j,
    addsNoise,
    posteriorMeanCoef1: c.posteriorMeanCoef1[j]!,
    posteriorMeanCoef2: c.posteriorMeanCoef2[j]!,
    posteriorVariance: c.posteriorVariance[j]!,
    posteriorLogVarianceClipped: c.posteriorLogVarianceClipped[j]!,
    logBeta: Math.log(c.betas[j]!),
    fixedLargeLogVariance: Math.log(fixedLargeVar),
    sqrtRecipAlphasCumprod: c.sqrtRecipAlphasCumprod[j]!,
    sqrtRecipm1AlphasCumprod: c.sqrtRecipm1AlphasCumprod[j]!,
  };
}

/**
 * Builds the reverse chain from t* for `mode` (see {@link ReverseMode}), given the full-schedule
 * constants. Throws `invalid-argument` for a bad t* or step count and `invalid-spacing` when `steps` cannot be
 * honoured.
 */
export function planReverse(constants: DiffusionConstants, tStar: number, mode: ReverseMode): ReversePlan {
  assertInteger('tStar', tStar, 0, constants.numTimesteps - 1);
  if (mode.kind === 'respaced') assertInteger('respaced steps', mode.steps, 1);
  return orThrow(checkedPlanReverse(constants, tStar, mode));
}

/**
 * {@link planReverse} with a respaced step count that cannot be spaced on [0, t*] (not a whole number >= 1,
 * more steps than timesteps, DensePure spacing that repeats a timestep) returned as an `invalid-spacing`
 * {@link ScheduleError}: what planning with a user's step count calls. Still throws `invalid-argument` for a
 * t* outside the schedule.
 */
export function checkedPlanReverse(constants: DiffusionConstants, tStar: number, mode: ReverseMode): E.Either<ScheduleError, ReversePlan> {
  const T = constants.numTimesteps;
  assertInteger('tStar', tStar, 0, T - 1);
  const steps: ReverseStepPlan[] = [];
  const ac = constants.alphasCumprod;
  switch (mode.kind) {
    case 'full':
      for (let t = tStar; t >= 0; t--) steps.push(stepAt(constants, t, t, t > 0));
      break;
    case 'one-shot':
      steps.push(stepAt(constants, tStar, tStar, false));
      break;
    case 'respaced': {
      const b = mode.steps;
      if (typeof b !== 'number' || !Number.isInteger(b) || b < 1) {
        return E.left({ kind: 'invalid-spacing', message: `respaced steps must be an integer >= 1, got ${String(b)}` });
      }
      const spacing = mode.spacing ?? 'uniform';
      if (spacing === 'uniform') {
        if (b > tStar + 1) {
          return E.left({
            kind: 'invalid-spacing',
            message: `cannot keep ${b} steps on [0, ${tStar}] (only ${tStar + 1} timesteps); use at most ${tStar + 1} steps or the full chain`,
          });
        }
        const kept = b === 1 ? [tStar] : spaceTimesteps(tStar + 1, String(b));
        const rc = diffusionConstants(respacedBetas(ac, kept));
        for (let j = kept.length - 1; j >= 0; j--) steps.push(stepAt(rc, j, kept[j]!, j > 0));
      } else if (spacing === 'densepure') {
        const inter = tStar / b;
        const q: number[] = [];
        for (let i = 0; i < b; i++) q.push(roundHalfEven(tStar - i * inter));
        const chain = [0, ...q.slice().reverse()];
        for (let i = 1; i < chain.length; i++) {
          if (!(chain[i]! > chain[i - 1]!)) {
            return E.left({
              kind: 'invalid-spacing',
              message:
                `DensePure spacing of t*=${tStar} into ${b} steps repeats timestep ${chain[i]} ` +
                `(timesteps ${q.join(',')}); use fewer steps (at most ${Math.floor(2 * tStar / 3)} is safe) or the full chain`,
            });
          }
        }
        const betas = new Float64Array(b);
        for (let j = 0; j < b; j++) betas[j] = Math.min(1 - ac[chain[j + 1]!]! / ac[chain[j]!]!, 0.999);
        const dc = diffusionConstants(betas);
        for (let i = 0; i < b; i++) {
          const j = b - 1 - i;
          steps.push(stepAt(dc, j, q[i]!, j > 0));
        }
      } else {
        throw new DensePureMathError('invalid-argument', `unknown respacing ${String(spacing)}: use 'uniform' or 'densepure'`);
      }
      break;
    }
    default: {
      const never: never = mode;
      throw new DensePureMathError('invalid-argument', `unknown reverse mode ${JSON.stringify(never)}`);
    }
  }
  return E.right({ mode, tStar, numTimesteps: T, steps, modelTimesteps: steps.map((s) => s.modelTimestep) });
}

/** Options of {@link reverseStep}. */
export interface ReverseStepOptions {
  readonly variance: VarianceKind;
  /** Clip the predicted x0 to [-1, 1] (improved-diffusion clip_denoised). Default true. */
  readonly clipX0?: boolean;
  /** If given, receives the (clipped) predicted x0. */
  readonly x0Out?: Float32Array;
}

/**
 * One reverse step for a whole batch (all arrays the same length, pixels contiguous; the step's
 * coefficients are shared by the batch), as improved-diffusion's `p_sample` with an eps-predicting model:
 *
 *   x0 = clip(sqrtRecipAlphasCumprod x_t - sqrtRecipm1AlphasCumprod eps, -1, 1)
 *   mean = posteriorMeanCoef1 x0 + posteriorMeanCoef2 x_t
 *   logvar = learned-range: frac logBeta + (1 - frac) posteriorLogVarianceClipped, frac = (v + 1) / 2
 *            fixed-small: posteriorLogVarianceClipped;  fixed-large: fixedLargeLogVariance
 *   out = mean + (addsNoise ? exp(logvar / 2) noise : 0)
 *
 * Computed in float64 per element, stored as float32. For a one-shot plan `out` receives x0.
 * `out` may be the same array as `xt`. `modelV` is needed only for learned-range steps that add noise,
 * `noise` only for steps that add noise (null otherwise).
 */
export function reverseStep(
  plan: ReversePlan,
  stepIndex: number,
  xt: Float32Array,
  modelEps: Float32Array,
  modelV: Float32Array | null,
  noise: Float32Array | null,
  out: Float32Array,
  opts: ReverseStepOptions,
): void {
  assertInteger('stepIndex', stepIndex, 0, plan.steps.length - 1);
  const s = plan.steps[stepIndex]!;
  const n = xt.length;
  const same = (name: string, a: Float32Array | null | undefined): void => {
    if (a && a.length !== n) {
      throw new DensePureMathError('invalid-argument', `${name} has ${a.length} elements but xt has ${n}`);
    }
  };
  same('modelEps', modelEps);
  same('out', out);
  same('x0Out', opts.x0Out);
  const oneShot = plan.mode.kind === 'one-shot';
  const addsNoise = s.addsNoise && !oneShot;
  const learned = opts.variance === 'learned-range';
  if (opts.variance !== 'learned-range' && opts.variance !== 'fixed-small' && opts.variance !== 'fixed-large') {
    throw new DensePureMathError('invalid-argument', `variance must be learned-range, fixed-small or fixed-large, got ${String(opts.variance)}`);
  }
  if (addsNoise) {
    if (!noise) throw new DensePureMathError('invalid-argument', `step ${stepIndex} (t=${s.modelTimestep}) adds noise: pass a noise array`);
    same('noise', noise);
    if (learned) {
      if (!modelV) {
        throw new DensePureMathError('invalid-argument', 'learned-range variance needs the model variance output (modelV)');
      }
      same('modelV', modelV);
    }
  }
  const clip = opts.clipX0 ?? true;
  const a = s.sqrtRecipAlphasCumprod;
  const b = s.sqrtRecipm1AlphasCumprod;
  const c1 = s.posteriorMeanCoef1;
  const c2 = s.posteriorMeanCoef2;
  const maxLog = s.logBeta;
  const minLog = s.posteriorLogVarianceClipped;
  const fixedStd = Math.exp(0.5 * (opts.variance === 'fixed-large' ? s.fixedLargeLogVariance : minLog));
  const x0Out = opts.x0Out;
  for (let i = 0; i < n; i++) {
    const x = xt[i]!;
    let x0 = a * x - b * modelEps[i]!;
    if (clip) x0 = x0 < -1 ? -1 : x0 > 1 ? 1 : x0;
    if (x0Out) x0Out[i] = x0;
    if (oneShot) {
      out[i] = x0;
      continue;
    }
    const mean = c1 * x0 + c2 * x;
    if (!addsNoise) {
      out[i] = mean;
    } else if (learned) {
      const frac = (modelV![i]! + 1) / 2;
      const logvar = frac * maxLog + (1 - frac) * minLog;
      out[i] = mean + Math.exp(0.5 * logvar) * noise![i]!;
    } else {
      out[i] = mean + fixedStd * noise![i]!;
    }
  }
}

/**
 * Maps a clean image in [0, 1] plus smoothing noise to the diffusion state at t*:
 * out = scale * (2 x - 1 + 2 sigma noise). `x01` may hold one image (length P) broadcast over a batch
 * (`noise` and `out` of length B * P) or already the whole batch (same length as noise).
 */
export function toModelScale(
  x01: Float32Array,
  sigma: number,
  noise: Float32Array,
  scale: number,
  out: Float32Array,
): void {
  assertFinite('sigma', sigma);
  assertFinite('scale', scale);
  const P = x01.length;
  const n = noise.length;
  if (out.length !== n || P === 0 || n % P !== 0) {
    throw new DensePureMathError(
      'invalid-argument',
      `toModelScale: noise (${n}) and out (${out.length}) must have the same length, a multiple of the image length ${P}`,
    );
  }
  const s2 = 2 * sigma;
  for (let base = 0; base < n; base += P) {
    for (let i = 0; i < P; i++) out[base + i] = scale * (2 * x01[i]! - 1 + s2 * noise[base + i]!);
  }
}

/** Maps model-range values back to [0, 1]: out = clip((x + 1) / 2, 0, 1). `out` may be `x`. */
export function fromModelScale(x: Float32Array, out: Float32Array): void {
  if (out.length !== x.length) {
    throw new DensePureMathError('invalid-argument', `fromModelScale: out has ${out.length} elements, x has ${x.length}`);
  }
  for (let i = 0; i < x.length; i++) {
    const v = (x[i]! + 1) / 2;
    out[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
}

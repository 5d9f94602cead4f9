import { either as E } from 'fp-ts';
import { DensePureMathError, type ScheduleError, assertFinite, assertInteger, orThrow } from './errors.js';

/**
 * Per-timestep constants of a discrete Gaussian diffusion, float64, computed exactly as
 * improved-diffusion's `GaussianDiffusion.__init__` does (same formulas, same operation order).
 * Index `t` is improved-diffusion's timestep index: `t = 0` is the first noising step
 * (`alphasCumprod[0] = 1 - betas[0]`).
 */
export interface DiffusionConstants {
  /** Number of timesteps T (= betas.length). */
  readonly numTimesteps: number;
  readonly betas: Float64Array;
  /** abar_t = prod_{s<=t} (1 - beta_s). */
  readonly alphasCumprod: Float64Array;
  /** [1, abar_0, ..., abar_{T-2}]. */
  readonly alphasCumprodPrev: Float64Array;
  /** [abar_1, ..., abar_{T-1}, 0]. */
  readonly alphasCumprodNext: Float64Array;
  readonly sqrtAlphasCumprod: Float64Array;
  readonly sqrtOneMinusAlphasCumprod: Float64Array;
  readonly logOneMinusAlphasCumprod: Float64Array;
  /** sqrt(1 / abar_t). */
  readonly sqrtRecipAlphasCumprod: Float64Array;
  /** sqrt(1 / abar_t - 1): the noise-to-signal ratio of x_t. */
  readonly sqrtRecipm1AlphasCumprod: Float64Array;
  /** beta_t (1 - abar_{t-1}) / (1 - abar_t); 0 at t = 0. */
  readonly posteriorVariance: Float64Array;
  /**
   * log([posteriorVariance[1], posteriorVariance[1:]]). For T = 1 (where improved-diffusion itself fails
   * with an IndexError) this package uses log(posteriorVariance[0]) = -Infinity; it is never used for
   * sampling because the t = 0 step adds no noise.
   */
  readonly posteriorLogVarianceClipped: Float64Array;
  /** beta_t sqrt(abar_{t-1}) / (1 - abar_t): weight of x0 in the posterior mean. */
  readonly posteriorMeanCoef1: Float64Array;
  /** (1 - abar_{t-1}) sqrt(alpha_t) / (1 - abar_t): weight of x_t in the posterior mean. */
  readonly posteriorMeanCoef2: Float64Array;
}

/**
 * numpy's `linspace(start, stop, n)` arithmetic in float64: `i * step + start`, the last element exactly
 * `stop` (for n = 1: [start]). Unchecked: {@link linearBetaSchedule} checks the betas it makes.
 */
export function linspace(start: number, stop: number, n: number): Float64Array {
  const out = new Float64Array(n);
  if (n === 1) {
    out[0] = start;
    return out;
  }
  const step = (stop - start) / (n - 1);
  for (let i = 0; i < n; i++) out[i] = i * step + start;
  out[n - 1] = stop;
  return out;
}

/** The first and last beta of a linear schedule, as a model's manifest records them. */
export interface BetaRange {
  readonly betaStart: number;
  readonly betaEnd: number;
}

/**
 * Linear beta schedule of Ho et al. With `range`, `linspace(betaStart, betaEnd, T)` as given (diffusers'
 * `DDPMScheduler(beta_start, beta_end)`). Without, improved-diffusion's `get_named_beta_schedule('linear', T)`:
 * scale = 1000 / T, `linspace(scale * 1e-4, scale * 2e-2, T)`. For T = 1000 both give the same float64 values
 * for 0.0001..0.02 (scale is exactly 1).
 * Throws `invalid-betas` when a beta falls outside (0, 1): the default schedule does for T <= 20 (its last
 * beta is 20 / T), where improved-diffusion fails its own assert.
 */
export function linearBetaSchedule(T: number, range?: BetaRange): Float64Array {
  assertInteger('T (number of diffusion steps)', T, 1);
  const scale = 1000 / T;
  const start = range === undefined ? scale * 0.0001 : range.betaStart;
  const stop = range === undefined ? scale * 0.02 : range.betaEnd;
  const inside = (b: number): boolean => b > 0 && b < 1;
  // For T = 1 linspace yields [start] alone.
  if (!inside(start) || (T > 1 && !inside(stop))) {
    throw new DensePureMathError(
      'invalid-betas',
      range === undefined
        ? `the default linear schedule with T = ${T} has betas from ${start} to ${stop} (improved-diffusion scales 0.0001..0.02 by 1000 / T), but betas must be in (0, 1): use T >= 21, or give betaStart and betaEnd`
        : `the linear schedule's betaStart ${start} and betaEnd ${stop} must both be in (0, 1)`,
    );
  }
  return linspace(start, stop, T);
}

/** A model's diffusion schedule, as its manifest records it (`betaStart`/`betaEnd`: linear only, both or neither). */
export interface ScheduleSpec {
  readonly schedule: 'linear' | 'cosine';
  readonly T: number;
  readonly betaStart?: number;
  readonly betaEnd?: number;
}

/** The betas a manifest's schedule describes: every field honoured, contradictions refused. */
export function betaSchedule(spec: ScheduleSpec): Float64Array {
  const { betaStart, betaEnd } = spec;
  const given = (betaStart === undefined ? 0 : 1) + (betaEnd === undefined ? 0 : 1);
  if (spec.schedule === 'cosine') {
    if (given > 0) {
      throw new DensePureMathError('invalid-argument', 'the cosine schedule takes no betaStart/betaEnd (they would be ignored): remove them or use the linear schedule');
    }
    return cosineBetaSchedule(spec.T);
  }
  if (given === 1) throw new DensePureMathError('invalid-argument', 'give betaStart and betaEnd together, or neither for the default linear schedule');
  return linearBetaSchedule(spec.T, given === 2 ? { betaStart: betaStart!, betaEnd: betaEnd! } : undefined);
}

/**
 * Cosine schedule of Nichol & Dhariwal (improved-diffusion `betas_for_alpha_bar` with
 * alpha_bar(u) = cos((u + 0.008) / 1.008 * pi / 2)^2 and max_beta = 0.999):
 * beta_i = min(1 - alpha_bar((i + 1) / T) / alpha_bar(i / T), 0.999).
 */
export function cosineBetaSchedule(T: number): Float64Array {
  assertInteger('T (number of diffusion steps)', T, 1);
  const alphaBar = (u: number): number => {
    const c = Math.cos(((u + 0.008) / 1.008) * Math.PI / 2);
    return c * c;
  };
  const out = new Float64Array(T);
  for (let i = 0; i < T; i++) {
    const t1 = i / T;
    const t2 = (i + 1) / T;
    out[i] = Math.min(1 - alphaBar(t2) / alphaBar(t1), 0.999);
  }
  return out;
}

/**
 * All per-timestep constants of improved-diffusion's `GaussianDiffusion` for the given betas (float64).
 * Throws `invalid-betas` unless every beta is in (0, 1] (improved-diffusion asserts the same).
 */
export function diffusionConstants(betas: ArrayLike<number>): DiffusionConstants {
  const T = betas.length;
  if (T < 1) throw new DensePureMathError('invalid-betas', 'betas is empty: a diffusion needs at least one timestep');
  const b = Float64Array.from(betas);
  for (let i = 0; i < T; i++) {
    const v = b[i]!;
    if (!(v > 0 && v <= 1)) {
      throw new DensePureMathError(
        'invalid-betas',
        `betas[${i}] = ${v} is outside (0, 1]; the default linear schedule needs T >= 21 (its last beta is 20 / T)`,
      );
    }
  }
  const alphasCumprod = new Float64Array(T);
  let acc = 1;
  for (let i = 0; i < T; i++) {
    acc = i === 0 ? 1 - b[0]! : acc * (1 - b[i]!);
    alphasCumprod[i] = acc;
  }
  const f = (): Float64Array => new Float64Array(T);
  const alphasCumprodPrev = f();
  const alphasCumprodNext = f();
  const sqrtAlphasCumprod = f();
  const sqrtOneMinusAlphasCumprod = f();
  const logOneMinusAlphasCumprod = f();
  const sqrtRecipAlphasCumprod = f();
  const sqrtRecipm1AlphasCumprod = f();
  const posteriorVariance = f();
  const posteriorLogVarianceClipped = f();
  const posteriorMeanCoef1 = f();
  const posteriorMeanCoef2 = f();
  for (let t = 0; t < T; t++) {
    const beta = b[t]!;
    const alpha = 1 - beta;
    const ac = alphasCumprod[t]!;
    const prev = t === 0 ? 1 : alphasCumprod[t - 1]!;
    alphasCumprodPrev[t] = prev;
    alphasCumprodNext[t] = t === T - 1 ? 0 : alphasCumprod[t + 1]!;
    sqrtAlphasCumprod[t] = Math.sqrt(ac);
    sqrtOneMinusAlphasCumprod[t] = Math.sqrt(1 - ac);
    logOneMinusAlphasCumprod[t] = Math.log(1 - ac);
    sqrtRecipAlphasCumprod[t] = Math.sqrt(1 / ac);
    sqrtRecipm1AlphasCumprod[t] = Math.sqrt(1 / ac - 1);
    posteriorVariance[t] = (beta * (1 - prev)) / (1 - ac);
    posteriorMeanCoef1[t] = (beta * Math.sqrt(prev)) / (1 - ac);
    posteriorMeanCoef2[t] = ((1 - prev) * Math.sqrt(alpha)) / (1 - ac);
  }
  for (let t = 0; t < T; t++) {
    const src = t === 0 ? (T > 1 ? posteriorVariance[1]! : posteriorVariance[0]!) : posteriorVariance[t]!;
    posteriorLogVarianceClipped[t] = Math.log(src);
  }
  return {
    numTimesteps: T,
    betas: b,
    alphasCumprod,
    alphasCumprodPrev,
    alphasCumprodNext,
    sqrtAlphasCumprod,
    sqrtOneMinusAlphasCumprod,
    logOneMinusAlphasCumprod,
    sqrtRecipAlphasCumprod,
    sqrtRecipm1AlphasCumprod,
    posteriorVariance,
    posteriorLogVarianceClipped,
    posteriorMeanCoef1,
    posteriorMeanCoef2,
  };
}

/**
 * Python 3's `round()` for doubles: round half to even (improved-diffusion and DensePure round
 * timesteps with it, e.g. round(4.5) = 4). Exported for callers that must reproduce those indices.
 */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f; // exact for doubles
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

function parseCount(s: string, spec: string): number {
  const t = s.trim();
  if (!/^\d+$/.test(t)) {
    throw new DensePureMathError(
      'invalid-spacing',
      `respacing spec "${spec}" is not "ddimN" or comma-separated step counts such as "10,15,20"`,
    );
  }
  return Number(t);
}

/**
 * improved-diffusion `respace.space_timesteps(T, spec)`: which of the original T timesteps to keep.
 *
 * `spec` is `"ddimN"` (the DDIM paper's fixed integer stride giving exactly N steps) or comma-separated
 * section counts such as `"10,15,20"` (T split into equal sections, each strided to its count with
 * Python's half-to-even rounding). An array of counts is accepted as well.
 * Returns the kept timesteps as a sorted, duplicate-free `number[]` (ascending).
 * Throws `invalid-spacing` where improved-diffusion raises ValueError (a section smaller than its count,
 * or no integer DDIM stride giving exactly N steps).
 */
export function spaceTimesteps(T: number, spec: string | readonly number[]): number[] {
  assertInteger('T (number of diffusion steps)', T, 1);
  let counts: number[];
  if (typeof spec === 'string') {
    if (spec.startsWith('ddim')) {
      const desired = parseCount(spec.slice(4), spec);
      for (let i = 1; i < T; i++) {
        if (Math.ceil(T / i) === desired) {
          const out: number[] = [];
          for (let s = 0; s < T; s += i) out.push(s);
          return out;
        }
      }
      throw new DensePureMathError(
        'invalid-spacing',
        `cannot create exactly ${desired} steps out of ${T} with an integer stride ("${spec}"); ` +
          `pick N so that ceil(${T} / stride) = N for some integer stride, or use section counts such as "${desired}"`,
      );
    }
    counts = spec.split(',').map((s) => parseCount(s, spec));
  } else {
    counts = spec.map((c) => {
      assertInteger('section count', c, 0);
      return c;
    });
  }
  if (counts.length === 0) throw new DensePureMathError('invalid-spacing', 'respacing spec has no sections');
  const sizePer = Math.floor(T / counts.length);
  const extra = T % counts.length;
  let startIdx = 0;
  const all = new Set<number>();
  counts.forEach((sectionCount, i) => {
    const size = sizePer + (i < extra ? 1 : 0);
    if (size < sectionCount) {
      throw new DensePureMathError(
        'invalid-spacing',
        `cannot divide section ${i} of ${size} steps into ${sectionCount} (T = ${T}, spec "${String(spec)}"); ` +
          'use fewer steps per section or fewer sections',
      );
    }
    const fracStride = sectionCount <= 1 ? 1 : (size - 1) / (sectionCount - 1);
    let cur = 0.0;
    for (let k = 0; k < sectionCount; k++) {
      all.add(startIdx + roundHalfEven(cur));
      cur += fracStride;
    }
    startIdx += size;
  });
  return [...all].sort((a, b) => a - b);
}

/**
 * Betas of improved-diffusion's `SpacedDiffusion`: walking the original timesteps in order, each kept
 * timestep i gets beta = 1 - abar_i / abar_prev, where abar_prev is abar of the previous kept timestep
 * (1.0 before the first). `kept` may be in any order; duplicates are ignored. Returns float64.
 */
export function respacedBetas(alphasCumprod: ArrayLike<number>, kept: Iterable<number>): Float64Array {
  const T = alphasCumprod.length;
  const keep = new Set<number>();
  for (const k of kept) {
    assertInteger('kept timestep', k, 0, T - 1);
    keep.add(k);
  }
  if (keep.size === 0) throw new DensePureMathError('invalid-spacing', 'no timesteps kept: keep at least one');
  const out = new Float64Array(keep.size);
  let last = 1.0;
  let j = 0;
  for (let i = 0; i < T; i++) {
    if (keep.has(i)) {
      const a = alphasCumprod[i]!;
      out[j++] = 1 - a / last;
      last = a;
    }
  }
  return out;
}

/** Result of {@link sigmaToTimestep}. */
export interface SigmaTimestep {
  /** t*: timestep index (into alphasCumprod) the smoothed input is treated as. */
  readonly t: number;
  /** sqrt(abar_{t*}): multiply the [-1, 1] input plus 2 sigma noise by this to get x_{t*}. */
  readonly scale: number;
  /** sigmaAtT - sigma: how far the chosen step's noise level is from the requested one (pixel units). */
  readonly residual: number;
  /** sqrt(1 / abar_{t*} - 1) / 2: the smoothing sigma (in [0, 1] pixel units) that t* corresponds to. */
  readonly sigmaAtT: number;
  /**
   * 1 / sqrt(1 + 4 sigma^2): the scale DensePure's runners actually multiply by (the continuous
   * abar for the requested sigma rather than abar_{t*}); offered for exact reproduction of their code.
   */
  readonly exactScale: number;
}

/** Largest smoothing sigma (pixel units) the schedule can represent: sqrt(1 / abar_{T-1} - 1) / 2. */
export function maxSupportedSigma(alphasCumprod: ArrayLike<number>): number {
  const T = alphasCumprod.length;
  if (T < 1) throw new DensePureMathError('invalid-argument', 'alphasCumprod is empty');
  return Math.sqrt(1 / alphasCumprod[T - 1]! - 1) / 2;
}

/**
 * Picks the diffusion timestep t* matching randomized-smoothing noise sigma.
 *
 * Smoothing adds N(0, sigma^2) to x in [0, 1]; in the model's [-1, 1] range that is 2 sigma, and
 * x_t / sqrt(abar_t) = x0 + sqrt((1 - abar_t) / abar_t) eps. So t* is where the noise-to-signal ratio
 * sqrt(1 / abar_t - 1) matches 2 sigma.
 *
 * Rule (DensePure's, runners/diffpure_guided_densepure.py): t* = the index whose sqrt(1 / abar_t - 1) is
 * closest to 2 sigma (absolute difference of the square roots), ties to the smaller t. DensePure scans for
 * the bracketing pair s_t < 2 sigma <= s_{t+1} and takes the nearer end, which is the same thing. We
 * follow it because it is the paper's code and it minimises the mismatch in noise std, the quantity the
 * denoiser sees. (Carlini et al.'s diffusion_denoised_smoothing instead takes the first t >= 1 with
 * s_t >= 2 sigma, which is often one step later; DensePure's CIFAR runner uses a closed-form inverse of the
 * cosine schedule plus rounding.) Comparing the squared ratio (1 - abar)/abar with (2 sigma)^2 picks the
 * same bracketing pair and differs only when 2 sigma sits almost exactly between two steps.
 *
 * Deviations from DensePure, both where its loop has no good answer:
 * - sigma = 0 (or 2 sigma below s_0) returns t = 0 with the residual s_0 / 2 (DensePure's loop falls
 *   through to T - 1). CERTIFY itself requires sigma > 0.
 * - 2 sigma > s_{T-1} throws `sigma-out-of-range` naming the largest supported sigma (DensePure silently
 *   uses T - 1).
 * NaN, infinite or negative sigma throws `invalid-argument`.
 */
export function sigmaToTimestep(sigma: number, alphasCumprod: ArrayLike<number>): SigmaTimestep {
  return orThrow(checkedSigmaToTimestep(sigma, alphasCumprod));
}

/**
 * {@link sigmaToTimestep} with a sigma beyond the schedule's last step returned as a `sigma-out-of-range`
 * {@link ScheduleError}; still throws `invalid-argument` for a NaN, infinite or negative sigma.
 */
export function checkedSigmaToTimestep(sigma: number, alphasCumprod: ArrayLike<number>): E.Either<ScheduleError, SigmaTimestep> {
  assertFinite('sigma', sigma);
  if (sigma < 0) {
    throw new DensePureMathError('invalid-argument', `sigma must be >= 0 (pixel units on [0, 1]), got ${sigma}`);
  }
  const T = alphasCumprod.length;
  if (T < 1) throw new DensePureMathError('invalid-argument', 'alphasCumprod is empty');
  const target = 2 * sigma;
  const last = Math.sqrt(1 / alphasCumprod[T - 1]! - 1);
  if (target > last) {
    return E.left({
      kind: 'sigma-out-of-range',
      message:
        `sigma ${sigma} needs t* beyond the schedule: the largest sigma this schedule supports is ` +
        `${(last / 2).toPrecision(6)} (t=${T - 1}); use a smaller sigma or a schedule with more noise at its end`,
    });
  }
  let best = 0;
  let bestDiff = Infinity;
  for (let t = 0; t < T; t++) {
    const s = Math.sqrt(1 / alphasCumprod[t]! - 1);
    const d = Math.abs(s - target);
    if (d < bestDiff) {
      bestDiff = d;
      best = t;
    }
  }
  const ac = alphasCumprod[best]!;
  const sigmaAtT = Math.sqrt(1 / ac - 1) / 2;
  return E.right({
    t: best,
    scale: Math.sqrt(ac),
    residual: sigmaAtT - sigma,
    sigmaAtT,
    exactScale: 1 / Math.sqrt(1 + target * target),
  });
}

import { either as E } from 'fp-ts';
import { DensePureMathError, type ScheduleError, assertFinite, assertInteger, orThrow } from './errors.js';
import { type SigmaTimestep, checkedSigmaToTimestep, roundHalfEven } from './schedule.js';

/**
 * How t* is chosen for a smoothing sigma. All three agree to within a step or two; they differ only in which
 * paper's code they reproduce exactly.
 *
 * - `nearest` (densepure's default, {@link sigmaToTimestep}): the t whose sqrt(1/abar_t - 1) is closest to 2 sigma.
 *   This is also DensePure's rule for linear schedules (its guided-diffusion ImageNet runner).
 * - `densepure`: DensePure's own code for each schedule. Cosine (its improved-diffusion CIFAR-10 runner): the
 *   closed form {@link densepureCosineTimestep}. Linear: `nearest`, as its ImageNet runner does.
 * - `dds`: Carlini et al.'s diffusion denoised smoothing: the first t >= 1 with sqrt((1 - abar_t) / abar_t) >= 2 sigma.
 */
export type TimestepRule = 'nearest' | 'densepure' | 'dds';

export const TIMESTEP_RULES: readonly TimestepRule[] = ['nearest', 'densepure', 'dds'];

/** Cosine schedule offset s of Nichol & Dhariwal (improved-diffusion): alpha_bar(u) ~ cos((u + s) / (1 + s) pi / 2)^2. */
const COSINE_S = 0.008;

function checkSigma(sigma: number): void {
  assertFinite('sigma', sigma);
  if (sigma < 0) throw new DensePureMathError('invalid-argument', `sigma must be >= 0 (pixel units on [0, 1]), got ${sigma}`);
}

/**
 * DensePure's continuous t for the cosine schedule (runners/diffpure_ddpm_densepure.py), before rounding:
 * T (1 - 2 * 1.008 * asin(sin(pi / 2.016) / sqrt(1 + 4 sigma^2)) / pi), the inverse of the continuous
 * alpha_bar(u) = cos((u + 0.008) / 1.008 * pi / 2)^2 / cos(0.008 / 1.008 * pi / 2)^2 at alpha_bar = 1 / (1 + 4 sigma^2).
 * DensePure's respaced chain starts at round(t) (Python rounding) and spaces its steps with this float t.
 */
export function densepureCosineT(sigma: number, T: number): number {
  checkSigma(sigma);
  assertInteger('T (number of diffusion steps)', T, 1);
  const onePlusS = 1 + COSINE_S;
  const c = Math.sin(Math.PI / (2 * onePlusS));
  return T * (1 - (2 * onePlusS * Math.asin(c / Math.sqrt(1 + 4 * sigma * sigma))) / Math.PI);
}

/**
 * DensePure's t* for a cosine schedule of T steps: round(densepureCosineT(sigma, T)) with Python's rounding
 * (1159 / 1984 / 2810 for sigma 0.25 / 0.5 / 1.0 at T = 4000; `nearest` picks 1158 / 1983 / 2809).
 * Throws `sigma-out-of-range` when the result is not a timestep of the schedule (t* >= T).
 */
export function densepureCosineTimestep(sigma: number, T: number): number {
  return orThrow(checkedDensepureCosineTimestep(sigma, T));
}

function checkedDensepureCosineTimestep(sigma: number, T: number): E.Either<ScheduleError, number> {
  const t = roundHalfEven(densepureCosineT(sigma, T));
  if (t >= T) {
    return E.left({
      kind: 'sigma-out-of-range',
      message: `sigma ${sigma} maps to t* = ${t} by DensePure's cosine formula, beyond the schedule's last step ${T - 1}; use a smaller sigma`,
    });
  }
  return E.right(t);
}

/**
 * Carlini et al.'s rule (diffusion denoised smoothing): starting from t = 0, step t up until
 * sqrt(1 - abar_t) / sqrt(abar_t) >= 2 sigma, i.e. the first t >= 1 at or above the noise level (t = 0 for sigma = 0).
 * Throws `sigma-out-of-range` when no step of the schedule reaches 2 sigma (their loop runs off the end).
 */
export function ddsTimestep(sigma: number, alphasCumprod: ArrayLike<number>): number {
  return orThrow(checkedDdsTimestep(sigma, alphasCumprod));
}

function checkedDdsTimestep(sigma: number, alphasCumprod: ArrayLike<number>): E.Either<ScheduleError, number> {
  checkSigma(sigma);
  const T = alphasCumprod.length;
  if (T < 1) throw new DensePureMathError('invalid-argument', 'alphasCumprod is empty');
  const target = 2 * sigma;
  let t = 0;
  let real = 0;
  while (real < target) {
    t += 1;
    if (t >= T) {
      const last = Math.sqrt(1 - alphasCumprod[T - 1]!) / Math.sqrt(alphasCumprod[T - 1]!);
      return E.left({
        kind: 'sigma-out-of-range',
        message: `sigma ${sigma} needs t* beyond the schedule: the largest sigma this schedule supports is ${(last / 2).toPrecision(6)} (t=${T - 1}); use a smaller sigma`,
      });
    }
    const ac = alphasCumprod[t]!;
    real = Math.sqrt(1 - ac) / Math.sqrt(ac);
  }
  return E.right(t);
}

/** The {@link SigmaTimestep} record for a given t (what sigmaToTimestep returns for its own choice). */
export function sigmaTimestepAt(t: number, sigma: number, alphasCumprod: ArrayLike<number>): SigmaTimestep {
  checkSigma(sigma);
  assertInteger('t*', t, 0, alphasCumprod.length - 1);
  const ac = alphasCumprod[t]!;
  const sigmaAtT = Math.sqrt(1 / ac - 1) / 2;
  return { t, scale: Math.sqrt(ac), residual: sigmaAtT - sigma, sigmaAtT, exactScale: 1 / Math.sqrt(1 + 4 * sigma * sigma) };
}

/** The schedule facts a rule needs: its kind (the closed form applies to cosine only) and its alpha-bars. */
export interface ScheduleForRule {
  readonly schedule: 'linear' | 'cosine';
  readonly alphasCumprod: ArrayLike<number>;
}

/** t* for `sigma` by `rule` (see {@link TimestepRule}); throws DensePureMathError as the rule's function does. */
export function timestepForSigma(rule: TimestepRule, sigma: number, schedule: ScheduleForRule): SigmaTimestep {
  return orThrow(checkedTimestepForSigma(rule, sigma, schedule));
}

/**
 * {@link timestepForSigma} with a sigma beyond the schedule's end returned as a `sigma-out-of-range`
 * {@link ScheduleError}: what planning with a user's sigma calls. Still throws `invalid-argument` for a NaN,
 * infinite or negative sigma and an unknown rule (check those first).
 */
export function checkedTimestepForSigma(rule: TimestepRule, sigma: number, schedule: ScheduleForRule): E.Either<ScheduleError, SigmaTimestep> {
  const ac = schedule.alphasCumprod;
  const at = (t: number): SigmaTimestep => sigmaTimestepAt(t, sigma, ac);
  switch (rule) {
    case 'nearest':
      return checkedSigmaToTimestep(sigma, ac);
    case 'densepure':
      return schedule.schedule === 'cosine' ? E.map(at)(checkedDensepureCosineTimestep(sigma, ac.length)) : checkedSigmaToTimestep(sigma, ac);
    case 'dds':
      return E.map(at)(checkedDdsTimestep(sigma, ac));
    default: {
      const never: never = rule;
      throw new DensePureMathError('invalid-argument', `unknown timestep rule '${String(never)}': use ${TIMESTEP_RULES.join(', ')}`);
    }
  }
}

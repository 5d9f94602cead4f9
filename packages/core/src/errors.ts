import { either as E } from 'fp-ts';

/**
 * Machine-readable reason attached to every {@link DensePureMathError}.
 *
 * - `invalid-argument`: a number is NaN, negative, not an integer, out of its documented range, or
 *   two arrays have incompatible lengths.
 * - `invalid-betas`: a beta schedule has a value outside (0, 1] (improved-diffusion asserts the same).
 * - `invalid-spacing`: a respacing spec cannot be honoured (improved-diffusion's `space_timesteps`
 *   raises ValueError in the same cases).
 * - `sigma-out-of-range`: sigma needs a timestep beyond the end of the schedule.
 * - `rng-address-overflow`: a field of a noise address does not fit its counter/key word.
 * - `sampler-contract`: a CERTIFY/PREDICT sampler returned counts of the wrong shape or total.
 */
export type DensePureMathErrorCode =
  | 'invalid-argument'
  | 'invalid-betas'
  | 'invalid-spacing'
  | 'sigma-out-of-range'
  | 'rng-address-overflow'
  | 'sampler-contract';

/**
 * The one error class thrown by `@densepure/core`, for a broken contract: an argument out of its documented
 * range, a sampler that returned malformed counts. Expected failures are values instead (a sampler's `Left`,
 * {@link ScheduleError}, `validateSequentialOptions`). Messages say what is wrong and what to do about it.
 */
export class DensePureMathError extends Error {
  /** Stable reason code, safe to switch on. */
  readonly code: DensePureMathErrorCode;

  constructor(code: DensePureMathErrorCode, message: string) {
    super(message);
    this.name = 'DensePureMathError';
    this.code = code;
  }
}

/**
 * Why a diffusion schedule cannot serve a request, as the `checked*` planning functions return it: sigma needs
 * a timestep beyond the schedule's end (`sigma-out-of-range`), or the reverse steps asked for cannot be spaced
 * on [0, t*] (`invalid-spacing`). Kind and message are those the throwing forms throw.
 */
export interface ScheduleError {
  readonly kind: Extract<DensePureMathErrorCode, 'sigma-out-of-range' | 'invalid-spacing'>;
  readonly message: string;
}

/** @internal The Right, or the Left thrown as the DensePureMathError of the same code and message. */
export function orThrow<A>(result: E.Either<ScheduleError, A>): A {
  if (E.isLeft(result)) throw new DensePureMathError(result.left.kind, result.left.message);
  return result.right;
}

/** Type guard for {@link DensePureMathError} (works across realms/bundles by checking `name`). */
export function isDensePureMathError(e: unknown): e is DensePureMathError {
  return e instanceof DensePureMathError || (e instanceof Error && e.name === 'DensePureMathError' && 'code' in e);
}

/** @internal Throws `invalid-argument` unless `x` is an integer in [min, max]. */
export function assertInteger(name: string, x: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`;
    throw new DensePureMathError('invalid-argument', `${name} must be ${range}, got ${String(x)}`);
  }
}

/** @internal Throws `invalid-argument` unless `x` is a finite number. */
export function assertFinite(name: string, x: number): void {
  if (typeof x !== 'number' || !Number.isFinite(x)) {
    throw new DensePureMathError('invalid-argument', `${name} must be a finite number, got ${String(x)}`);
  }
}

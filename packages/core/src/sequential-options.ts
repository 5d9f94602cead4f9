import { either as E } from 'fp-ts';
import { firstCountWhere } from './search.js';
import { DensePureMathError } from './errors.js';
import { normalQuantile } from './stats.js';
import { DEFAULT_MIXTURE_PRIOR, betaMixtureBounds, type BetaMixturePrior } from './confidence-sequence.js';
import type { SequentialCertifyOptions } from './sequential.js';

/** The largest draw index range the RNG addresses (as `certify`). */
const MAX_DRAWS = 2 ** 32;

/**
 * A bad option of sequential CERTIFY (the house's tagged union `{ kind, message, ... }`; messages name
 * quantities, never command-line flags).
 * - `invalid-option`: sigma, n0, nMax, numClasses, batchSize, minRound, roundGrowth, prior or selection is malformed.
 * - `alpha-out-of-range`: alpha (or futilityAlpha, or the adaptive selection's level) is not in (0, 1).
 * - `radii-empty`, `radius-not-positive`, `radii-not-increasing`: the requested radii.
 * - `radius-unreachable`: even if every estimation draw voted for the top class, nMax draws cannot
 *   certify `radius` (the smallest such requested radius) at this alpha; `neededNMax` is the cap that
 *   would certify the largest requested radius (null: no cap within 2^32 draws can).
 * - `too-many-draws`: n0 + nMax exceeds the RNG's 2^32 draw indices.
 */
export type SequentialOptionsError =
  | {
      readonly kind: 'invalid-option';
      readonly message: string;
      readonly option: 'sigma' | 'n0' | 'nMax' | 'numClasses' | 'batchSize' | 'minRound' | 'roundGrowth' | 'prior' | 'selection';
      readonly value: unknown;
    }
  | {
      readonly kind: 'alpha-out-of-range';
      readonly message: string;
      readonly option: 'alpha' | 'futilityAlpha' | 'selectionLevel';
      readonly value: unknown;
    }
  | { readonly kind: 'radii-empty'; readonly message: string }
  | { readonly kind: 'radius-not-positive'; readonly message: string; readonly index: number; readonly radius: number }
  | {
      readonly kind: 'radii-not-increasing';
      readonly message: string;
      readonly index: number;
      readonly radius: number;
      readonly previous: number;
    }
  | {
      readonly kind: 'radius-unreachable';
      readonly message: string;
      readonly radius: number;
      readonly largestRadius: number;
      readonly sigma: number;
      readonly alpha: number;
      readonly nMax: number;
      readonly neededNMax: number | null;
    }
  | { readonly kind: 'too-many-draws'; readonly message: string; readonly n0: number; readonly nMax: number };

function isPositiveInteger(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 1;
}

/**
 * The fewest estimation draws that certify `radius` (sigma Phi^{-1}(lower) >= radius) when every draw
 * votes for the top class, or null when no count up to `limit` does (e.g. Phi(radius / sigma) rounds to 1).
 * The all-success lower bound grows with n (the default prior; checked in the tests), so a doubling
 * search then bisection finds the first count.
 */
export function drawsToCertify(
  radius: number,
  sigma: number,
  alpha: number,
  prior: BetaMixturePrior = DEFAULT_MIXTURE_PRIOR,
  limit = MAX_DRAWS,
): number | null {
  return firstCountWhere((n) => sigma * normalQuantile(betaMixtureBounds(n, n, alpha, prior).lower) >= radius, limit);
}

function checkShape(o: SequentialCertifyOptions): SequentialOptionsError | null {
  const bad = (option: Extract<SequentialOptionsError, { kind: 'invalid-option' }>['option'], value: unknown, what: string) =>
    ({ kind: 'invalid-option', option, value, message: `${what}, got ${String(value)}` }) as const;
  if (typeof o.sigma !== 'number' || !(o.sigma > 0) || !Number.isFinite(o.sigma)) {
    return bad('sigma', o.sigma, 'sigma (the smoothing noise level) must be a finite number > 0');
  }
  if (!isPositiveInteger(o.n0)) return bad('n0', o.n0, 'the number of selection draws must be an integer >= 1');
  if (!isPositiveInteger(o.nMax)) return bad('nMax', o.nMax, 'the cap on estimation draws must be an integer >= 1');
  if (!(typeof o.numClasses === 'number' && Number.isInteger(o.numClasses) && o.numClasses >= 2)) {
    return bad('numClasses', o.numClasses, 'the number of classes must be an integer >= 2');
  }
  if (!isPositiveInteger(o.batchSize)) return bad('batchSize', o.batchSize, 'the batch size must be an integer >= 1');
  if (o.minRound !== undefined && !isPositiveInteger(o.minRound)) {
    return bad('minRound', o.minRound, 'the smallest round of draws must be an integer >= 1');
  }
  if (o.roundGrowth !== undefined && !(typeof o.roundGrowth === 'number' && o.roundGrowth >= 0 && Number.isFinite(o.roundGrowth))) {
    return bad('roundGrowth', o.roundGrowth, 'the round growth factor must be a finite number >= 0');
  }
  if (o.prior !== undefined) {
    const ok =
      Array.isArray(o.prior) &&
      o.prior.length > 0 &&
      o.prior.every((c) => [c.weight, c.a, c.b].every((v) => typeof v === 'number' && v > 0 && Number.isFinite(v)));
    if (!ok) return bad('prior', JSON.stringify(o.prior), 'the mixing prior must be a non-empty list of Beta components with weight, a, b > 0');
  }
  const sel = o.selection;
  if (sel !== undefined && !(typeof sel === 'object' && sel !== null && (sel.kind === 'fixed' || sel.kind === 'adaptive'))) {
    return bad('selection', JSON.stringify(sel), "the selection rule must be { kind: 'fixed' } or { kind: 'adaptive', level? }");
  }
  const levels = { alpha: o.alpha, futilityAlpha: o.futilityAlpha, selectionLevel: sel?.kind === 'adaptive' ? sel.level : undefined };
  const names = { alpha: 'alpha', futilityAlpha: 'the futility level', selectionLevel: 'the adaptive selection level' };
  for (const option of ['alpha', 'futilityAlpha', 'selectionLevel'] as const) {
    const v = levels[option];
    if (option !== 'alpha' && v === undefined) continue;
    if (typeof v !== 'number' || !(v > 0 && v < 1)) {
      return { kind: 'alpha-out-of-range', option, value: v, message: `${names[option]} must be in (0, 1) (e.g. 0.001), got ${String(v)}` };
    }
  }
  if (o.n0 + o.nMax > MAX_DRAWS) {
    return {
      kind: 'too-many-draws',
      n0: o.n0,
      nMax: o.nMax,
      message: `selection draws + cap on estimation draws = ${o.n0 + o.nMax} exceeds 2^32 draws (the RNG's draw index range)`,
    };
  }
  return null;
}

function checkRadii(radii: readonly number[]): SequentialOptionsError | null {
  if (!Array.isArray(radii) || radii.length === 0) {
    return { kind: 'radii-empty', message: 'no radii to certify: give at least one radius > 0' };
  }
  for (let i = 0; i < radii.length; i++) {
    const r = radii[i]!;
    if (typeof r !== 'number' || !(r > 0) || !Number.isFinite(r)) {
      return {
        kind: 'radius-not-positive',
        index: i,
        radius: r,
        message: `radius ${String(r)} (number ${i + 1} of the radii) must be a finite number > 0`,
      };
    }
    if (i > 0 && !(r > radii[i - 1]!)) {
      return {
        kind: 'radii-not-increasing',
        index: i,
        radius: r,
        previous: radii[i - 1]!,
        message: `the radii must be strictly increasing: ${r} follows ${radii[i - 1]!} (list them smallest first, without repeats)`,
      };
    }
  }
  return null;
}

/**
 * Checks the options of `certifySequential` and returns them unchanged, or the first problem as a tagged
 * error: malformed numbers, alpha outside (0, 1), radii empty / not positive / not strictly increasing,
 * n0 + nMax beyond 2^32, or a requested radius that nMax estimation draws cannot certify at this alpha even
 * when every draw votes for the top class (with the cap that would be needed).
 */
export function validateSequentialOptions(
  options: SequentialCertifyOptions,
): E.Either<SequentialOptionsError, SequentialCertifyOptions> {
  const shape = checkShape(options) ?? checkRadii(options.radii);
  if (shape) return E.left(shape);
  const { sigma, alpha, nMax, radii, n0 } = options;
  const prior = options.prior ?? DEFAULT_MIXTURE_PRIOR;
  const best = sigma * normalQuantile(betaMixtureBounds(nMax, nMax, alpha, prior).lower);
  const largest = radii[radii.length - 1]!;
  if (!(best >= largest)) {
    const radius = radii.find((r) => !(best >= r))!;
    const neededNMax = drawsToCertify(largest, sigma, alpha, prior, MAX_DRAWS - n0);
    const need =
      neededNMax === null
        ? `no number of draws up to 2^32 can certify radius ${largest} at sigma ${sigma}; ask for smaller radii`
        : `certifying radius ${largest} needs a cap of at least ${neededNMax} estimation draws`;
    return E.left({
      kind: 'radius-unreachable',
      radius,
      largestRadius: largest,
      sigma,
      alpha,
      nMax,
      neededNMax,
      message:
        `radius ${radius} cannot be certified at sigma ${sigma} and alpha ${alpha} with at most ${nMax} estimation ` +
        `draws, even if every draw votes for the top class (the most it can certify is ${best.toPrecision(4)}); ${need}`,
    });
  }
  return E.right(options);
}

/** @internal Throws `invalid-argument` with the message of the first problem `validateSequentialOptions` finds. */
export function assertSequentialOptions(options: SequentialCertifyOptions): void {
  const v = validateSequentialOptions(options);
  if (E.isLeft(v)) throw new DensePureMathError('invalid-argument', v.left.message);
}

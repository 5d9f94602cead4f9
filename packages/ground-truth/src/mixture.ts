import { either as E } from 'fp-ts';
import { argmax, gaussianFill, noiseAddress, uniformFill } from '@densepure/core';
import { type LowRankShape, logDensity, sampleInto } from './gaussian.js';

/**
 * Data of an exact-score diffusion model: p(x0) = sum_k weight_k N(mean_k, Cov_k) in d = C*H*W dimensions,
 * in the diffusion model's value range [-1, 1] (pixel units on [0, 1] are (x0 + 1) / 2, so a smoothing sigma in
 * pixel units is 2 sigma here). Each component belongs to one class; a class may own several components.
 * Cov_k = std_k^2 I, except along the optional orthonormal `directions` (q x d row-major), where the variance is
 * `directionVariances` (a low-rank-plus-isotropic covariance: see gaussian.ts).
 */
export interface MixtureComponent {
  readonly weight: number;
  readonly mean: readonly number[];
  readonly std: number;
  readonly label: number;
  readonly directions?: readonly number[];
  readonly directionVariances?: readonly number[];
}

/** A component's covariance in gaussian.ts's form. */
export const componentShape = (c: MixtureComponent): LowRankShape => ({ iso: c.std * c.std, directions: c.directions ?? [], along: c.directionVariances ?? [] });

/** Largest rank over the components (0 for an isotropic mixture). */
export const mixtureRank = (m: { readonly components: readonly MixtureComponent[] }): number => Math.max(0, ...m.components.map((c) => c.directionVariances?.length ?? 0));

/** How far the rows of `directions` (q x d) are from orthonormal: max |U U' - I|. */
function orthonormalityError(directions: readonly number[], q: number, d: number): number {
  let worst = 0;
  for (let a = 0; a < q; a++) {
    for (let b = a; b < q; b++) {
      let s = 0;
      for (let i = 0; i < d; i++) s += directions[a * d + i]! * directions[b * d + i]!;
      worst = Math.max(worst, Math.abs(s - (a === b ? 1 : 0)));
    }
  }
  return worst;
}

/** Directions must be orthonormal to this tolerance (float32-rounded orthonormal bases are within ~1e-6). */
const ORTHONORMAL_TOLERANCE = 1e-4;

function lowRankProblem(comp: MixtureComponent, d: number): string | null {
  const dirs = comp.directions;
  const vars = comp.directionVariances;
  if (dirs === undefined && vars === undefined) return null;
  if (dirs === undefined || vars === undefined) return 'give both directions and directionVariances, or neither';
  if (vars.length < 1 || vars.length >= d) return `directionVariances must have 1..${d - 1} values, got ${vars.length}`;
  if (dirs.length !== vars.length * d) return `directions must hold ${vars.length} x ${d} = ${vars.length * d} values (one row per direction variance), got ${dirs.length}`;
  if (!vars.every((v) => v > 0 && Number.isFinite(v))) return 'every directionVariances value must be a positive number';
  if (!dirs.every(Number.isFinite)) return 'directions has a value that is not a finite number';
  const err = orthonormalityError(dirs, vars.length, d);
  if (!(err <= ORTHONORMAL_TOLERANCE)) return `the rows of directions must be orthonormal (max |U U' - I| = ${err.toExponential(2)} > ${ORTHONORMAL_TOLERANCE}); orthonormalise them (e.g. QR) first`;
  return null;
}

export interface GaussianMixture {
  /** Image layout [C, H, W] of a point; d = C * H * W. */
  readonly shape: readonly [number, number, number];
  readonly dim: number;
  /** Weights normalised to sum to 1. */
  readonly components: readonly MixtureComponent[];
  readonly classNames: readonly string[];
}

export interface MixtureSpec {
  readonly shape: readonly [number, number, number];
  readonly components: readonly MixtureComponent[];
  /** One name per class; labels are indices into it. */
  readonly classNames: readonly string[];
}

export type GroundTruthError = { readonly kind: 'invalid-mixture'; readonly message: string };

const invalid = (message: string): GroundTruthError => ({ kind: 'invalid-mixture', message });

/** Checks a mixture spec and normalises its weights; the error names the component and what to change. */
export function makeMixture(spec: MixtureSpec): E.Either<GroundTruthError, GaussianMixture> {
  const [c, h, w] = spec.shape;
  if (![c, h, w].every((n) => Number.isInteger(n) && n >= 1)) return E.left(invalid(`shape must be three whole numbers >= 1 [C, H, W], got [${spec.shape.join(', ')}]`));
  if (h !== w) return E.left(invalid(`images are square in densepure's model contract: H must equal W, got [${spec.shape.join(', ')}] (use C channels for other dimensions, e.g. [d, 1, 1])`));
  const dim = c * h * w;
  if (spec.classNames.length < 2) return E.left(invalid(`a mixture needs at least 2 classes, got ${spec.classNames.length}`));
  if (spec.components.length < 1) return E.left(invalid('a mixture needs at least one component'));
  let total = 0;
  for (const [k, comp] of spec.components.entries()) {
    if (!(comp.weight > 0) || !Number.isFinite(comp.weight)) return E.left(invalid(`component ${k}: weight must be a positive number, got ${comp.weight}`));
    if (!(comp.std > 0) || !Number.isFinite(comp.std)) return E.left(invalid(`component ${k}: std must be a positive number, got ${comp.std}`));
    if (comp.mean.length !== dim) return E.left(invalid(`component ${k}: mean has ${comp.mean.length} values but the shape [${spec.shape.join(', ')}] has ${dim}`));
    if (!comp.mean.every(Number.isFinite)) return E.left(invalid(`component ${k}: mean has a value that is not a finite number`));
    const lowRank = lowRankProblem(comp, dim);
    if (lowRank !== null) return E.left(invalid(`component ${k}: ${lowRank}`));
    if (!Number.isInteger(comp.label) || comp.label < 0 || comp.label >= spec.classNames.length) {
      return E.left(invalid(`component ${k}: label ${comp.label} is not one of the ${spec.classNames.length} classes (0..${spec.classNames.length - 1})`));
    }
    total += comp.weight;
  }
  for (let label = 0; label < spec.classNames.length; label++) {
    if (!spec.components.some((comp) => comp.label === label)) return E.left(invalid(`class ${label} (${spec.classNames[label]}) has no component; give every class one`));
  }
  return E.right({
    shape: [c, h, w],
    dim,
    classNames: [...spec.classNames],
    components: spec.components.map((comp) => ({
      ...comp,
      mean: [...comp.mean],
      weight: comp.weight / total,
      ...(comp.directions === undefined ? {} : { directions: [...comp.directions], directionVariances: [...comp.directionVariances!] }),
    })),
  });
}

/** log N(x; mean_k, Cov_k) for every component, plus log weight: the unnormalised log responsibilities of x. */
export function componentLogDensities(m: GaussianMixture, x: ArrayLike<number>, out = new Float64Array(m.components.length)): Float64Array {
  const d = m.dim;
  const scratch = { r: new Float64Array(d), p: new Float64Array(mixtureRank(m)) };
  for (const [k, comp] of m.components.entries()) out[k] = Math.log(comp.weight) + logDensity(componentShape(comp), comp.mean, 0, x, d, scratch);
  return out;
}

/** Softmax in place; returns log-sum-exp of the input. */
export function softmaxInPlace(a: Float64Array): number {
  let max = -Infinity;
  for (const v of a) if (v > max) max = v;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    a[i] = Math.exp(a[i]! - max);
    sum += a[i]!;
  }
  for (let i = 0; i < a.length; i++) a[i] = a[i]! / sum;
  return max + Math.log(sum);
}

/** Per-class probabilities of the clean mixture at x (the exact Bayes posterior over classes). */
export function classPosterior(m: GaussianMixture, x: ArrayLike<number>): Float64Array {
  const r = componentLogDensities(m, x);
  softmaxInPlace(r);
  const out = new Float64Array(m.classNames.length);
  for (const [k, comp] of m.components.entries()) out[comp.label] = out[comp.label]! + r[k]!;
  return out;
}

/** argmax with ties to the smallest index (the project's label convention): core's. */
export { argmax };

/** The Bayes classifier of the clean mixture: the class of highest posterior probability at x. */
export const bayesLabel = (m: GaussianMixture, x: ArrayLike<number>): number => argmax(classPosterior(m, x));

/** A sample of the mixture (row-major, n x d, model units) with each row's component and class. */
export interface MixtureSample {
  readonly points: Float64Array;
  readonly components: Int32Array;
  readonly labels: Int32Array;
}

/**
 * n points from the mixture, reproducible from (seed, stream): the component by inverse CDF of a uniform, the
 * offset from a Gaussian, both from the counter-based RNG.
 */
export function sampleMixture(m: GaussianMixture, n: number, seed: number, stream = 0): MixtureSample {
  const d = m.dim;
  const u = new Float64Array(n);
  uniformFill(u, noiseAddress({ seed, imageIndex: stream, drawIndex: 0, step: 0 }));
  const z = new Float64Array(n * d);
  gaussianFill(z, noiseAddress({ seed, imageIndex: stream, drawIndex: 1, step: 0 }));
  const points = new Float64Array(n * d);
  const components = new Int32Array(n);
  const labels = new Int32Array(n);
  const shapes = m.components.map(componentShape);
  const proj = new Float64Array(mixtureRank(m));
  for (let i = 0; i < n; i++) {
    let k = 0;
    let acc = m.components[0]!.weight;
    while (u[i]! >= acc && k < m.components.length - 1) acc += m.components[++k]!.weight;
    const comp = m.components[k]!;
    components[i] = k;
    labels[i] = comp.label;
    sampleInto(shapes[k]!, comp.mean, 0, z.subarray(i * d, (i + 1) * d), d, points, i * d, proj);
  }
  return { points, components, labels };
}

import { gaussianFill, noiseAddress, normalCdf, uniformFill } from '@densepure/core';
import { type LowRankShape, logDensityOfResidual, projectOnto, projectedVariance, sampleInto } from './gaussian.js';
import { type GaussianMixture, type MixtureComponent, componentShape, mixtureRank, softmaxInPlace } from './mixture.js';

/*
 * Closed forms for x_t = sqrt(abar) x0 + sqrt(1 - abar) eps with x0 from the mixture. Component k, covariance
 * s_k^2 I except variance S_kj along its directions u_kj (gaussian.ts), noised: N(sqrt(abar) mu_k, Cov_k(abar)) with
 * v_k = abar s_k^2 + 1 - abar isotropic and V_kj = abar S_kj + 1 - abar along u_kj. Given x_t and component k, x0 is
 * Gaussian with the same directions: variance tau_k^2 = s_k^2 (1 - abar) / v_k isotropic and S_kj (1 - abar) / V_kj
 * along u_kj, mean m_k = mu_k + sqrt(abar) Cov_k Cov_k(abar)^-1 r_k with r_k = x_t - sqrt(abar) mu_k, i.e.
 *   m_k = mu_k + sqrt(abar) [s_k^2 / v_k r_k + sum_j (S_kj / V_kj - s_k^2 / v_k) (u_kj . r_k) u_kj],
 * and the component's posterior weight is w_k ∝ pi_k N(x_t; sqrt(abar) mu_k, Cov_k(abar)). So p(x0 | x_t) is the
 * mixture sum_k w_k N(m_k, .), its mean is Tweedie's E[x0 | x_t] = sum_k w_k m_k, and the exact eps-prediction is
 *   eps(x_t) = -sqrt(1 - abar) grad log p_t(x_t) = sqrt(1 - abar) sum_k w_k Cov_k(abar)^-1 r_k,
 *   Cov_k(abar)^-1 r = r / v_k + sum_j (1 / V_kj - 1 / v_k) (u_kj . r) u_kj.
 * For an isotropic component (no directions) every sum over j is empty.
 */

/** p(x0 | x_t) as a mixture: weights (sum 1), means (K x d row-major), per-component covariances. */
export interface Posterior {
  readonly weights: Float64Array;
  readonly means: Float64Array;
  /** The isotropic part tau_k^2 of each component's covariance (all of it for an isotropic mixture). */
  readonly variances: Float64Array;
  /** Each component's covariance: `variances[k]` isotropic, its own variances along the mixture's directions. */
  readonly shapes: readonly LowRankShape[];
  /** Per-class posterior mass sum_{k in class} w_k: what an exact K -> infinity DensePure vote converges to. */
  readonly classMass: Float64Array;
  /** E[x0 | x_t]: what the one-shot denoiser returns. */
  readonly mean: Float64Array;
}

/** Component k's covariance after noising to abar: x_t | k. */
export function noisedShape(comp: MixtureComponent, abar: number): LowRankShape {
  const base = componentShape(comp);
  return { iso: abar * base.iso + 1 - abar, directions: base.directions, along: Array.from(base.along, (s) => abar * s + 1 - abar) };
}

/** Log posterior weights of the components at x_t (unnormalised: log weight + log density of the noised component). */
function noisedLogWeights(m: GaussianMixture, abar: number, xt: ArrayLike<number>, out: Float64Array, shapes: readonly LowRankShape[]): void {
  const d = m.dim;
  const a = Math.sqrt(abar);
  const proj = new Float64Array(mixtureRank(m));
  const r = new Float64Array(d);
  for (const [k, comp] of m.components.entries()) {
    for (let i = 0; i < d; i++) r[i] = xt[i]! - a * comp.mean[i]!;
    out[k] = Math.log(comp.weight) + logDensityOfResidual(shapes[k]!, r, d, proj);
  }
}

/** Per-class posterior mass at x_t alone (the component weights, none of the posterior means): the exact K -> infinity vote's tally. */
export function posteriorClassMass(m: GaussianMixture, abar: number, xt: ArrayLike<number>): Float64Array {
  const weights = new Float64Array(m.components.length);
  noisedLogWeights(m, abar, xt, weights, m.components.map((c) => noisedShape(c, abar)));
  softmaxInPlace(weights);
  const mass = new Float64Array(m.classNames.length);
  for (const [k, comp] of m.components.entries()) mass[comp.label] = mass[comp.label]! + weights[k]!;
  return mass;
}

/** The closed-form posterior p(x0 | x_t) at noise level abar (float64). */
export function posterior(m: GaussianMixture, abar: number, xt: ArrayLike<number>): Posterior {
  const K = m.components.length;
  const d = m.dim;
  const noised = m.components.map((c) => noisedShape(c, abar));
  const weights = new Float64Array(K);
  noisedLogWeights(m, abar, xt, weights, noised);
  softmaxInPlace(weights);
  const a = Math.sqrt(abar);
  const means = new Float64Array(K * d);
  const variances = new Float64Array(K);
  const shapes: LowRankShape[] = [];
  const classMass = new Float64Array(m.classNames.length);
  const mean = new Float64Array(d);
  const r = new Float64Array(d);
  const proj = new Float64Array(mixtureRank(m));
  for (const [k, comp] of m.components.entries()) {
    const base = componentShape(comp);
    const nz = noised[k]!;
    const q = base.along.length;
    variances[k] = (base.iso * (1 - abar)) / nz.iso;
    shapes.push({ iso: variances[k]!, directions: base.directions, along: Array.from(base.along, (s, j) => (s * (1 - abar)) / nz.along[j]!) });
    const gain = (base.iso * a) / nz.iso;
    for (let i = 0; i < d; i++) r[i] = xt[i]! - a * comp.mean[i]!;
    projectOnto(base.directions, q, r, d, proj);
    const row = means.subarray(k * d, (k + 1) * d);
    for (let i = 0; i < d; i++) row[i] = comp.mean[i]! + gain * r[i]!;
    for (let j = 0; j < q; j++) {
      const f = ((base.along[j]! * a) / nz.along[j]! - gain) * proj[j]!;
      for (let i = 0; i < d; i++) row[i] = row[i]! + f * base.directions[j * d + i]!;
    }
    for (let i = 0; i < d; i++) mean[i] = mean[i]! + weights[k]! * row[i]!;
    classMass[comp.label] = classMass[comp.label]! + weights[k]!;
  }
  return { weights, means, variances, shapes, classMass, mean };
}

/**
 * The exact eps-prediction for a batch (rows of d values) at one abar: what the ONNX graph of
 * {@link epsilonOnnx} computes, in float64.
 */
export function exactEpsilon(m: GaussianMixture, abar: number, xt: ArrayLike<number>, rows: number, out = new Float64Array(rows * m.dim)): Float64Array {
  const K = m.components.length;
  const d = m.dim;
  const a = Math.sqrt(abar);
  const c = Math.sqrt(1 - abar);
  const w = new Float64Array(K);
  const noised = m.components.map((comp) => noisedShape(comp, abar));
  const row = new Float64Array(d);
  const r = new Float64Array(d);
  const proj = new Float64Array(mixtureRank(m));
  for (let b = 0; b < rows; b++) {
    for (let i = 0; i < d; i++) row[i] = xt[b * d + i]!;
    noisedLogWeights(m, abar, row, w, noised);
    softmaxInPlace(w);
    const e = out.subarray(b * d, (b + 1) * d);
    e.fill(0);
    for (let k = 0; k < K; k++) {
      const comp = m.components[k]!;
      const nz = noised[k]!;
      const q = nz.along.length;
      for (let i = 0; i < d; i++) r[i] = row[i]! - a * comp.mean[i]!;
      projectOnto(nz.directions, q, r, d, proj);
      const f0 = (c * w[k]!) / nz.iso;
      for (let i = 0; i < d; i++) e[i] = e[i]! + f0 * r[i]!;
      for (let j = 0; j < q; j++) {
        const f = c * w[k]! * (1 / nz.along[j]! - 1 / nz.iso) * proj[j]!;
        for (let i = 0; i < d; i++) e[i] = e[i]! + f * nz.directions[j * d + i]!;
      }
    }
  }
  return out;
}

/** Exact samples of p(x0 | x_t) (n x d), reproducible from (seed, stream): the reference the chains are judged by. */
export function samplePosterior(p: Posterior, dim: number, n: number, seed: number, stream = 0): Float64Array {
  const u = new Float64Array(n);
  uniformFill(u, noiseAddress({ seed, imageIndex: stream, drawIndex: 2, step: 0 }));
  const z = new Float64Array(n * dim);
  gaussianFill(z, noiseAddress({ seed, imageIndex: stream, drawIndex: 3, step: 0 }));
  const out = new Float64Array(n * dim);
  const K = p.weights.length;
  const proj = new Float64Array(Math.max(0, ...p.shapes.map((c) => c.along.length)));
  for (let s = 0; s < n; s++) {
    let k = 0;
    let acc = p.weights[0]!;
    while (u[s]! >= acc && k < K - 1) acc += p.weights[++k]!;
    sampleInto(p.shapes[k]!, p.means, k * dim, z.subarray(s * dim, (s + 1) * dim), dim, out, s * dim, proj);
  }
  return out;
}

/** CDF of the projection u . x0 under p(x0 | x_t) (u need not be unit length): a 1-D Gaussian mixture. */
export function projectedCdf(p: Posterior, dim: number, u: readonly number[]): (z: number) => number {
  const K = p.weights.length;
  const centres: number[] = [];
  const sds: number[] = [];
  for (let k = 0; k < K; k++) {
    let c = 0;
    for (let i = 0; i < dim; i++) c += u[i]! * p.means[k * dim + i]!;
    centres.push(c);
    sds.push(Math.sqrt(projectedVariance(p.shapes[k]!, u, dim)));
  }
  return (z) => {
    let f = 0;
    for (let k = 0; k < K; k++) f += p.weights[k]! * normalCdf((z - centres[k]!) / sds[k]!);
    return f;
  };
}

import { gaussianFill, noiseAddress, normalCdf, uniformFill } from '@densepure/core';
import { type GaussianMixture, softmaxInPlace } from './mixture.js';

/*
 * Closed forms for x_t = sqrt(abar) x0 + sqrt(1 - abar) eps with x0 from the mixture. Component k noised:
 * N(sqrt(abar) mu_k, v_k I), v_k = abar s_k^2 + 1 - abar. Given x_t and component k, x0 is Gaussian:
 *   tau_k^2 = s_k^2 (1 - abar) / v_k,   m_k = mu_k + s_k^2 sqrt(abar) (x_t - sqrt(abar) mu_k) / v_k,
 * and the component's posterior weight is w_k ∝ pi_k N(x_t; sqrt(abar) mu_k, v_k I). So p(x0 | x_t) is the
 * mixture sum_k w_k N(m_k, tau_k^2 I), its mean is Tweedie's E[x0 | x_t] = sum_k w_k m_k, and the exact
 * eps-prediction is eps(x_t) = -sqrt(1 - abar) grad log p_t(x_t) = sqrt(1 - abar) sum_k w_k (x_t - sqrt(abar) mu_k) / v_k.
 */

/** p(x0 | x_t) as a mixture: weights (sum 1), means (K x d row-major), per-component variances tau_k^2. */
export interface Posterior {
  readonly weights: Float64Array;
  readonly means: Float64Array;
  readonly variances: Float64Array;
  /** Per-class posterior mass sum_{k in class} w_k: what an exact K -> infinity DensePure vote converges to. */
  readonly classMass: Float64Array;
  /** E[x0 | x_t]: what the one-shot denoiser returns. */
  readonly mean: Float64Array;
}

/** Log posterior weights of the components at x_t (unnormalised, log weight + log density of the noised component). */
function noisedLogWeights(m: GaussianMixture, abar: number, xt: ArrayLike<number>, out: Float64Array): void {
  const d = m.dim;
  const a = Math.sqrt(abar);
  for (const [k, comp] of m.components.entries()) {
    const v = abar * comp.std * comp.std + 1 - abar;
    let sq = 0;
    for (let i = 0; i < d; i++) {
      const diff = xt[i]! - a * comp.mean[i]!;
      sq += diff * diff;
    }
    out[k] = Math.log(comp.weight) - 0.5 * d * Math.log(v) - sq / (2 * v);
  }
}

/** The closed-form posterior p(x0 | x_t) at noise level abar (float64). */
export function posterior(m: GaussianMixture, abar: number, xt: ArrayLike<number>): Posterior {
  const K = m.components.length;
  const d = m.dim;
  const weights = new Float64Array(K);
  noisedLogWeights(m, abar, xt, weights);
  softmaxInPlace(weights);
  const a = Math.sqrt(abar);
  const means = new Float64Array(K * d);
  const variances = new Float64Array(K);
  const classMass = new Float64Array(m.classNames.length);
  const mean = new Float64Array(d);
  for (const [k, comp] of m.components.entries()) {
    const s2 = comp.std * comp.std;
    const v = abar * s2 + 1 - abar;
    variances[k] = (s2 * (1 - abar)) / v;
    const gain = (s2 * a) / v;
    for (let i = 0; i < d; i++) {
      const mk = comp.mean[i]! + gain * (xt[i]! - a * comp.mean[i]!);
      means[k * d + i] = mk;
      mean[i] = mean[i]! + weights[k]! * mk;
    }
    classMass[comp.label] = classMass[comp.label]! + weights[k]!;
  }
  return { weights, means, variances, classMass, mean };
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
  const v = m.components.map((comp) => abar * comp.std * comp.std + 1 - abar);
  const row = new Float64Array(d);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < d; i++) row[i] = xt[r * d + i]!;
    noisedLogWeights(m, abar, row, w);
    softmaxInPlace(w);
    for (let i = 0; i < d; i++) {
      let e = 0;
      for (let k = 0; k < K; k++) e += (w[k]! * (row[i]! - a * m.components[k]!.mean[i]!)) / v[k]!;
      out[r * d + i] = c * e;
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
  for (let s = 0; s < n; s++) {
    let k = 0;
    let acc = p.weights[0]!;
    while (u[s]! >= acc && k < K - 1) acc += p.weights[++k]!;
    const sd = Math.sqrt(p.variances[k]!);
    for (let i = 0; i < dim; i++) out[s * dim + i] = p.means[k * dim + i]! + sd * z[s * dim + i]!;
  }
  return out;
}

/** CDF of the projection u . x0 under p(x0 | x_t) (u need not be unit length): a 1-D Gaussian mixture. */
export function projectedCdf(p: Posterior, dim: number, u: readonly number[]): (z: number) => number {
  const K = p.weights.length;
  let norm2 = 0;
  for (const ui of u) norm2 += ui * ui;
  const centres: number[] = [];
  const sds: number[] = [];
  for (let k = 0; k < K; k++) {
    let c = 0;
    for (let i = 0; i < dim; i++) c += u[i]! * p.means[k * dim + i]!;
    centres.push(c);
    sds.push(Math.sqrt(p.variances[k]! * norm2));
  }
  return (z) => {
    let f = 0;
    for (let k = 0; k < K; k++) f += p.weights[k]! * normalCdf((z - centres[k]!) / sds[k]!);
    return f;
  };
}

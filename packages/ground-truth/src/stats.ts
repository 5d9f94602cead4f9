import chisquareCdf from '@stdlib/stats-base-dists-chisquare-cdf';
import { logDensity, trace } from './gaussian.js';
import type { Posterior } from './posterior.js';
import { projectedCdf } from './posterior.js';

/*
 * Tests of "these n points are draws from p(x0 | x_t)" against the closed-form posterior, each with its null
 * distribution. They rest on one identity: with r_k(x) the posterior responsibility of component k at x,
 * E[r_k(X) f(X)] = w_k E_k[f(X)] when X ~ p(x0 | x_t). So, with no need to know which component drew a point,
 *   weights:   E[r(X)] = w                                  (K - 1 df Wald chi-square)
 *   means:     E[r_k(X) (X - m_k)] = 0                      (d df Wald chi-square per component)
 *   variances: E[r_k(X) (|X - m_k|^2 - tr C_k)] = 0          (1 df, a squared z, per component; C_k = d tau_k^2 I when isotropic)
 * and 1-D projections u.X have a closed-form CDF (one-sample Kolmogorov-Smirnov). A Wald statistic
 * n gbar' S^-1 gbar (S the sample covariance of g) is chi-square with dim(g) df under the null for large n;
 * under a bias it is noncentral with noncentrality n * lambda, lambda = gbar' S^-1 gbar per sample, which
 * is what {@link WaldResult.effectPerSample} estimates and what sizes a test to detect a bias.
 */

export interface WaldResult {
  readonly statistic: number;
  readonly df: number;
  readonly pValue: number;
  /** statistic / n: the estimated noncentrality per sample (0 under the null, up to noise of order df / n). */
  readonly effectPerSample: number;
  /** The sample mean of the moment function (the estimated bias). */
  readonly mean: readonly number[];
}

export interface KsResult {
  readonly direction: readonly number[];
  readonly statistic: number;
  readonly pValue: number;
}

export interface PosteriorCheck {
  readonly n: number;
  readonly weights: WaldResult;
  readonly means: readonly WaldResult[];
  readonly variances: readonly WaldResult[];
  readonly ks: readonly KsResult[];
  /** Sample responsibilities' means: the estimated component weights. */
  readonly estimatedWeights: readonly number[];
  /** Per component: estimated variance / closed-form variance (E[r_k |X - m_k|^2] / (w_k tr C_k)). */
  readonly varianceRatios: readonly number[];
  /** Smallest p-value over all tests and how many tests there were (for a Bonferroni threshold). */
  readonly minPValue: number;
  readonly tests: number;
}

/** Solves S y = b for a small symmetric positive definite S (Gaussian elimination with partial pivoting). */
function solve(S: number[][], b: number[]): number[] {
  const n = b.length;
  const a = S.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r]![c]!) > Math.abs(a[p]![c]!)) p = r;
    [a[c], a[p]] = [a[p]!, a[c]!];
    const piv = a[c]![c]!;
    if (!(Math.abs(piv) > 1e-300)) throw new RangeError('singular covariance in a Wald statistic: the moment function does not vary over the sample');
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = a[r]![c]! / piv;
      for (let k = c; k <= n; k++) a[r]![k] = a[r]![k]! - f * a[c]![k]!;
    }
  }
  return a.map((row, i) => row[n]! / row[i]!);
}

/** Wald test that the mean of the rows of g (n x q, row-major) is 0. */
export function waldTest(g: Float64Array, n: number, q: number): WaldResult {
  const mean = new Array<number>(q).fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < q; j++) mean[j] = mean[j]! + g[i * q + j]!;
  for (let j = 0; j < q; j++) mean[j] = mean[j]! / n;
  const S = Array.from({ length: q }, () => new Array<number>(q).fill(0));
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < q; a++) {
      const da = g[i * q + a]! - mean[a]!;
      for (let b = a; b < q; b++) S[a]![b] = S[a]![b]! + da * (g[i * q + b]! - mean[b]!);
    }
  }
  for (let a = 0; a < q; a++) for (let b = a; b < q; b++) S[b]![a] = S[a]![b] = S[a]![b]! / (n - 1);
  const y = solve(S, mean);
  let lambda = 0;
  for (let j = 0; j < q; j++) lambda += mean[j]! * y[j]!;
  const statistic = n * lambda;
  return { statistic, df: q, pValue: 1 - chisquareCdf(statistic, q), effectPerSample: lambda, mean };
}

/** Posterior responsibilities of each sample (n x K). */
export function responsibilities(post: Posterior, samples: ArrayLike<number>, n: number, dim: number): Float64Array {
  const K = post.weights.length;
  const out = new Float64Array(n * K);
  const logs = new Float64Array(K);
  const logW = Array.from(post.weights, (w) => Math.log(w));
  const scratch = { r: new Float64Array(dim), p: new Float64Array(Math.max(0, ...post.shapes.map((c) => c.along.length))) };
  for (let i = 0; i < n; i++) {
    const x = Float64Array.from({ length: dim }, (_, j) => samples[i * dim + j]!);
    let max = -Infinity;
    for (let k = 0; k < K; k++) {
      logs[k] = logW[k]! + logDensity(post.shapes[k]!, post.means, k * dim, x, dim, scratch);
      if (logs[k]! > max) max = logs[k]!;
    }
    let sum = 0;
    for (let k = 0; k < K; k++) sum += Math.exp(logs[k]! - max);
    for (let k = 0; k < K; k++) out[i * K + k] = Math.exp(logs[k]! - max) / sum;
  }
  return out;
}

/**
 * Runs every test of the header comment on n samples (n x dim). `directions` default: each coordinate axis and
 * the line through each pair of posterior component means.
 */
export function checkPosterior(post: Posterior, samples: ArrayLike<number>, n: number, dim: number, directions?: readonly (readonly number[])[]): PosteriorCheck {
  const K = post.weights.length;
  const r = responsibilities(post, samples, n, dim);
  const gW = new Float64Array(n * (K - 1));
  for (let i = 0; i < n; i++) for (let k = 0; k < K - 1; k++) gW[i * (K - 1) + k] = r[i * K + k]! - post.weights[k]!;
  const weights = K > 1 ? waldTest(gW, n, K - 1) : { statistic: 0, df: 0, pValue: 1, effectPerSample: 0, mean: [] };
  const means: WaldResult[] = [];
  const variances: WaldResult[] = [];
  const varianceRatios: number[] = [];
  const estimatedWeights: number[] = [];
  const gM = new Float64Array(n * dim);
  const gV = new Float64Array(n);
  for (let k = 0; k < K; k++) {
    const tr = trace(post.shapes[k]!, dim);
    let rs = 0;
    let rsq = 0;
    for (let i = 0; i < n; i++) {
      const rk = r[i * K + k]!;
      let sq = 0;
      for (let j = 0; j < dim; j++) {
        const diff = samples[i * dim + j]! - post.means[k * dim + j]!;
        gM[i * dim + j] = rk * diff;
        sq += diff * diff;
      }
      gV[i] = rk * (sq - tr);
      rs += rk;
      rsq += rk * sq;
    }
    estimatedWeights.push(rs / n);
    varianceRatios.push(rsq / n / (post.weights[k]! * tr));
    means.push(waldTest(gM, n, dim));
    variances.push(waldTest(gV, n, 1));
  }
  const dirs = directions ?? defaultDirections(post, dim);
  const ks: KsResult[] = dirs.map((u) => {
    const proj = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let z = 0;
      for (let j = 0; j < dim; j++) z += u[j]! * samples[i * dim + j]!;
      proj[i] = z;
    }
    const res = ksTest(proj, projectedCdf(post, dim, u));
    return { direction: u, ...res };
  });
  const all = [weights, ...means, ...variances, ...ks].map((t) => t.pValue);
  return { n, weights, means, variances, ks, estimatedWeights, varianceRatios, minPValue: Math.min(...all), tests: all.length };
}

/**
 * One-sample Kolmogorov-Smirnov test against a continuous CDF. The p-value is the Kolmogorov distribution's
 * tail at (sqrt(n) + 0.12 + 0.11 / sqrt(n)) D (Stephens' correction; accurate for n >= ~35, which is all we use):
 * exact p-values (Marsaglia-Tsang-Wang) cost O((nD)^3 log n) and take seconds at the sample sizes here.
 */
export function ksTest(values: Float64Array, cdf: (x: number) => number): { statistic: number; pValue: number } {
  const x = Float64Array.from(values).sort();
  const n = x.length;
  let D = 0;
  for (let i = 0; i < n; i++) {
    const f = cdf(x[i]!);
    D = Math.max(D, f - i / n, (i + 1) / n - f);
  }
  const sn = Math.sqrt(n);
  return { statistic: D, pValue: kolmogorovTail((sn + 0.12 + 0.11 / sn) * D) };
}

/** P(K > lambda) for the Kolmogorov distribution: 2 sum_{k>=1} (-1)^(k-1) exp(-2 k^2 lambda^2). */
export function kolmogorovTail(lambda: number): number {
  if (lambda < 0.2) return 1;
  let sum = 0;
  for (let k = 1; k <= 100; k++) {
    const term = Math.exp(-2 * k * k * lambda * lambda);
    sum += (k % 2 === 1 ? 1 : -1) * term;
    if (term < 1e-16) break;
  }
  return Math.min(1, Math.max(0, 2 * sum));
}

/** Coordinate axes and the (unit) lines through each pair of posterior component means. */
export function defaultDirections(post: Posterior, dim: number): number[][] {
  const K = post.weights.length;
  const dirs: number[][] = Array.from({ length: dim }, (_, j) => Array.from({ length: dim }, (_, i) => (i === j ? 1 : 0)));
  for (let a = 0; a < K; a++) {
    for (let b = a + 1; b < K; b++) {
      const u = Array.from({ length: dim }, (_, j) => post.means[b * dim + j]! - post.means[a * dim + j]!);
      const len = Math.hypot(...u);
      if (len > 1e-9) dirs.push(u.map((v) => v / len));
    }
  }
  return dirs;
}

/** P(X <= x) for a noncentral chi-square (Poisson mixture of central ones): the power of a Wald test. */
export function noncentralChisquareCdf(x: number, df: number, ncp: number): number {
  if (ncp === 0) return chisquareCdf(x, df);
  const half = ncp / 2;
  let sum = 0;
  let logPois = -half;
  const jMax = Math.ceil(half + 12 * Math.sqrt(half + 1) + 20);
  for (let j = 0; j <= jMax; j++) {
    if (j > 0) logPois += Math.log(half) - Math.log(j);
    sum += Math.exp(logPois) * chisquareCdf(x, df + 2 * j);
  }
  return sum;
}

/** Chi-square quantile by bisection on the stdlib CDF. */
export function chisquareQuantile(p: number, df: number): number {
  let lo = 0;
  let hi = Math.max(10, df * 10);
  while (chisquareCdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (chisquareCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Power of a level-alpha Wald test with `df` degrees of freedom when the true noncentrality is n * effectPerSample. */
export function waldPower(effectPerSample: number, n: number, df: number, alpha: number): number {
  return 1 - noncentralChisquareCdf(chisquareQuantile(1 - alpha, df), df, n * effectPerSample);
}

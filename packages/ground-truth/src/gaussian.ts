/*
 * A Gaussian whose covariance is isotropic except along a few orthonormal directions:
 *   Cov = iso (I - U'U) + U' diag(along) U,   U (q x d) with orthonormal rows u_j,
 * i.e. variance `along[j]` along u_j and `iso` in every direction orthogonal to them. Its inverse, determinant,
 * samples and 1-D projections are closed form and cost O(q d): what keeps a 784-d mixture's score exact and cheap
 * (Woodbury). Diffusion keeps the form: x_t = sqrt(abar) x0 + sqrt(1 - abar) eps has iso' = abar iso + 1 - abar and
 * along' = abar along + 1 - abar along the same directions.
 */

/** The shape of a covariance: `directions` q x d row-major (orthonormal rows), `along` its q variances. */
export interface LowRankShape {
  readonly iso: number;
  readonly directions: ArrayLike<number>;
  readonly along: ArrayLike<number>;
}

export const rankOf = (c: LowRankShape): number => c.along.length;

/** out[j] = u_j . r */
export function projectOnto(directions: ArrayLike<number>, q: number, r: ArrayLike<number>, d: number, out: Float64Array): Float64Array {
  for (let j = 0; j < q; j++) {
    let s = 0;
    const o = j * d;
    for (let i = 0; i < d; i++) s += directions[o + i]! * r[i]!;
    out[j] = s;
  }
  return out;
}

/** log det Cov. */
export function logDet(c: LowRankShape, d: number): number {
  const q = rankOf(c);
  let s = (d - q) * Math.log(c.iso);
  for (let j = 0; j < q; j++) s += Math.log(c.along[j]!);
  return s;
}

/** r' Cov^-1 r from |r|^2 and the projections p_j = u_j . r. */
export function quadForm(c: LowRankShape, sq: number, proj: ArrayLike<number>): number {
  let s = sq / c.iso;
  for (let j = 0; j < c.along.length; j++) s += proj[j]! * proj[j]! * (1 / c.along[j]! - 1 / c.iso);
  return s;
}

/** log N(r; 0, Cov) with the 2 pi term, for a residual r = x - mean; `proj` receives u_j . r. */
export function logDensityOfResidual(c: LowRankShape, r: ArrayLike<number>, d: number, proj: Float64Array): number {
  let sq = 0;
  for (let i = 0; i < d; i++) sq += r[i]! * r[i]!;
  projectOnto(c.directions, rankOf(c), r, d, proj);
  return -0.5 * (d * Math.log(2 * Math.PI) + logDet(c, d) + quadForm(c, sq, proj));
}

/** log N(x; mean, Cov) with the 2 pi term (mean read from `meanOffset`). */
export function logDensity(c: LowRankShape, mean: ArrayLike<number>, meanOffset: number, x: ArrayLike<number>, d: number, scratch: { r: Float64Array; p: Float64Array }): number {
  for (let i = 0; i < d; i++) scratch.r[i] = x[i]! - mean[meanOffset + i]!;
  return logDensityOfResidual(c, scratch.r, d, scratch.p);
}

/** out = mean + Cov^(1/2) z for a standard normal z (d values). */
export function sampleInto(c: LowRankShape, mean: ArrayLike<number>, meanOffset: number, z: ArrayLike<number>, d: number, out: Float64Array, outOffset: number, proj: Float64Array): void {
  const q = rankOf(c);
  const s = Math.sqrt(c.iso);
  for (let i = 0; i < d; i++) out[outOffset + i] = mean[meanOffset + i]! + s * z[i]!;
  projectOnto(c.directions, q, z, d, proj);
  for (let j = 0; j < q; j++) {
    const f = (Math.sqrt(c.along[j]!) - s) * proj[j]!;
    if (f === 0) continue;
    const o = j * d;
    for (let i = 0; i < d; i++) out[outOffset + i] = out[outOffset + i]! + f * c.directions[o + i]!;
  }
}

/** u' Cov u. */
export function projectedVariance(c: LowRankShape, u: ArrayLike<number>, d: number): number {
  let norm2 = 0;
  for (let i = 0; i < d; i++) norm2 += u[i]! * u[i]!;
  const q = rankOf(c);
  const p = projectOnto(c.directions, q, u, d, new Float64Array(q));
  let v = c.iso * norm2;
  for (let j = 0; j < q; j++) v += (c.along[j]! - c.iso) * p[j]! * p[j]!;
  return v;
}

/** trace Cov. */
export function trace(c: LowRankShape, d: number): number {
  let t = c.iso * d;
  for (let j = 0; j < c.along.length; j++) t += c.along[j]! - c.iso;
  return t;
}

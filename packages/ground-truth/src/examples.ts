import { either as E } from 'fp-ts';
import { type GaussianMixture, type MixtureSpec, makeMixture } from './mixture.js';

const build = (spec: MixtureSpec): GaussianMixture => {
  const m = makeMixture(spec);
  if (E.isLeft(m)) throw new Error(m.left.message);
  return m.right;
};

/**
 * A 4-D mixture (laid out [4, 1, 1]) for checking the reverse process: three components of different weights and
 * spreads, two classes (class 'a' owns two components). Every mean +- 5 std lies inside [-1, 1], and the posterior
 * mean of x0 stays within the components' spread, so the pipeline's clipping of x0 to [-1, 1] does not matter.
 */
export const checkMixture: GaussianMixture = build({
  shape: [4, 1, 1],
  classNames: ['a', 'b'],
  components: [
    { weight: 0.5, mean: [-0.4, 0.2, 0, 0.1], std: 0.1, label: 0 },
    { weight: 0.3, mean: [0.4, -0.2, 0.1, 0], std: 0.15, label: 1 },
    { weight: 0.2, mean: [0, 0.4, -0.3, -0.2], std: 0.08, label: 0 },
  ],
});

/**
 * The 2-D plane of the theory study (laid out [2, 1, 1], model units): class 'ring' owns two heavy components
 * left and right, class 'centre' a light narrow one between them, class 'top' a broad one above. At a large
 * noise a point of 'ring' has a posterior split between the two 'ring' modes: its mean falls between them, in
 * 'centre's region, while most of its mass (what the vote recovers) is 'ring'.
 */
export const theoryMixture: GaussianMixture = build({
  shape: [2, 1, 1],
  classNames: ['ring', 'centre', 'top'],
  components: [
    { weight: 0.3, mean: [-0.5, -0.2], std: 0.1, label: 0 },
    { weight: 0.3, mean: [0.5, -0.2], std: 0.1, label: 0 },
    { weight: 0.15, mean: [0, -0.2], std: 0.07, label: 1 },
    { weight: 0.25, mean: [0, 0.5], std: 0.15, label: 2 },
  ],
});

/** Orthonormal rows (Gram-Schmidt) from a deterministic pseudo-random start: directions for {@link lowRankMixture}. */
function orthonormalRows(q: number, d: number, seed: number): number[] {
  const rows: number[][] = [];
  let s = seed;
  const next = (): number => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648 - 0.5;
  };
  for (let j = 0; j < q; j++) {
    const v = Array.from({ length: d }, next);
    for (const r of rows) {
      const dot = r.reduce((acc, ri, i) => acc + ri * v[i]!, 0);
      for (let i = 0; i < d; i++) v[i] = v[i]! - dot * r[i]!;
    }
    const len = Math.hypot(...v);
    rows.push(v.map((x) => x / len));
  }
  return rows.flat();
}

/**
 * A 16-D mixture (laid out [1, 4, 4]) with low-rank-plus-isotropic covariances of different ranks (2, 3 and an
 * isotropic one, so the ONNX graph pads), three classes: the checks of the low-rank closed forms and graphs.
 */
export const lowRankMixture: GaussianMixture = build({
  shape: [1, 4, 4],
  classNames: ['a', 'b', 'c'],
  components: [
    { weight: 0.4, mean: Array.from({ length: 16 }, (_, i) => 0.3 * Math.sin(i)), std: 0.05, label: 0, directions: orthonormalRows(2, 16, 1), directionVariances: [0.04, 0.01] },
    { weight: 0.35, mean: Array.from({ length: 16 }, (_, i) => 0.3 * Math.cos(i)), std: 0.08, label: 1, directions: orthonormalRows(3, 16, 2), directionVariances: [0.09, 0.02, 0.001] },
    { weight: 0.25, mean: Array.from({ length: 16 }, (_, i) => (i % 4) * 0.1 - 0.15), std: 0.1, label: 2 },
  ],
});

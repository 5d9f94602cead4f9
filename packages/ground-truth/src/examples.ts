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

import { either as E } from 'fp-ts';
import type { BackendError } from '@densepure/backend';
import type { ImageClassifier } from '@densepure/classifiers';
import { type Sampler, argmax, gaussianFill, noiseAddress, sigmaToTimestep, toModelScale } from '@densepure/core';
import type { GaussianMixture } from './mixture.js';
import { posterior, posteriorClassMass, samplePosterior } from './posterior.js';

/*
 * DensePure's vote with the reverse chain replaced by exact posterior samples, on the noise draws the runner uses
 * (seed, image index, draw index, step 'smoothing'), so its certificates pair draw for draw with a certify run's.
 */

/** Where a draw's smoothing noise takes x: x_t* in model units (a fresh array). */
function noisedAt(image: Float32Array, sigma: number, scale: number, seed: number, imageIndex: number, drawIndex: number): Float32Array {
  const noise = new Float32Array(image.length);
  gaussianFill(noise, noiseAddress({ seed, imageIndex, drawIndex, step: 'smoothing' }));
  const xt = new Float32Array(image.length);
  toModelScale(image, sigma, noise, scale, xt);
  return xt;
}

/**
 * The K -> infinity vote of an oracle that labels a posterior sample with the class of the component that drew it:
 * argmax of the posterior class mass at x_t*. With a classifier that is right on clean samples (the mixture's Bayes
 * classifier when classes barely overlap), this is the limit of DensePure's vote with exact posterior samples.
 */
export function classMassSampler(m: GaussianMixture, alphasCumprod: ArrayLike<number>, seed: number, sigma: number, image: Float32Array, imageIndex: number): Sampler {
  const { t, scale } = sigmaToTimestep(sigma, alphasCumprod);
  return async ({ firstDraw, count }) => {
    const counts = new Int32Array(m.classNames.length);
    for (let i = 0; i < count; i++) {
      const label = argmax(posteriorClassMass(m, alphasCumprod[t]!, noisedAt(image, sigma, scale, seed, imageIndex, firstDraw + i)));
      counts[label] = counts[label]! + 1;
    }
    return E.right(counts);
  };
}

/** RNG stream of the exact posterior samples of (image, draw): disjoint from the mixture's and the chains' addresses. */
const posteriorStream = (imageIndex: number, drawIndex: number): number => 0x40000000 + imageIndex * 0x10000 + (drawIndex % 0x10000);

/**
 * DensePure's vote over K exact posterior samples per draw: each sample x0 ~ p(x0 | x_t*) is mapped to pixels
 * clip((x0 + 1) / 2, 0, 1) as the pipeline maps its chains' output, classified, and the draw counts for the
 * majority (ties: the smallest label, voting's rule). Separates "the chain is not exact" from "K is finite".
 */
export function posteriorVoteSampler(
  m: GaussianMixture,
  alphasCumprod: ArrayLike<number>,
  seed: number,
  sigma: number,
  image: Float32Array,
  imageIndex: number,
  K: number,
  classifier: ImageClassifier,
): Sampler<BackendError> {
  const { t, scale } = sigmaToTimestep(sigma, alphasCumprod);
  const d = m.dim;
  const classes = m.classNames.length;
  return async ({ firstDraw, count }) => {
    const counts = new Int32Array(classes);
    const pixels = new Float32Array(count * K * d);
    for (let i = 0; i < count; i++) {
      const draw = firstDraw + i;
      const post = posterior(m, alphasCumprod[t]!, noisedAt(image, sigma, scale, seed, imageIndex, draw));
      const x0 = samplePosterior(post, d, K, seed, posteriorStream(imageIndex, draw));
      for (let j = 0; j < K * d; j++) pixels[i * K * d + j] = Math.min(1, Math.max(0, (x0[j]! + 1) / 2));
    }
    const labels = await classifier.labels(pixels, count * K)();
    if (E.isLeft(labels)) return labels;
    for (let i = 0; i < count; i++) {
      const votes = new Int32Array(classes);
      for (let k = 0; k < K; k++) votes[labels.right[i * K + k]!] = votes[labels.right[i * K + k]!]! + 1;
      const label = argmax(votes);
      counts[label] = counts[label]! + 1;
    }
    return E.right(counts);
  };
}

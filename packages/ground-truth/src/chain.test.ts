// The project's reverse process against the closed-form posterior, on the exact eps model run by the onnx backend.
// Sizes and expectations come from experiments/reports/gmm-chains (measure-chains.ts, n = 65536 per cell): there the
// full chain with fixed-large variance shows no bias, the full chain with fixed-small under-disperses (variance
// ratio 0.92-0.95, detectable at level 0.001 from n ~ 5,000-7,000 samples), and respaced chains of 10-20 steps are off
// by far more. So n = 16384 checks the full chain at a size where a bias as large as fixed-small's is detected (the
// second test shows it is), and the family of tests keeps its null level (Bonferroni over all of them).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { either as E } from 'fp-ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Classifier, type Denoiser, loadClassifier, loadDenoiser } from '@densepure/backend';
import '@densepure/backend-onnx';
import { wrapClassifier } from '@densepure/classifiers';
import { diffusionConstants, fromModelScale, gaussianFill, linearBetaSchedule, noiseAddress, planReverse, sigmaToTimestep, toModelScale } from '@densepure/core';
import { makeBaseClassifier } from '@densepure/voting';
import { measureChain, multimodalStart } from './chain-error.js';
import { denoiserEps, sampleReverseChain } from './chain.js';
import { checkMixture, theoryMixture } from './examples.js';
import { type ScheduleSpec, writeGroundTruthModels } from './onnx-models.js';
import { samplePosterior } from './posterior.js';
import { checkPosterior } from './stats.js';

const FAMILY_ALPHA = 0.001;
const N = 16384;
const schedule: ScheduleSpec = { schedule: 'linear', T: 1000 };

const unwrap = <A>(r: E.Either<{ message: string }, A>): A => {
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};

describe('reverse chains against the closed-form posterior p(x0 | x_t*)', () => {
  let dir = '';
  let denoiser: Denoiser;
  const start = multimodalStart(checkMixture, schedule, 0.25);
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'densepure-gmm-chain-'));
    const paths = await writeGroundTruthModels(dir, checkMixture, schedule);
    denoiser = unwrap(await loadDenoiser(paths.denoiser, { backend: 'onnx' })());
  });
  afterAll(async () => {
    await denoiser.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('the start state is multimodal (every posterior weight >= 0.2)', () => {
    expect(start.tStar).toBe(144);
    expect(Math.min(...start.posterior.weights)).toBeGreaterThan(0.2);
  });

  it('the tests keep their level on exact posterior samples', () => {
    const c = checkPosterior(start.posterior, samplePosterior(start.posterior, checkMixture.dim, N, 1), N, checkMixture.dim);
    expect(c.minPValue).toBeGreaterThan(FAMILY_ALPHA / c.tests);
  });

  it('the full chain (t* + 1 steps, fixed-large variance) matches the posterior: weights, means, variances, projections', async () => {
    const { check } = await measureChain(checkMixture, schedule, denoiserEps(denoiser), start, { kind: 'full' }, 'fixed-large', N, 5);
    // 1 weights + 3 means + 3 variances + 7 projections (4 axes, 3 lines between means).
    expect(check.tests).toBe(14);
    expect(check.minPValue, JSON.stringify({ weights: check.estimatedWeights, truth: [...start.posterior.weights], varianceRatios: check.varianceRatios })).toBeGreaterThan(FAMILY_ALPHA / check.tests);
    for (const [k, w] of start.posterior.weights.entries()) expect(Math.abs(check.estimatedWeights[k]! - w)).toBeLessThan(0.02);
  });

  it('at the same n the tests detect the measured biases: full chain with fixed-small, 10 respaced steps', async () => {
    const small = await measureChain(checkMixture, schedule, denoiserEps(denoiser), start, { kind: 'full' }, 'fixed-small', N, 5);
    expect(small.check.minPValue).toBeLessThan(FAMILY_ALPHA / small.check.tests);
    // The bias is under-dispersion: every component's variance ratio is below 1.
    expect(Math.max(...small.check.varianceRatios)).toBeLessThan(1);
    const b10 = await measureChain(checkMixture, schedule, denoiserEps(denoiser), start, { kind: 'respaced', steps: 10 }, 'fixed-large', N, 5);
    expect(b10.check.minPValue).toBeLessThan(FAMILY_ALPHA / b10.check.tests);
  });
});

describe("the chain driver runs voting's DensePure chains", () => {
  let dir = '';
  let denoiser: Denoiser;
  let classifier: Classifier;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'densepure-gmm-vote-'));
    const paths = await writeGroundTruthModels(dir, theoryMixture, schedule);
    denoiser = unwrap(await loadDenoiser(paths.denoiser, { backend: 'onnx' })());
    classifier = unwrap(await loadClassifier(paths.classifier, { backend: 'onnx' })());
  });
  afterAll(async () => {
    await denoiser.dispose();
    await classifier.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('vote r of a draw is sample r of sampleReverseChain from the same x_t*', async () => {
    const sigma = 0.25;
    const seed = 9;
    const imageIndex = 4;
    const image = Float32Array.from([0.35, 0.4]);
    const votes = 3;
    const wrapped = unwrap(wrapClassifier(classifier, [2, 1, 1]));
    const dp = unwrap(makeBaseClassifier(denoiser, wrapped, { sigma, seed, batchSize: 16, method: { kind: 'densepure', votes, steps: 'full' } }));
    const constants = diffusionConstants(linearBetaSchedule(schedule.T));
    const { t, scale } = sigmaToTimestep(sigma, constants.alphasCumprod);
    const noise = new Float32Array(2);
    gaussianFill(noise, noiseAddress({ seed, imageIndex, drawIndex: 0, step: 'smoothing' }));
    const xt = new Float32Array(2);
    toModelScale(image, sigma, noise, scale, xt);
    const ours = unwrap(await sampleReverseChain(denoiserEps(denoiser), planReverse(constants, t, { kind: 'full' }), xt, votes, { seed, imageIndex, drawIndex: 0, variance: 'fixed-large' })());
    fromModelScale(ours, ours);
    for (let v = 0; v < votes; v++) {
      const { purified } = unwrap(await dp.purify(image, imageIndex, { firstDraw: 0, count: 1 }, v));
      expect(Math.abs(purified[0]! - ours[v * 2]!) + Math.abs(purified[1]! - ours[v * 2 + 1]!)).toBeLessThan(1e-6);
    }
  });
});

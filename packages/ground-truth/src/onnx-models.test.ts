import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { either as E } from 'fp-ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Classifier, type Denoiser, loadClassifier, loadDenoiser } from '@densepure/backend';
import '@densepure/backend-onnx';
import '@densepure/backend-tfjs';
import { wrapClassifier } from '@densepure/classifiers';
import { diffusionConstants, gaussianFill, linearBetaSchedule, noiseAddress, planReverse, reverseStep, sigmaToTimestep, toModelScale } from '@densepure/core';
import { makeBaseClassifier } from '@densepure/voting';
import { checkMixture, lowRankMixture, theoryMixture } from './examples.js';
import { argmax, bayesLabel, classPosterior, makeMixture, sampleMixture } from './mixture.js';
import { type ScheduleSpec, scheduleAlphasCumprod, writeGroundTruthModels } from './onnx-models.js';
import { exactEpsilon, posterior } from './posterior.js';

const unwrap = <A>(r: E.Either<{ message: string }, A>): A => {
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};

describe('makeMixture', () => {
  it('normalises weights and names what is wrong', () => {
    const ok = unwrap(makeMixture({ shape: [2, 1, 1], classNames: ['a', 'b'], components: [{ weight: 2, mean: [0, 0], std: 0.1, label: 0 }, { weight: 6, mean: [1, 0], std: 0.1, label: 1 }] }));
    expect(ok.components.map((c) => c.weight)).toEqual([0.25, 0.75]);
    const bad = (spec: Parameters<typeof makeMixture>[0]): string => {
      const r = makeMixture(spec);
      return E.isLeft(r) ? `${r.left.kind}: ${r.left.message}` : 'accepted';
    };
    expect(bad({ shape: [2, 1, 1], classNames: ['a', 'b'], components: [{ weight: 1, mean: [0], std: 0.1, label: 0 }] })).toMatch(/invalid-mixture: component 0: mean has 1 values/);
    expect(bad({ shape: [2, 1, 1], classNames: ['a', 'b'], components: [{ weight: 1, mean: [0, 0], std: 0.1, label: 0 }] })).toMatch(/class 1 \(b\) has no component/);
    expect(bad({ shape: [1, 1, 2], classNames: ['a', 'b'], components: [] })).toMatch(/H must equal W/);
    expect(bad({ shape: [2, 1, 1], classNames: ['a', 'b'], components: [{ weight: 1, mean: [0, 0], std: 0, label: 0 }] })).toMatch(/std must be a positive number/);
  });
});

describe.each([
  ['isotropic', checkMixture, 'linear'],
  ['isotropic', checkMixture, 'cosine'],
  ['low-rank', lowRankMixture, 'linear'],
  ['low-rank', lowRankMixture, 'cosine'],
] as const)('exact eps ONNX model of the %s mixture (%s schedule) on both backends', (_kind, mixture, scheduleName) => {
  const schedule: ScheduleSpec = { schedule: scheduleName, T: 1000 };
  let dir = '';
  const loaded: { backend: string; denoiser: Denoiser; classifier: Classifier }[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'densepure-gmm-'));
    const paths = await writeGroundTruthModels(dir, mixture, schedule);
    for (const backend of ['onnx', 'tfjs']) {
      const denoiser = unwrap(await loadDenoiser(paths.denoiser, { backend })());
      const classifier = unwrap(await loadClassifier(paths.classifier, { backend })());
      loaded.push({ backend, denoiser, classifier });
    }
  });
  afterAll(async () => {
    for (const l of loaded) {
      await l.denoiser.dispose();
      await l.classifier.dispose();
    }
    await rm(dir, { recursive: true, force: true });
  });

  // Random points x_t = sqrt(abar) x0 + sqrt(1 - abar) z at random timesteps, x0 from the mixture.
  const ac = scheduleAlphasCumprod(schedule);
  const rows = 256;
  const d = mixture.dim;
  const x0 = sampleMixture(mixture, rows, 7).points;
  const z = new Float64Array(rows * d);
  gaussianFill(z, noiseAddress({ seed: 7, imageIndex: 9, drawIndex: 0, step: 0 }));
  const timesteps = Array.from({ length: rows }, (_, i) => (i * 997) % schedule.T);
  const xt = new Float32Array(rows * d);
  for (let i = 0; i < rows; i++) {
    const a = ac[timesteps[i]!]!;
    for (let j = 0; j < d; j++) xt[i * d + j] = Math.sqrt(a) * x0[i * d + j]! + Math.sqrt(1 - a) * z[i * d + j]!;
  }

  it('the eps graph equals the closed form at random points and timesteps (float32 tolerance)', async () => {
    for (const { backend, denoiser } of loaded) {
      expect(denoiser.metadata.learnedVariance).toBe(false);
      const out = unwrap(await denoiser.run(xt, timesteps)());
      let worst = 0;
      for (let i = 0; i < rows; i++) {
        const exact = exactEpsilon(mixture, ac[timesteps[i]!]!, xt.subarray(i * d, (i + 1) * d), 1);
        for (let j = 0; j < d; j++) worst = Math.max(worst, Math.abs(out.eps[i * d + j]! - exact[j]!) / (1 + Math.abs(exact[j]!)));
      }
      expect(worst, `${backend}: worst relative difference`).toBeLessThan(5e-6); // measured: <= 2.3e-7 relative (256 points, each mixture, schedule and backend)
    }
  });

  it('the classifier graph is the Bayes classifier of the clean mixture', async () => {
    const pts = sampleMixture(mixture, rows, 8).points;
    // Spread the points out too, so every class and the boundary regions are hit.
    const x = Float32Array.from(pts, (v, i) => v * (1 + (i % 3) * 0.5));
    const classes = mixture.classNames.length;
    let worst = 0;
    for (const { backend, classifier } of loaded) {
      const logits = unwrap(await classifier.run(x, rows)());
      for (let i = 0; i < rows; i++) {
        const row = logits.subarray(i * classes, (i + 1) * classes);
        const point = x.subarray(i * d, (i + 1) * d);
        expect(argmax(row), `${backend} point ${i}`).toBe(bayesLabel(mixture, point));
        const exact = classPosterior(mixture, point);
        for (let c = 0; c < classes; c++) if (exact[c]! > 1e-3) worst = Math.max(worst, Math.abs(Math.exp(row[c]!) - exact[c]!));
      }
    }
    expect(worst, 'largest difference of a class probability above 1e-3').toBeLessThan(1e-4);
  });
});

describe('one-shot denoising equals the closed-form posterior mean', () => {
  let dir = '';
  let denoiser: Denoiser;
  let classifier: Classifier;
  const schedule: ScheduleSpec = { schedule: 'linear', T: 1000 };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'densepure-gmm-'));
    const paths = await writeGroundTruthModels(dir, theoryMixture, schedule);
    denoiser = unwrap(await loadDenoiser(paths.denoiser, { backend: 'onnx' })());
    classifier = unwrap(await loadClassifier(paths.classifier, { backend: 'onnx' })());
  });
  afterAll(async () => {
    await denoiser.dispose();
    await classifier.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it("voting's DDS purification returns (E[x0 | x_t*] + 1) / 2 for every draw", async () => {
    const sigma = 0.25;
    const seed = 3;
    const constants = diffusionConstants(linearBetaSchedule(schedule.T));
    const { t, scale } = sigmaToTimestep(sigma, constants.alphasCumprod);
    const plan = planReverse(constants, t, { kind: 'one-shot' });
    const wrapped = unwrap(wrapClassifier(classifier, [2, 1, 1]));
    const dds = unwrap(makeBaseClassifier(denoiser, wrapped, { sigma, seed, batchSize: 64, method: { kind: 'dds' } }));
    const image = Float32Array.from([0.3, 0.45]);
    const draws = 200;
    const { purified } = unwrap(await dds.purify(image, 5, { firstDraw: 0, count: draws }));
    let worstPipeline = 0;
    let worstStep = 0;
    for (let i = 0; i < draws; i++) {
      const noise = new Float32Array(2);
      gaussianFill(noise, noiseAddress({ seed, imageIndex: 5, drawIndex: i, step: 'smoothing' }));
      const xt = new Float32Array(2);
      toModelScale(image, sigma, noise, scale, xt);
      const mean = posterior(theoryMixture, constants.alphasCumprod[t]!, xt).mean;
      // The project's one-shot step on the ONNX eps, and the whole pipeline (voting's DDS), both against Tweedie's mean.
      const eps = unwrap(await denoiser.run(xt, [t])());
      const x0 = new Float32Array(2);
      reverseStep(plan, 0, xt, eps.eps, null, null, x0, { variance: 'fixed-large' });
      for (let j = 0; j < 2; j++) {
        worstStep = Math.max(worstStep, Math.abs(x0[j]! - mean[j]!));
        worstPipeline = Math.max(worstPipeline, Math.abs(purified[i * 2 + j]! - (mean[j]! + 1) / 2));
      }
    }
    expect(worstStep).toBeLessThan(1e-5);
    expect(worstPipeline).toBeLessThan(1e-5);
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { either as E } from 'fp-ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Classifier, type Denoiser, loadClassifier, loadDenoiser, runtimeFailure } from '@densepure/backend';
import { writeTinyModels } from '@densepure/backend/testing';
import '@densepure/backend-onnx';
import { type ImageClassifier, wrapClassifier } from '@densepure/classifiers';
import {
  diffusionConstants,
  fromModelScale,
  gaussianFill,
  linearBetaSchedule,
  noiseAddress,
  planReverse,
  reverseStep,
  sigmaToTimestep,
  toModelScale,
} from '@densepure/core';
import { type Method, makeBaseClassifier, makeMethodGroup, majorityVote, voteHistogram } from './index.js';

/** The Right of an awaited Either; a Left (a model call that failed) fails the test with its message. */
const must = async <A>(result: Promise<E.Either<{ readonly message: string }, A>>): Promise<A> => {
  const r = await result;
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};

describe('majorityVote', () => {
  it('picks the most frequent label, ties to the smallest', () => {
    expect(majorityVote([2, 2, 1], 3)).toBe(2);
    expect(majorityVote([2, 1, 1, 2], 3)).toBe(1);
    expect(majorityVote([0], 3)).toBe(0);
  });
  it('histogram counts and rejects labels out of range', () => {
    expect(Array.from(voteHistogram([0, 2, 2], 3))).toEqual([1, 0, 2]);
    expect(() => voteHistogram([3], 3)).toThrow(/outside/);
  });
});

describe('base classifier on tiny onnx models', () => {
  let dir = '';
  let denoiser: Denoiser;
  let classifier: Classifier;
  let wrapped: ImageClassifier;
  const image = Float32Array.from({ length: 16 }, (_, i) => (i % 5) / 4);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'densepure-voting-'));
    const paths = await writeTinyModels(dir);
    const d = await loadDenoiser(paths.denoiser, { backend: 'onnx' })();
    const c = await loadClassifier(paths.classifier, { backend: 'onnx' })();
    if (E.isLeft(d) || E.isLeft(c)) throw new Error('tiny models failed to load');
    denoiser = d.right;
    classifier = c.right;
    const w = wrapClassifier(classifier, [1, 4, 4]);
    if (E.isLeft(w)) throw new Error(w.left.message);
    wrapped = w.right;
  });
  afterAll(async () => {
    await denoiser.dispose();
    await classifier.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  const methods: Method[] = [
    { kind: 'smoothing' },
    { kind: 'dds' },
    { kind: 'densepure', votes: 3, steps: 4 },
    { kind: 'densepure', votes: 2, steps: 'full' },
  ];

  for (const method of methods) {
    it(`${JSON.stringify(method)}: counts do not depend on batch size or concurrency`, async () => {
      const sigma = method.kind === 'densepure' && method.steps === 'full' ? 0.05 : 0.5;
      const run = async (batchSize: number, concurrency: number, split: number[]) => {
        const base = makeBaseClassifier(method.kind === 'smoothing' ? null : denoiser, wrapped, { sigma, seed: 7, method, batchSize, concurrency });
        if (E.isLeft(base)) throw new Error(base.left.message);
        const sampler = base.right.sampler(image, 3);
        const total = new Array(3).fill(0);
        let first = 0;
        for (const count of split) {
          const counts = await must(sampler({ firstDraw: first, count }));
          Array.from(counts).forEach((v, i) => (total[i] += v));
          first += count;
        }
        return total;
      };
      const a = await run(1, 1, [12]);
      const b = await run(5, 3, [4, 8]);
      const c = await run(64, 2, [1, 1, 10]);
      expect(a.reduce((s, v) => s + v, 0)).toBe(12);
      expect(b).toEqual(a);
      expect(c).toEqual(a);
    }, 60_000);
  }

  it('smoothing counts equal classifying x + sigma * noise from the addressed RNG', async () => {
    const base = makeBaseClassifier(null, wrapped, { sigma: 0.25, seed: 11, method: { kind: 'smoothing' }, batchSize: 4 });
    if (E.isLeft(base)) throw new Error(base.left.message);
    const counts = await must(base.right.sampler(image, 5)({ firstDraw: 10, count: 6 }));
    const expected = [0, 0, 0];
    const noise = new Float32Array(16);
    for (let d = 10; d < 16; d++) {
      gaussianFill(noise, noiseAddress({ seed: 11, imageIndex: 5, drawIndex: d, step: 'smoothing' }));
      const x = image.map((v, i) => v + 0.25 * noise[i]!);
      const r = await wrapped.labels(x, 1)();
      if (E.isLeft(r)) throw new Error(r.left.message);
      expected[r.right[0]!] = expected[r.right[0]!]! + 1;
    }
    expect(Array.from(counts)).toEqual(expected);
  });

  it('dds purifies with the one-shot x0 formula (tiny denoiser: eps = x/2)', async () => {
    const sigma = 0.3;
    const base = makeBaseClassifier(denoiser, wrapped, { sigma, seed: 1, method: { kind: 'dds' }, batchSize: 8 });
    if (E.isLeft(base)) throw new Error(base.left.message);
    const { t, scale } = sigmaToTimestep(sigma, diffusionConstants(linearBetaSchedule(1000)).alphasCumprod);
    expect(base.right.tStar).toBe(t);
    expect(base.right.denoiserEvalsPerDraw).toBe(1);
    const r = await base.right.purify(image, 2, { firstDraw: 0, count: 1 });
    if (E.isLeft(r)) throw new Error(r.left.message);
    const noise = new Float32Array(16);
    gaussianFill(noise, noiseAddress({ seed: 1, imageIndex: 2, drawIndex: 0, step: 'smoothing' }));
    const abar = scale * scale;
    for (let i = 0; i < 16; i++) {
      const xt = scale * (2 * image[i]! - 1 + 2 * sigma * noise[i]!);
      const x0 = Math.min(1, Math.max(-1, xt / scale - Math.sqrt(1 / abar - 1) * 0.5 * xt));
      expect(r.right.purified[i]).toBeCloseTo((x0 + 1) / 2, 5);
    }
  });

  it('a DensePure vote is the reverse chain run on its own: t* call shared, per-vote noise after it', async () => {
    // Reference: every vote runs its whole chain alone (its own model call at t*), with core's functions.
    const sigma = 0.4;
    const method: Method = { kind: 'densepure', votes: 3, steps: 3, spacing: 'densepure' };
    const base = makeBaseClassifier(denoiser, wrapped, { sigma, seed: 5, method, batchSize: 4 });
    if (E.isLeft(base)) throw new Error(base.left.message);
    expect(base.right.denoiserEvalsPerDraw).toBe(1 + 3 * 2);
    const constants = diffusionConstants(linearBetaSchedule(1000));
    const { t, scale } = sigmaToTimestep(sigma, constants.alphasCumprod);
    const plan = planReverse(constants, t, { kind: 'respaced', steps: 3, spacing: 'densepure' });
    for (const vote of [0, 2]) {
      const got = await base.right.purify(image, 4, { firstDraw: 6, count: 2 }, vote);
      if (E.isLeft(got)) throw new Error(got.left.message);
      for (let d = 6; d < 8; d++) {
        const noise = new Float32Array(16);
        gaussianFill(noise, noiseAddress({ seed: 5, imageIndex: 4, drawIndex: d, step: 'smoothing' }));
        let x = new Float32Array(16);
        toModelScale(image, sigma, noise, scale, x);
        for (let s = 0; s < plan.steps.length; s++) {
          const out = await denoiser.run(x, [plan.steps[s]!.modelTimestep])();
          if (E.isLeft(out)) throw new Error(out.left.message);
          const stepNoise = new Float32Array(16);
          gaussianFill(stepNoise, noiseAddress({ seed: 5, imageIndex: 4, drawIndex: d, voteIndex: vote, step: s }));
          const next = new Float32Array(16);
          reverseStep(plan, s, x, out.right.eps, out.right.v, plan.steps[s]!.addsNoise ? stepNoise : null, next, { variance: 'learned-range' });
          x = next;
        }
        fromModelScale(x, x);
        const row = got.right.purified.subarray((d - 6) * 16, (d - 5) * 16);
        for (let i = 0; i < 16; i++) expect(row[i]).toBeCloseTo(x[i]!, 5);
      }
    }
  });

  it('a method group gives each member the counts it has alone, for one denoiser call at t* per draw', async () => {
    const methods: Method[] = [
      { kind: 'smoothing' },
      { kind: 'densepure', votes: 3, steps: 3 },
      { kind: 'dds' },
      { kind: 'densepure', votes: 1, steps: 3 },
      { kind: 'densepure', votes: 2, steps: 2, spacing: 'densepure' },
    ];
    const config = { sigma: 0.5, seed: 9, batchSize: 5 };
    const group = makeMethodGroup(denoiser, wrapped, { ...config, methods });
    if (E.isLeft(group)) throw new Error(group.left.message);
    // t* once, then votes x (steps - 1) per chain family: 3 x 2 (b=3, K up to 3) + 2 x 1 (b=2).
    expect(group.right.denoiserEvalsPerDraw).toBe(1 + 6 + 2);
    expect(group.right.members.map((m) => m.denoiserEvalsPerDraw)).toEqual([0, 7, 1, 3, 3]);
    const draws = { firstDraw: 3, count: 9 };
    const together = await must(group.right.counts(image, 2, draws));
    for (const [i, method] of methods.entries()) {
      const alone = makeBaseClassifier(method.kind === 'smoothing' ? null : denoiser, wrapped, { ...config, method });
      if (E.isLeft(alone)) throw new Error(alone.left.message);
      expect(Array.from(together[i]!), JSON.stringify(method)).toEqual(Array.from(await must(alone.right.sampler(image, 2)(draws))));
      expect(together[i]!.reduce((a, b) => a + b, 0)).toBe(9);
    }
    // Side-by-side samplers (as CERTIFY calls them) and a subset of members see the same counts.
    const samplers = group.right.samplers(image, 2);
    const viaSamplers = await Promise.all(samplers.map((s) => must(s(draws))));
    expect(viaSamplers.map((c) => Array.from(c))).toEqual(together.map((c) => Array.from(c)));
    const subset = await Promise.all(group.right.samplers(image, 2, [4, 0]).map((s) => must(s(draws))));
    expect(subset.map((c) => Array.from(c))).toEqual([Array.from(together[4]!), Array.from(together[0]!)]);
  }, 60_000);

  it('counts evaluations: all of them with the stop off, fewer or as many with it on, same counts', async () => {
    const methods: Method[] = [{ kind: 'smoothing' }, { kind: 'dds' }, { kind: 'densepure', votes: 2, steps: 3 }, { kind: 'densepure', votes: 7, steps: 3 }];
    const draws = { firstDraw: 0, count: 10 };
    const run = async (decidedVoteStop: boolean) => {
      const group = makeMethodGroup(denoiser, wrapped, { sigma: 0.5, seed: 2, batchSize: 6, methods, decidedVoteStop });
      if (E.isLeft(group)) throw new Error(group.left.message);
      const tally = { denoiser: 0, classifier: 0 };
      const counts = await Promise.all(group.right.samplers(image, 1, undefined, tally).map((s) => must(s(draws))));
      expect(group.right.evaluations()).toEqual(tally);
      return { counts: counts.map((c) => Array.from(c)), tally, perDraw: group.right.denoiserEvalsPerDraw };
    };
    const off = await run(false);
    const on = await run(true);
    expect(on.counts).toEqual(off.counts);
    // Off: t* + 7 chains x 2 more steps per draw; classifier: noisy + one-shot + 7 chains per draw.
    expect(off.tally).toEqual({ denoiser: 10 * off.perDraw, classifier: 10 * (1 + 1 + 7) });
    expect(on.tally.denoiser).toBeLessThanOrEqual(off.tally.denoiser);
    // Every draw runs at least 4 of the 7 shared votes (a 7-vote needs 4 to be decided).
    expect(on.tally.classifier).toBeGreaterThanOrEqual(10 * (2 + 4));
    expect(on.tally.denoiser - 10).toBe(2 * (on.tally.classifier - 20));
  }, 60_000);

  it("a model call that fails comes back as the sampler's and purify's Left, for every member sharing the draws", async () => {
    let denoiserCalls = 0;
    const failing: Denoiser = {
      ...denoiser,
      run: (x, timesteps) => {
        denoiserCalls++;
        return denoiserCalls > 1 ? () => Promise.resolve(E.left(runtimeFailure('the device went away'))) : denoiser.run(x, timesteps);
      },
    };
    const methods: Method[] = [{ kind: 'smoothing' }, { kind: 'dds' }, { kind: 'densepure', votes: 3, steps: 3 }];
    const group = makeMethodGroup(failing, wrapped, { sigma: 0.5, seed: 4, batchSize: 4, methods });
    if (E.isLeft(group)) throw new Error(group.left.message);
    // The first call (x_t* for draws 0..3) succeeds, the first chain step's call fails.
    const tally = { denoiser: 0, classifier: 0 };
    const got = await Promise.all(group.right.samplers(image, 1, undefined, tally).map((s) => s({ firstDraw: 0, count: 4 })));
    expect(got).toEqual(methods.map(() => E.left(runtimeFailure('the device went away'))));
    expect(denoiserCalls).toBe(2);
    // What was asked of the models is counted, the failed call included: x_t* of 4 draws, then the first round of
    // chains, 2 votes per draw (the fewest that can decide K = 3) for 4 draws.
    expect(tally.denoiser).toBe(4 + 2 * 4);
    expect(await group.right.counts(image, 1, { firstDraw: 0, count: 2 })).toEqual(E.left(runtimeFailure('the device went away')));
    expect(await group.right.members[1]!.purify(image, 1, { firstDraw: 0, count: 2 })).toEqual(E.left(runtimeFailure('the device went away')));
  });

  it('refuses inconsistent configurations with a clear message', () => {
    const bad = (m: Method, d: Denoiser | null, sigma = 0.5) => {
      const r = makeBaseClassifier(d, wrapped, { sigma, seed: 0, method: m, batchSize: 4 });
      return E.isLeft(r) ? r.left.message : '';
    };
    expect(bad({ kind: 'dds' }, null)).toMatch(/needs a denoiser/);
    expect(bad({ kind: 'densepure', votes: 0, steps: 3 }, denoiser)).toMatch(/^K must be a whole number >= 1/);
    expect(bad({ kind: 'dds' }, denoiser, 100)).toMatch(/sigma/);
    expect(bad({ kind: 'dds' }, denoiser, -1)).toMatch(/^sigma must be a positive number/);
    const empty = makeMethodGroup(denoiser, wrapped, { sigma: 0.5, seed: 0, batchSize: 4, methods: [] });
    expect(E.isLeft(empty) && empty.left.message).toMatch(/at least one method/);
    const noDenoiser = makeMethodGroup(null, wrapped, { sigma: 0.5, seed: 0, batchSize: 4, methods: [{ kind: 'smoothing' }, { kind: 'densepure', votes: 2, steps: 2 }] });
    expect(E.isLeft(noDenoiser) && noDenoiser.left.message).toMatch(/'densepure-K2-b2' needs a denoiser/);
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { either as E } from 'fp-ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Classifier, type Denoiser, loadClassifier, loadDenoiser } from '@densepure/backend';
import { writeTinyModels } from '@densepure/backend/testing';
import '@densepure/backend-onnx';
import { type ImageClassifier, wrapClassifier } from '@densepure/classifiers';
import { philox4x32_10 } from '@densepure/core';
import { makeMethodGroup } from '../base-classifier.js';
import type { Method } from './table.js';
import { DENSEPURE } from './densepure.js';
import { DENSEPURE_SOFT, type DensePureSoftMethod, SOFT_VOTE } from './densepure-soft.js';
import { parseMethodSettings } from './table.js';

/** `votes` probability vectors over `classes`, deterministic in `seed`, peaked like a confident classifier's. */
function randomVotes(seed: number, votes: number, classes: number, peak: number): Float32Array {
  const out = new Float32Array(votes * classes);
  for (let v = 0; v < votes; v++) {
    const row = Array.from({ length: classes }, (_, c) => {
      const r = philox4x32_10([v, c, seed, 0], [7, 0]);
      return Math.exp(peak * (r[0]! / 2 ** 32) + (c === seed % classes ? 1 : 0));
    });
    const z = row.reduce((a, b) => a + b, 0);
    row.forEach((p, c) => (out[v * classes + c] = p / z));
  }
  return out;
}

/** Runs `votesStillNeeded` rounds as a chain family does and returns the votes it ran. */
function stopEarly(votes: Float32Array, k: number, classes: number): number {
  let done = 0;
  for (;;) {
    const more = SOFT_VOTE.votesStillNeeded(votes.subarray(0, done * classes), [k], classes);
    if (more === 0) return done;
    done += more;
  }
}

describe('densepure-soft entry', () => {
  const k5: DensePureSoftMethod = { kind: 'densepure-soft', votes: 5, steps: 2 };
  const dp: DensePureSoftMethod = { kind: 'densepure-soft', votes: 10, steps: 'full', spacing: 'densepure' };

  it('slugs, labels and identity: DensePure\'s with "soft" in the name, read back by this entry only', () => {
    expect([k5, dp].map(DENSEPURE_SOFT.slug)).toEqual(['densepure-soft-K5-b2', 'densepure-soft-K10-full-dp']);
    for (const m of [k5, dp]) expect(DENSEPURE_SOFT.parseSlug(DENSEPURE_SOFT.slug(m))).toEqual(m);
    expect(DENSEPURE.parseSlug('densepure-soft-K5-b2')).toBeNull();
    expect(DENSEPURE_SOFT.parseSlug('densepure-K5-b2')).toBeNull();
    expect(DENSEPURE_SOFT.label(k5)).toBe('DensePure soft vote K=5, 2 steps');
    expect(DENSEPURE_SOFT.describe(k5)).toMatch(/^DensePure with soft voting \(mean class probabilities\): K=5 reverse runs/);
    expect(DENSEPURE_SOFT.identity(dp)).toEqual({ K: 10, steps: 'full' });
  });

  it("reads DensePure's chain (so they share it) and aggregates probabilities", () => {
    const plan = DENSEPURE_SOFT.plan(k5);
    expect(plan).toMatchObject({ from: 'chains', chain: { steps: 2, spacing: 'uniform' }, votes: 5 });
    expect(plan.from === 'chains' && plan.aggregation.reads).toBe('probabilities');
    expect(plan.from === 'chains' && DENSEPURE.plan({ kind: 'densepure', votes: 5, steps: 2 }).from === 'chains').toBe(true);
    expect(parseMethodSettings('densepure-soft', { K: 5, steps: 2 })).toEqual(E.right(k5));
    expect(E.isLeft(parseMethodSettings('densepure-soft', { K: 0 }))).toBe(true);
  });

  it('decides the class of largest mean probability, ties to the smallest label', () => {
    // Majority says class 2 (two votes of three); the mean probability says class 0.
    const votes = Float32Array.from([0.9, 0.05, 0.05, 0.3, 0.2, 0.5, 0.3, 0.2, 0.5]);
    expect(SOFT_VOTE.decide(votes, 3)).toBe(0);
    expect(SOFT_VOTE.decide(Float32Array.from([0.5, 0.5, 0, 0, 0.5, 0.5]), 3)).toBe(1);
  });

  it('a draw stopped early gets the label of all K votes, never after more votes than K', () => {
    let stoppedEarly = 0;
    for (let seed = 0; seed < 400; seed++) {
      const classes = 2 + (seed % 9);
      const k = 1 + (seed % 20);
      const votes = randomVotes(seed, k, classes, seed % 3 === 0 ? 0.5 : 6);
      const ran = stopEarly(votes, k, classes);
      expect(ran).toBeLessThanOrEqual(k);
      expect(SOFT_VOTE.decide(votes.subarray(0, ran * classes), classes), `seed ${seed}`).toBe(SOFT_VOTE.decide(votes, classes));
      if (ran < k) stoppedEarly += 1;
    }
    // The stop is not vacuous: confident votes decide before K.
    expect(stoppedEarly).toBeGreaterThan(100);
  });

  it('stops only when no continuation can change the winner', () => {
    // Two votes of three classes so far, three to come: class 0 leads class 1 by 1.6 < 3, so not yet; one more vote
    // all for class 0 makes the lead 2.6 > 2 votes left, so one more is the fewest that can decide.
    const sofar = Float32Array.from([0.9, 0.1, 0, 0.9, 0.1, 0]);
    expect(SOFT_VOTE.votesStillNeeded(sofar, [5], 3)).toBe(1);
    // Four to come: 1.6 + e > 4 - e + margin needs e = 2.
    expect(SOFT_VOTE.votesStillNeeded(sofar, [6], 3)).toBe(2);
    expect(SOFT_VOTE.votesStillNeeded(Float32Array.from([1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0]), [5], 3)).toBe(0);
    expect(SOFT_VOTE.votesStillNeeded(sofar, [2], 3)).toBe(0);
  });
});

describe('densepure-soft on tiny onnx models, beside DensePure on the same draws', () => {
  const image = Float32Array.from({ length: 16 }, (_, i) => (i % 5) / 4);
  const draws = { firstDraw: 0, count: 40 };
  let dir = '';
  let models: { denoiser: Denoiser; classifier: ImageClassifier; scoresOnly: ImageClassifier };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'densepure-soft-'));
    const paths = await writeTinyModels(dir);
    const d = await loadDenoiser(paths.denoiser, { backend: 'onnx' })();
    const c = await loadClassifier(paths.classifier, { backend: 'onnx' })();
    const s = await loadClassifier(paths.classifierScores, { backend: 'onnx' })();
    if (E.isLeft(d) || E.isLeft(c) || E.isLeft(s)) throw new Error('tiny models failed to load');
    const wrap = (x: Classifier): ImageClassifier => E.getOrElseW((e: { message: string }): never => { throw new Error(e.message); })(wrapClassifier(x, [1, 4, 4]));
    models = { denoiser: d.right, classifier: wrap(c.right), scoresOnly: wrap(s.right) };
  });
  afterAll(async () => {
    await models?.denoiser.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  const counts = async (methods: Method[], decidedVoteStop = true): Promise<{ counts: Int32Array[]; denoiser: number }> => {
    const group = makeMethodGroup(models.denoiser, models.classifier, { sigma: 0.5, seed: 4, batchSize: 16, methods, decidedVoteStop });
    if (E.isLeft(group)) throw new Error(group.left.message);
    const got = await group.right.counts(image, 3, draws);
    if (E.isLeft(got)) throw new Error(got.left.message);
    return { counts: got.right, denoiser: group.right.evaluations().denoiser };
  };

  it('counts the same with the decided-vote stop as without, and the same beside DensePure as alone', async () => {
    const soft: Method = { kind: 'densepure-soft', votes: 7, steps: 3 };
    const majority: Method = { kind: 'densepure', votes: 7, steps: 3 };
    const full = await counts([soft], false);
    const stopped = await counts([soft]);
    expect(Array.from(stopped.counts[0]!)).toEqual(Array.from(full.counts[0]!));
    expect(stopped.denoiser).toBeLessThanOrEqual(full.denoiser);
    const side = await counts([majority, soft]);
    expect(Array.from(side.counts[1]!)).toEqual(Array.from(stopped.counts[0]!));
    expect(Array.from(side.counts[0]!)).toEqual(Array.from((await counts([majority])).counts[0]!));
    // One chain family: the soft votes are DensePure's runs, so the pair costs what the hungrier of the two costs alone.
    expect(side.denoiser).toBeLessThanOrEqual(full.denoiser);
  });

  it('refuses a classifier that gives labels only', () => {
    const group = makeMethodGroup(models.denoiser, models.scoresOnly, { sigma: 0.5, seed: 4, batchSize: 16, methods: [{ kind: 'densepure-soft', votes: 3, steps: 2 }] });
    expect(E.isLeft(group) && group.left).toMatchObject({ kind: 'needs-probabilities', method: 'densepure-soft-K3-b2' });
    expect(E.isLeft(group) && group.left.message).toMatch(/gives labels only .*use a classifier that outputs logits or probabilities/);
  });
});

import { either as E } from 'fp-ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Classifier, type Denoiser, loadClassifier, loadDenoiser } from '@densepure/backend';
import '@densepure/backend-onnx';
import { type ImageClassifier, wrapClassifier } from '@densepure/classifiers';
import { type Dataset, readDpds } from '@densepure/datasets';
import { classifierPath, denoiserPath, testSetPath } from '@densepure/zoo-mnist';
import { type Method, makeBaseClassifier, makeMethodGroup } from './index.js';

const must = <A>(r: E.Either<{ readonly message: string }, A>): A => {
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};

/** The mnist-paper grid (b = 2, DensePure spacing) plus a uniform b = 3 chain: two chain families. */
const methods: Method[] = [
  { kind: 'smoothing' },
  { kind: 'dds' },
  { kind: 'densepure', votes: 1, steps: 2, spacing: 'densepure' },
  { kind: 'densepure', votes: 5, steps: 2, spacing: 'densepure' },
  { kind: 'densepure', votes: 10, steps: 2, spacing: 'densepure' },
  { kind: 'densepure', votes: 3, steps: 3 },
];

/**
 * Counts over draws 0..15 (seed 3) per "sigma/image index", one row per member of `methods`, recorded on main
 * (439de4c) before base-classifier.ts was split: any refactor of the evaluation must reproduce them exactly.
 * Images 5, 405, 1205 of the shipped test split are a 0, a 1 and a 6.
 */
const pinned: Record<string, number[][]> = {
  '0.5/5': [[0,2,0,2,3,0,0,9,0,0],[16,0,0,0,0,0,0,0,0,0],[16,0,0,0,0,0,0,0,0,0],[16,0,0,0,0,0,0,0,0,0],[16,0,0,0,0,0,0,0,0,0],[16,0,0,0,0,0,0,0,0,0]],
  '0.5/405': [[0,2,0,11,1,1,0,1,0,0],[0,16,0,0,0,0,0,0,0,0],[0,16,0,0,0,0,0,0,0,0],[0,16,0,0,0,0,0,0,0,0],[0,16,0,0,0,0,0,0,0,0],[0,16,0,0,0,0,0,0,0,0]],
  '0.5/1205': [[0,1,0,6,5,0,0,4,0,0],[0,0,0,0,0,0,16,0,0,0],[0,0,0,0,0,0,16,0,0,0],[0,0,0,0,0,0,16,0,0,0],[0,0,0,0,0,0,16,0,0,0],[0,0,0,0,0,0,16,0,0,0]],
  '1/5': [[1,0,0,14,0,1,0,0,0,0],[13,0,0,0,0,0,1,0,2,0],[14,0,0,0,0,1,1,0,0,0],[15,0,0,0,0,0,1,0,0,0],[15,0,0,0,0,0,1,0,0,0],[16,0,0,0,0,0,0,0,0,0]],
  '1/405': [[0,0,0,14,0,2,0,0,0,0],[0,12,0,2,1,0,0,0,1,0],[0,12,0,2,0,1,0,1,0,0],[0,12,0,2,0,1,0,1,0,0],[0,13,0,2,0,1,0,0,0,0],[0,12,0,2,0,1,0,1,0,0]],
  '1/1205': [[0,0,0,16,0,0,0,0,0,0],[1,0,0,0,1,0,11,0,2,1],[0,0,0,0,1,0,13,0,1,1],[1,0,0,0,1,1,11,0,1,1],[1,0,0,0,1,1,12,0,0,1],[1,0,1,1,1,0,11,0,0,1]],
}; // prettier-ignore

describe('shipped MNIST models: counts for a fixed seed are pinned', () => {
  let denoiser: Denoiser;
  let classifier: Classifier;
  let wrapped: ImageClassifier;
  let dataset: Dataset;

  beforeAll(async () => {
    denoiser = must(await loadDenoiser(denoiserPath, { backend: 'onnx' })());
    classifier = must(await loadClassifier(classifierPath, { backend: 'onnx' })());
    wrapped = must(wrapClassifier(classifier, [1, 28, 28]));
    dataset = must(await readDpds(testSetPath));
  }, 60_000);
  afterAll(async () => {
    await denoiser.dispose();
    await classifier.dispose();
  });

  for (const sigma of [0.5, 1]) {
    it(`sigma ${sigma}: a method group reproduces the recorded counts, with the decided-vote stop on and off`, async () => {
      const made: Record<string, number> = {};
      for (const decidedVoteStop of [true, false]) {
        const group = must(makeMethodGroup(denoiser, wrapped, { sigma, seed: 3, batchSize: 50, methods, decidedVoteStop }));
        for (const index of [5, 405, 1205]) {
          const tally = { denoiser: 0, classifier: 0 };
          const counts = must(await group.counts(dataset.get(index).image, index, { firstDraw: 0, count: 16 }, tally));
          expect(
            counts.map((c) => Array.from(c)),
            `${sigma}/${index} stop ${decidedVoteStop}`,
          ).toEqual(pinned[`${sigma}/${index}`]);
          if (!decidedVoteStop) expect(tally.denoiser).toBe(16 * group.denoiserEvalsPerDraw);
        }
        made[String(decidedVoteStop)] = group.evaluations().denoiser;
      }
      // K = 10 alone would stop after 5 of 10 unanimous votes; shared with K = 1 and 5 it still saves.
      expect(made['true']!).toBeLessThan(made['false']!);
    }, 180_000);
  }

  it('one member alone, its draws split unevenly and batched small, gives the same counts', async () => {
    const base = must(makeBaseClassifier(denoiser, wrapped, { sigma: 1, seed: 3, batchSize: 7, concurrency: 2, method: methods[4]! }));
    const sampler = base.sampler(dataset.get(1205).image, 1205);
    const total = new Array<number>(10).fill(0);
    for (const [firstDraw, count] of [
      [0, 5],
      [5, 11],
    ] as const) {
      Array.from(must(await sampler({ firstDraw, count }))).forEach((v, i) => (total[i] = total[i]! + v));
    }
    expect(total).toEqual(pinned['1/1205']![4]);
  }, 120_000);
});

// The TypeScript pipeline against the PyTorch reference report of the shipped models
// (tools/reference/mnist-report/report.json, written by tools/train/reference_report.py).
// Same models, same method, independent noise and image subsets: the accuracies must agree within sampling
// error. Test used: two-proportion z-test (pooled), two-sided at level 0.001, i.e. |z| < 3.29.
import { readFileSync } from 'node:fs';
import { either as E } from 'fp-ts';
import { describe, expect, it } from 'vitest';
import { selectIndices } from '@densepure/datasets';
import * as zoo from '@densepure/zoo-mnist';
import { type Method } from './method.js';
import { openPipeline } from './pipeline.js';

interface ReferenceRow {
  readonly sigma: number | null;
  readonly method: string;
  readonly K: number;
  readonly n: number;
  readonly correct: number;
  readonly steps?: number;
}

const report = JSON.parse(
  readFileSync(new URL('../../../tools/reference/mnist-report/report.json', import.meta.url), 'utf8'),
) as { rows: ReferenceRow[] };

/** Pooled two-proportion z statistic; 0 when both proportions are 0 or 1 and equal. */
export function twoProportionZ(k1: number, n1: number, k2: number, n2: number): number {
  const p = (k1 + k2) / (n1 + n2);
  const se = Math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2));
  const diff = k1 / n1 - k2 / n2;
  return se === 0 ? (diff === 0 ? 0 : Infinity) : diff / se;
}

const Z_CRITICAL = 3.29; // two-sided 0.001

async function tsAccuracy(method: Method, sigma: number, images: number): Promise<{ correct: number; n: number }> {
  const opened = await openPipeline({
    models: { denoiser: zoo.denoiserPath, classifier: zoo.classifierPath, workers: 0 },
    dataset: { spec: zoo.testSetPath },
    methods: [method],
    sigma,
    seed: 12345,
    batch: 100,
  })();
  if (E.isLeft(opened)) throw new Error(opened.left.message);
  const pipeline = opened.right;
  const base = pipeline.group.members[0]!;
  try {
    const selected = selectIndices(pipeline.dataset.size, Math.floor(pipeline.dataset.size / images));
    if (E.isLeft(selected)) throw new Error(selected.left.message);
    const indices = selected.right.slice(0, images);
    let correct = 0;
    for (const idx of indices) {
      const { image, label } = pipeline.dataset.get(idx);
      const counts = await base.sampler(image, idx)({ firstDraw: 0, count: 1 });
      if (E.isLeft(counts)) throw new Error(counts.left.message);
      if (counts.right[label] === 1) correct += 1;
    }
    return { correct, n: indices.length };
  } finally {
    await pipeline.dispose();
  }
}

const find = (sigma: number, method: string, K: number): ReferenceRow => {
  const row = report.rows.find((r) => r.sigma === sigma && r.method === method && r.K === K);
  if (row === undefined) throw new Error(`report.json has no row sigma ${sigma} ${method} K=${K}`);
  return row;
};

describe('agreement with the PyTorch reference report (two-proportion z-test, |z| < 3.29)', () => {
  for (const sigma of [0.25, 0.5]) {
    it(`one-shot denoise (DDS) at sigma ${sigma}`, async () => {
      const ref = find(sigma, 'one-shot', 1);
      const ts = await tsAccuracy({ kind: 'dds' }, sigma, 500);
      const z = twoProportionZ(ts.correct, ts.n, ref.correct, ref.n);
      expect(Math.abs(z), `TS ${ts.correct}/${ts.n} vs PyTorch ${ref.correct}/${ref.n}`).toBeLessThan(Z_CRITICAL);
    }, 120_000);

    it(`respaced 10-step chain, K = 5 vote, at sigma ${sigma}`, async () => {
      const ref = find(sigma, 'respaced-10', 5);
      const ts = await tsAccuracy({ kind: 'densepure', votes: 5, steps: 10 }, sigma, Math.min(ref.n, 150));
      const z = twoProportionZ(ts.correct, ts.n, ref.correct, ref.n);
      expect(Math.abs(z), `TS ${ts.correct}/${ts.n} vs PyTorch ${ref.correct}/${ref.n}`).toBeLessThan(Z_CRITICAL);
    }, 300_000);
  }

  it('the z statistic itself: equal rates give 0, a large gap exceeds the critical value', () => {
    expect(twoProportionZ(90, 100, 450, 500)).toBeCloseTo(0, 12);
    expect(Math.abs(twoProportionZ(70, 100, 475, 500))).toBeGreaterThan(Z_CRITICAL);
    expect(twoProportionZ(100, 100, 500, 500)).toBe(0);
  });
});

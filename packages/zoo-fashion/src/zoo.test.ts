import { existsSync, readFileSync } from 'node:fs';
import { either as E } from 'fp-ts';
import { describe, expect, it } from 'vitest';
import { loadClassifier, loadDenoiser } from '@densepure/backend';
import '@densepure/backend-onnx';
import { readDpds } from '@densepure/datasets';
import { catalog, classNames, classifierPath, denoiserPath, testSetInfoPath, testSetPath } from './index.js';

interface Fixture {
  tolerance: number;
  x: { shape: number[]; data: number[] };
  t?: number[];
  out?: { shape: number[]; data: number[] };
  logits?: { shape: number[]; data: number[] };
}

const fixture = (name: string): Fixture =>
  JSON.parse(readFileSync(new URL(`../fixtures/${name}-io.json`, import.meta.url), 'utf8')) as Fixture;

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
};

const must = <A>(r: E.Either<{ message: string }, A>): A => {
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};

describe('Fashion-MNIST models (onnxruntime) agree with the PyTorch outputs recorded at export', () => {
  it('classifier: logits within the fixture tolerance', async () => {
    const fx = fixture('classifier');
    const c = must(await loadClassifier(classifierPath, { backend: 'onnx' })());
    try {
      const logits = must(await c.run(Float32Array.from(fx.x.data), fx.x.shape[0]!)());
      expect(maxAbsDiff(logits, fx.logits!.data)).toBeLessThanOrEqual(fx.tolerance);
    } finally {
      await c.dispose();
    }
  });

  // The denoiser is exported only when its training run has finished (tools/train/export_onnx.py refuses earlier).
  it.skipIf(!existsSync(denoiserPath))('denoiser: eps and v within the fixture tolerance', async () => {
    const fx = fixture('denoiser');
    const d = must(await loadDenoiser(denoiserPath, { backend: 'onnx' })());
    try {
      expect(d.metadata.learnedVariance).toBe(true);
      const out = must(await d.run(Float32Array.from(fx.x.data), fx.t!)());
      const per = 784;
      const eps: number[] = [];
      const v: number[] = [];
      for (let b = 0; b < fx.t!.length; b++) {
        eps.push(...fx.out!.data.slice(2 * b * per, (2 * b + 1) * per));
        v.push(...fx.out!.data.slice((2 * b + 1) * per, (2 * b + 2) * per));
      }
      expect(maxAbsDiff(out.eps, eps)).toBeLessThanOrEqual(fx.tolerance);
      expect(maxAbsDiff(out.v!, v)).toBeLessThanOrEqual(fx.tolerance);
    } finally {
      await d.dispose();
    }
  });
});

describe('held-out test split', () => {
  const info = JSON.parse(readFileSync(testSetInfoPath, 'utf8')) as { sha256: string; count: number; classCounts: Record<string, number>; classNames: string[] };

  it("matches its recorded sha256, size, class counts and names, and is what the catalog's 'default' opens", async () => {
    const ds = must(await catalog.dataset('default')());
    expect(ds.source).toBe(testSetPath);
    expect(ds.sha256).toBe(info.sha256);
    expect(ds.size).toBe(info.count);
    expect(ds.classNames).toEqual(classNames);
    expect(info.classNames).toEqual(classNames);
    const counts: Record<string, number> = {};
    for (let i = 0; i < ds.size; i++) counts[String(ds.get(i).label)] = (counts[String(ds.get(i).label)] ?? 0) + 1;
    expect(counts).toEqual(info.classCounts);
  });

  it('the classifier reaches its recorded clean accuracy (>= 90%) on the whole split', { timeout: 120_000 }, async () => {
    const ds = must(await readDpds(testSetPath));
    const c = must(await loadClassifier(classifierPath, { backend: 'onnx' })());
    const manifest = JSON.parse(readFileSync(classifierPath.replace(/\.onnx$/, '.json'), 'utf8')) as { metrics: { cleanAccuracy: number } };
    try {
      let correct = 0;
      const batch = 500;
      for (let start = 0; start < ds.size; start += batch) {
        const n = Math.min(batch, ds.size - start);
        const x = new Float32Array(n * 784);
        for (let i = 0; i < n; i++) x.set(ds.get(start + i).image, i * 784);
        const logits = must(await c.run(x, n)());
        for (let i = 0; i < n; i++) {
          const row = Array.from(logits.subarray(i * 10, (i + 1) * 10));
          if (row.indexOf(Math.max(...row)) === ds.get(start + i).label) correct += 1;
        }
      }
      const accuracy = correct / ds.size;
      expect(accuracy).toBeGreaterThanOrEqual(0.9);
      expect(Math.abs(accuracy - manifest.metrics.cleanAccuracy)).toBeLessThanOrEqual(2 / ds.size);
    } finally {
      await c.dispose();
    }
  });
});

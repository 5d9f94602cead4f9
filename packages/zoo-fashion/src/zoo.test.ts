import { existsSync, readFileSync } from 'node:fs';
import { either as E } from 'fp-ts';
import { describe, expect, it } from 'vitest';
import '@densepure/backend-onnx';
import { classifierFixtureDeviation, cleanAccuracy, denoiserFixtureDeviation, readIoFixture } from '@densepure/backend/testing';
import { catalog, classNames, classifierPath, denoiserPath, testSetInfoPath, testSetPath } from './index.js';

const fixture = (name: string) => readIoFixture(new URL(`../fixtures/${name}-io.json`, import.meta.url));

const must = <A>(r: E.Either<{ message: string }, A>): A => {
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};

describe('Fashion-MNIST models (onnxruntime) agree with the PyTorch outputs recorded at export', () => {
  it('classifier: logits within the fixture tolerance', async () => {
    const fx = fixture('classifier');
    expect(await classifierFixtureDeviation(classifierPath, fx)).toBeLessThanOrEqual(fx.tolerance);
  });

  // The denoiser is exported only when its training run has finished (tools/train/export_onnx.py refuses earlier).
  it.skipIf(!existsSync(denoiserPath))('denoiser: eps and v within the fixture tolerance', async () => {
    const fx = fixture('denoiser');
    const dev = await denoiserFixtureDeviation(denoiserPath, fx);
    expect(dev.learnedVariance).toBe(true);
    expect(dev.eps).toBeLessThanOrEqual(fx.tolerance);
    expect(dev.v).toBeLessThanOrEqual(fx.tolerance);
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
    const ds = must(await catalog.dataset('default')());
    const manifest = JSON.parse(readFileSync(classifierPath.replace(/\.onnx$/, '.json'), 'utf8')) as { metrics: { cleanAccuracy: number } };
    const accuracy = await cleanAccuracy(classifierPath, ds);
    expect(accuracy).toBeGreaterThanOrEqual(0.9);
    expect(Math.abs(accuracy - manifest.metrics.cleanAccuracy)).toBeLessThanOrEqual(2 / ds.size);
  });
});

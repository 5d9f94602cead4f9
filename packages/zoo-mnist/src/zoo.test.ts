import { readFileSync } from 'node:fs';
import { either as E } from 'fp-ts';
import { describe, expect, it } from 'vitest';
import '@densepure/backend-onnx';
import { classifierFixtureDeviation, cleanAccuracy, denoiserFixtureDeviation, readIoFixture } from '@densepure/backend/testing';
import { readDpds } from '@densepure/datasets';
import { classifierPath, denoiserPath, testSetInfoPath, testSetPath } from './index.js';

const fixture = (name: string) => readIoFixture(new URL(`../fixtures/${name}-io.json`, import.meta.url));

const must = <A>(r: E.Either<{ message: string }, A>): A => {
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};

describe('shipped MNIST models (onnxruntime) agree with the PyTorch outputs recorded at export', () => {
  it('denoiser: eps and v within the fixture tolerance', async () => {
    const fx = fixture('denoiser');
    const dev = await denoiserFixtureDeviation(denoiserPath, fx);
    expect(dev.learnedVariance).toBe(true);
    expect(dev.eps).toBeLessThanOrEqual(fx.tolerance);
    expect(dev.v).toBeLessThanOrEqual(fx.tolerance);
  });

  it('classifier: logits within the fixture tolerance', async () => {
    const fx = fixture('classifier');
    expect(await classifierFixtureDeviation(classifierPath, fx)).toBeLessThanOrEqual(fx.tolerance);
  });
});

describe('shipped test split', () => {
  const info = JSON.parse(readFileSync(testSetInfoPath, 'utf8')) as { sha256: string; count: number; classCounts: Record<string, number> };

  it('matches its recorded sha256, size and class counts', async () => {
    const ds = must(await readDpds(testSetPath));
    expect(ds.sha256).toBe(info.sha256);
    expect(ds.size).toBe(info.count);
    expect(ds.size).toBeGreaterThanOrEqual(1000);
    const counts: Record<string, number> = {};
    for (let i = 0; i < ds.size; i++) counts[String(ds.get(i).label)] = (counts[String(ds.get(i).label)] ?? 0) + 1;
    expect(counts).toEqual(info.classCounts);
  });

  it('the classifier reaches its recorded clean accuracy (>= 98.5%) on the whole split', { timeout: 120_000 }, async () => {
    const ds = must(await readDpds(testSetPath));
    const manifest = JSON.parse(readFileSync(classifierPath.replace(/\.onnx$/, '.json'), 'utf8')) as { metrics: { cleanAccuracy: number } };
    const accuracy = await cleanAccuracy(classifierPath, ds, 'onnx', 250);
    expect(accuracy).toBeGreaterThanOrEqual(0.985);
    expect(Math.abs(accuracy - manifest.metrics.cleanAccuracy)).toBeLessThanOrEqual(1 / ds.size);
  });
});

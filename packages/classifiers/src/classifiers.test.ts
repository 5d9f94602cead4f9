import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { either as E } from 'fp-ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Classifier, loadClassifier } from '@densepure/backend';
import { TINY_CLASSES, TINY_PIXELS, tinyClassifierBias, tinyClassifierWeight, writeTinyModels } from '@densepure/backend/testing';
import '@densepure/backend-onnx';
import { argmaxRows, resizeBilinear, softmaxRows, wrapClassifier } from './index.js';

describe('resizeBilinear (torch align_corners=False)', () => {
  it('upsamples 2x2 -> 4x4 as F.interpolate does', () => {
    const out = resizeBilinear(Float32Array.from([0, 1, 2, 3]), 1, 1, 2, 2, 4, 4);
    expect(Array.from(out)).toEqual([0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3]);
  });
  it('downsamples 4x4 -> 2x2 by averaging 2x2 blocks (no antialias needed at factor 2)', () => {
    const src = Float32Array.from({ length: 16 }, (_, i) => i);
    expect(Array.from(resizeBilinear(src, 1, 1, 4, 4, 2, 2))).toEqual([2.5, 4.5, 10.5, 12.5]);
  });
  it('is the identity at the same size', () => {
    const src = Float32Array.from({ length: 9 }, (_, i) => i * 0.1);
    expect(Array.from(resizeBilinear(src, 1, 1, 3, 3, 3, 3))).toEqual(Array.from(src));
  });
});

describe('argmax and softmax', () => {
  it('breaks ties toward the smallest label', () => {
    expect(Array.from(argmaxRows(Float32Array.from([1, 3, 3, 0, 0, 0]), 2, 3))).toEqual([1, 0]);
  });
  it('softmax rows sum to one', () => {
    const p = softmaxRows(Float32Array.from([1000, 1001, 0, 0]), 2, 2);
    expect(p[0]! + p[1]!).toBeCloseTo(1, 6);
    expect(p[2]).toBeCloseTo(0.5, 6);
  });
});

describe('wrapClassifier on a real onnx classifier', () => {
  let dir = '';
  let plain: Classifier;
  let normalized: Classifier;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'densepure-classifiers-'));
    const paths = await writeTinyModels(dir);
    const manifest = JSON.parse(await readFile(paths.classifier.replace(/\.onnx$/, '.json'), 'utf8'));
    // Same graph, but the manifest asks for [-1, 1] inputs normalised outside the graph.
    await writeFile(join(dir, 'normalized.json'), JSON.stringify({ ...manifest, valueRange: [-1, 1], normalization: { mean: [0.5], std: [2], appliedInGraph: false } }));
    const a = await loadClassifier(paths.classifier, { backend: 'onnx' })();
    const b = await loadClassifier(join(dir, 'normalized.json'), { backend: 'onnx' })();
    if (E.isLeft(a) || E.isLeft(b)) throw new Error('tiny classifier failed to load');
    plain = a.right;
    normalized = b.right;
  });
  afterAll(async () => {
    await plain.dispose();
    await normalized.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  const expectedLogits = (x: Float32Array): number[] =>
    Array.from({ length: TINY_CLASSES }, (_, c) => x.reduce((s, v, i) => s + v * tinyClassifierWeight(i, c), tinyClassifierBias(c)));

  it('applies value range and normalisation from the manifest', async () => {
    const x = Float32Array.from({ length: TINY_PIXELS }, (_, i) => i / 15);
    const wrapped = wrapClassifier(normalized, [1, 4, 4]);
    if (E.isLeft(wrapped)) throw new Error(wrapped.left.message);
    expect(wrapped.right.preprocessing).toEqual(['[0,1] -> [-1,1]', 'normalize mean 0.5 std 2']);
    const logits = await wrapped.right.logits(x, 1)();
    const transformed = x.map((v) => (2 * v - 1 - 0.5) / 2);
    if (E.isLeft(logits)) throw new Error(logits.left.message);
    expectedLogits(transformed).forEach((v, c) => expect(logits.right[c]).toBeCloseTo(v, 4));
  });

  it('resizes 8x8 inputs to the classifier 4x4 and gives labels and top-k', async () => {
    const wrapped = wrapClassifier(plain, [1, 8, 8]);
    if (E.isLeft(wrapped)) throw new Error(wrapped.left.message);
    const x = Float32Array.from({ length: 64 * 2 }, (_, i) => (i % 64) / 63);
    const labels = await wrapped.right.labels(x, 2)();
    const top = await wrapped.right.topK(x, 2, 2)();
    if (E.isLeft(labels) || E.isLeft(top)) throw new Error('run failed');
    const resized = resizeBilinear(x.subarray(0, 64), 1, 1, 8, 8, 4, 4);
    const logits = expectedLogits(resized);
    const best = logits.indexOf(Math.max(...logits));
    expect(labels.right[0]).toBe(best);
    expect(top.right[0]!.labels[0]).toBe(best);
    expect(top.right[0]!.names[0]).toBe(['a', 'b', 'c'][best]);
  });

  it('refuses images whose channels cannot be converted, and wrong batch lengths', async () => {
    expect(E.isLeft(wrapClassifier(plain, [3, 4, 4]))).toBe(true);
    const wrapped = wrapClassifier(plain, [1, 4, 4]);
    if (E.isLeft(wrapped)) throw new Error('unexpected');
    const r = await wrapped.right.labels(new Float32Array(20), 1)();
    expect(E.isLeft(r) && r.left.kind).toBe('shape-mismatch');
  });
});

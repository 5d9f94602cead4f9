import { either as E } from 'fp-ts';
import { describe, expect, it } from 'vitest';
import { parseManifest } from './manifest.js';
import { classifierProbabilities, givesProbabilities, softmaxRows } from './outputs.js';
import { classifierMetadata } from './registry.js';
import type { ResolvedModel } from './resolve.js';
import { tinyClassifierManifest } from './testing/tiny-models.js';
import type { ClassifierManifest } from './manifest.js';

const bytes = new Uint8Array([1, 2, 3]);
const meta = (output: 'logits' | 'probabilities' | 'scores') => ({ name: 'c', manifestPath: '/m/c.json', numClasses: 3, output });

describe('classifier output', () => {
  it("the manifest's output is optional, one of logits | probabilities | scores", () => {
    const base = tinyClassifierManifest('c.onnx', bytes);
    for (const output of ['logits', 'probabilities', 'scores']) expect(E.isRight(parseManifest({ ...base, output }, 'c.json'))).toBe(true);
    const bad = parseManifest({ ...base, output: 'log-probabilities' }, 'c.json');
    expect(E.isLeft(bad) && bad.left.message).toContain('output');
  });

  it("metadata says 'logits' when the manifest is silent (shipped manifests stay as they are)", () => {
    const resolved = (extra: object) => {
      const manifest = E.getOrElseW(() => undefined)(parseManifest({ ...tinyClassifierManifest('c.onnx', bytes), ...extra }, 'c.json')) as ClassifierManifest;
      return { manifest, manifestPath: '/m/c.json', manifestSha256: '', modelPath: '/m/c.onnx', modelBytes: bytes, weightFiles: new Map() } satisfies ResolvedModel<ClassifierManifest>;
    };
    expect(classifierMetadata(resolved({}), 'x', 'x').output).toBe('logits');
    expect(classifierMetadata(resolved({ output: 'scores' }), 'x', 'x').output).toBe('scores');
  });

  it('logits: softmax rows, each summing to 1 (stable for large logits)', () => {
    const p = E.getOrElseW(() => null)(classifierProbabilities(meta('logits'), Float32Array.from([1000, 1001, 0, 0, 0, 0]), 2))!;
    expect(p[0]! + p[1]! + p[2]!).toBeCloseTo(1, 6);
    expect(p[2]).toBe(0);
    expect(Array.from(p.subarray(3))).toEqual(Array.from(softmaxRows(Float32Array.from([0, 0, 0]), 1, 3)));
  });

  it('probabilities: returned as they are once checked to be distributions', () => {
    const ok = Float32Array.from([0.2, 0.3, 0.5, 1, 0, 0]);
    expect(classifierProbabilities(meta('probabilities'), ok, 2)).toEqual(E.right(ok));
    for (const bad of [[0.2, 0.2, 0.2], [1.5, -0.5, 0], [Number.NaN, 0.5, 0.5]]) {
      const r = classifierProbabilities(meta('probabilities'), Float32Array.from(bad), 1);
      expect(E.isLeft(r) && r.left.kind, String(bad)).toBe('model-contract');
      expect(E.isLeft(r) && r.left.message).toContain("output: 'probabilities'");
    }
  });

  it('scores: no probabilities, with a message that says what to do', () => {
    const r = classifierProbabilities(meta('scores'), new Float32Array(3), 1);
    if (E.isRight(r)) throw new Error('expected no-probabilities');
    expect(r.left.kind).toBe('no-probabilities');
    expect(r.left.message).toMatch(/scores.*majority voting.*'logits' or 'probabilities'/);
    expect(E.isLeft(givesProbabilities(meta('scores')))).toBe(true);
    expect(E.isRight(givesProbabilities(meta('logits')))).toBe(true);
  });
});

// makeDenoiser / makeClassifier name the model's own tensors in their errors.
import { either as E } from 'fp-ts';
import { describe, expect, it } from 'vitest';
import type { ModelEngine } from './wrap.js';
import { makeClassifier, makeDenoiser } from './wrap.js';
import type { ClassifierMetadata, DenoiserMetadata } from './types.js';

const base = {
  name: 'm',
  backend: 'fake',
  runtime: 'fake',
  modelPath: '/m.onnx',
  manifestPath: '/m.json',
  manifestSha256: '0'.repeat(64),
  sha256: '0'.repeat(64),
  format: 'onnx' as const,
  inputShape: [1, 2, 2] as const,
  channels: 1,
  imageSize: 2,
  valueRange: [-1, 1] as const,
};
const denoiserMeta: DenoiserMetadata = {
  ...base,
  kind: 'denoiser',
  learnedVariance: true,
  diffusion: { schedule: 'linear', T: 1000, prediction: 'epsilon', learnedVariance: true },
};
const classifierMeta: ClassifierMetadata = {
  ...base,
  kind: 'classifier',
  numClasses: 3,
  classNames: ['a', 'b', 'c'],
  normalization: { mean: [0], std: [1], appliedInGraph: true },
  output: 'logits',
};
/** An engine that returns `n` values whatever it is asked. */
const engine = (n: number): ModelEngine => ({ run: async () => E.right(new Float32Array(n)), dispose: async () => undefined });

describe('errors name the graph tensors', () => {
  it("a denoiser output of the wrong size names the manifest's output, not 'out'", async () => {
    const d = makeDenoiser(denoiserMeta, engine(4), { input: 'image', output: 'eps_v' });
    const r = await d.run(new Float32Array(4), [1])();
    expect(E.isLeft(r) && r.left.kind).toBe('shape-mismatch');
    expect(E.isLeft(r) && r.left.message).toContain("'eps_v'");
    const bad = await d.run(new Float32Array(3), [1])();
    expect(E.isLeft(bad) && bad.left.message).toContain("'image'");
  });
  it("a classifier output of the wrong size names the manifest's output", async () => {
    const c = makeClassifier(classifierMeta, engine(2), { input: 'pixels', output: 'scores' });
    const r = await c.run(new Float32Array(4), 1)();
    expect(E.isLeft(r) && r.left.message).toContain("'scores'");
  });
});

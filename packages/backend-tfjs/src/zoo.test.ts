// The shipped MNIST models (packages/zoo-mnist/models, torch.onnx exports) through the onnx backend and the
// tfjs backend (wasm) on the same inputs, and against the PyTorch outputs stored as fixtures.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { either as E } from 'fp-ts';
import { type BackendError, type Classifier, type Denoiser, loadClassifier, loadDenoiser } from '@densepure/backend';
import '@densepure/backend-onnx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import './index.js';
import { maxAbsDiff, seeded } from './ort.testutil.js';
import { chooseRuntime } from './runtime.js';

const zoo = fileURLToPath(new URL('../../zoo-mnist/', import.meta.url));
const den = `${zoo}models/denoiser.json`;
const cls = `${zoo}models/classifier.json`;
const present = existsSync(den) && existsSync(cls);

const right = <A>(r: E.Either<BackendError, A>): A => {
  if (E.isLeft(r)) throw new Error(`${r.left.kind}: ${r.left.message}`);
  return r.right;
};

const argmax = (logits: Float32Array, classes: number): number[] =>
  Array.from({ length: logits.length / classes }, (_, b) => {
    const row = Array.from(logits.subarray(b * classes, (b + 1) * classes));
    return row.indexOf(Math.max(...row));
  });

interface Fixture {
  readonly x: { readonly shape: number[]; readonly data: number[] };
  readonly t?: number[];
  readonly out?: { readonly data: number[] };
  readonly logits?: { readonly data: number[] };
}
const fixture = (name: string): Fixture | null => {
  const p = `${zoo}fixtures/${name}-io.json`;
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as Fixture) : null;
};

/**
 * `count` images spread over the shipped test split (DPDS: 32-byte header with count at byte 8, then one label
 * byte per image, then float32 NCHW pixels in [0, 1]); null when the file is absent or not float32.
 */
function testImages(count: number): { x: Float32Array; labels: number[] } | null {
  const path = `${zoo}data/mnist-test.bin`;
  if (!existsSync(path)) return null;
  const bytes = readFileSync(path);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getUint32(8, true);
  if (view.getUint32(28, true) !== 2) return null;
  const x = new Float32Array(count * 784);
  const labels: number[] = [];
  for (let k = 0; k < count; k++) {
    const i = Math.floor((k * n) / count);
    labels.push(bytes[32 + i]!);
    const start = 32 + n + i * 784 * 4;
    for (let p = 0; p < 784; p++) x[k * 784 + p] = view.getFloat32(start + 4 * p, true);
  }
  return { x, labels };
}

describe.skipIf(!present)('shipped zoo-mnist models: tfjs (wasm) vs onnxruntime', () => {
  let onnxDen: Denoiser;
  let tfjsDen: Denoiser;
  let onnxCls: Classifier;
  let tfjsCls: Classifier;

  beforeAll(async () => {
    onnxDen = right(await loadDenoiser(den, { backend: 'onnx', threads: 1 })());
    tfjsDen = right(await loadDenoiser(den, { backend: 'tfjs', device: 'wasm' })());
    onnxCls = right(await loadClassifier(cls, { backend: 'onnx', threads: 1 })());
    tfjsCls = right(await loadClassifier(cls, { backend: 'tfjs', device: 'wasm' })());
  });
  afterAll(async () => {
    await Promise.all([onnxDen, tfjsDen, onnxCls, tfjsCls].map((m) => m?.dispose()));
  });

  it('the tfjs denoiser reports the wasm runtime and why the native ones were not used', () => {
    expect(tfjsDen.metadata.backend).toBe('tfjs');
    expect(tfjsDen.metadata.runtime).toMatch(/wasm/);
  });

  it('denoiser: eps and v agree to 1e-4 on a batch of 8', async () => {
    const batch = 8;
    const x = seeded(batch * 784, 21, -1.5, 1.5);
    const t = [0, 10, 50, 145, 258, 400, 700, 999];
    const a = right(await onnxDen.run(x, t)());
    const b = right(await tfjsDen.run(x, t)());
    const epsDiff = maxAbsDiff(a.eps, b.eps);
    const vDiff = maxAbsDiff(a.v!, b.v!);
    console.log(`zoo denoiser, batch ${batch}: max |eps diff| ${epsDiff.toExponential(2)}, max |v diff| ${vDiff.toExponential(2)}`);
    expect(epsDiff).toBeLessThanOrEqual(1e-4);
    expect(vDiff).toBeLessThanOrEqual(1e-4);
  });

  it('classifier: logits agree to 1e-4 and argmax labels are identical on a batch of 32', async () => {
    const batch = 32;
    const x = seeded(batch * 784, 22, 0, 1);
    const a = right(await onnxCls.run(x, batch)());
    const b = right(await tfjsCls.run(x, batch)());
    const diff = maxAbsDiff(a, b);
    console.log(`zoo classifier, batch ${batch}: max |logit diff| ${diff.toExponential(2)}`);
    expect(diff).toBeLessThanOrEqual(1e-4);
    expect(argmax(b, 10)).toEqual(argmax(a, 10));
  });

  it('real MNIST test digits: identical labels and logits within 1e-4 on a batch of 64 across all classes', async () => {
    const data = testImages(64);
    if (data === null) return;
    const a = right(await onnxCls.run(data.x, 64)());
    const b = right(await tfjsCls.run(data.x, 64)());
    const diff = maxAbsDiff(a, b);
    const labels = argmax(b, 10);
    const correct = labels.filter((l, i) => l === data.labels[i]).length;
    console.log(`zoo classifier, 64 real test digits: max |logit diff| ${diff.toExponential(2)}, tfjs accuracy ${correct}/64`);
    expect(diff).toBeLessThanOrEqual(1e-4);
    expect(labels).toEqual(argmax(a, 10));
    // The same digits noised as the diffusion forward process would (x_t = a x0 + b n, model scale [-1, 1]).
    const noise = seeded(64 * 784, 23);
    const xt = data.x.map((v, i) => 0.8 * (2 * v - 1) + 0.6 * noise[i]!);
    const t = Array.from({ length: 64 }, (_, i) => (i * 53) % 1000);
    const ea = right(await onnxDen.run(xt, t)());
    const eb = right(await tfjsDen.run(xt, t)());
    expect(maxAbsDiff(ea.eps, eb.eps)).toBeLessThanOrEqual(1e-4);
    expect(maxAbsDiff(ea.v!, eb.v!)).toBeLessThanOrEqual(1e-4);
  });

  it('tf.memory().numTensors stays flat over batches of the shipped denoiser', async () => {
    const choice = await chooseRuntime('wasm');
    if (E.isLeft(choice)) throw new Error(choice.left.message);
    const tf = choice.right.runtime.tf;
    const counts: number[] = [];
    for (let i = 0; i < 8; i++) {
      const b = 1 + (i % 3);
      right(await tfjsDen.run(seeded(b * 784, 30 + i), Array.from({ length: b }, (_, k) => (i * 131 + k) % 1000))());
      counts.push(tf.memory().numTensors);
    }
    expect(new Set(counts).size).toBe(1);
  });

  it('matches the PyTorch fixtures (packages/zoo-mnist/fixtures) to 1e-4', async () => {
    const fd = fixture('denoiser');
    if (fd?.t !== undefined && fd.out !== undefined) {
      const out = right(await tfjsDen.run(Float32Array.from(fd.x.data), fd.t)());
      const per = 784;
      const joined = new Float32Array(fd.t.length * 2 * per);
      for (let b = 0; b < fd.t.length; b++) {
        joined.set(out.eps.subarray(b * per, (b + 1) * per), 2 * b * per);
        joined.set(out.v!.subarray(b * per, (b + 1) * per), (2 * b + 1) * per);
      }
      expect(maxAbsDiff(joined, fd.out.data)).toBeLessThanOrEqual(1e-4);
    }
    const fc = fixture('classifier');
    if (fc?.logits !== undefined) {
      const batch = fc.x.shape[0]!;
      const logits = right(await tfjsCls.run(Float32Array.from(fc.x.data), batch)());
      expect(maxAbsDiff(logits, fc.logits.data)).toBeLessThanOrEqual(1e-4);
    }
  });
});

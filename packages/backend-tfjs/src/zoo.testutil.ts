// The shipped MNIST models (packages/zoo-mnist/models, torch.onnx exports) through the onnx backend and the
// tfjs backend on one device, on the same inputs, and against the PyTorch outputs stored as fixtures.
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
export const zooPresent = existsSync(den) && existsSync(cls);
/** The shipped models' manifests, for suites that run them too. */
export const zooModels = zooPresent ? [{ label: 'zoo-mnist', denoiser: den, classifier: cls }] : [];

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

/** How much each agreement check runs: a software GPU adapter gets smaller batches than wasm. */
export interface ZooSizes {
  readonly denoiserTimesteps: readonly number[];
  readonly classifierBatch: number;
  /** Real test digits for the classifier, and how many of them (noised) go through the denoiser. */
  readonly realDigits: number;
  readonly realDenoised: number;
  readonly memoryRuns: number;
}

export const WASM_SIZES: ZooSizes = {
  denoiserTimesteps: [0, 10, 50, 145, 258, 400, 700, 999],
  classifierBatch: 32,
  realDigits: 64,
  realDenoised: 64,
  memoryRuns: 8,
};

/**
 * The agreement suite on one tfjs device: eps, v and logits within `tolerance` of onnxruntime (1 thread) and of
 * the PyTorch fixtures, identical argmax labels, and a flat tensor count over batches.
 */
export function describeZooAgreement(device: string, sizes: ZooSizes, tolerance = 1e-4): void {
  describe.skipIf(!zooPresent)(`shipped zoo-mnist models: tfjs (${device}) vs onnxruntime`, () => {
    let onnxDen: Denoiser;
    let tfjsDen: Denoiser;
    let onnxCls: Classifier;
    let tfjsCls: Classifier;

    beforeAll(async () => {
      onnxDen = right(await loadDenoiser(den, { backend: 'onnx', threads: 1 })());
      tfjsDen = right(await loadDenoiser(den, { backend: 'tfjs', device })());
      onnxCls = right(await loadClassifier(cls, { backend: 'onnx', threads: 1 })());
      tfjsCls = right(await loadClassifier(cls, { backend: 'tfjs', device })());
    });
    afterAll(async () => {
      await Promise.all([onnxDen, tfjsDen, onnxCls, tfjsCls].map((m) => m?.dispose()));
    });

    it(`the tfjs denoiser reports the ${device} runtime`, () => {
      expect(tfjsDen.metadata.backend).toBe('tfjs');
      expect(tfjsDen.metadata.runtime).toContain(device.split(':')[0]!);
    });

    it(`denoiser: eps and v agree to ${tolerance} on a batch of ${sizes.denoiserTimesteps.length}`, async () => {
      const t = [...sizes.denoiserTimesteps];
      const batch = t.length;
      const x = seeded(batch * 784, 21, -1.5, 1.5);
      const a = right(await onnxDen.run(x, t)());
      const b = right(await tfjsDen.run(x, t)());
      const epsDiff = maxAbsDiff(a.eps, b.eps);
      const vDiff = maxAbsDiff(a.v!, b.v!);
      console.log(`zoo denoiser (${device}), batch ${batch}: max |eps diff| ${epsDiff.toExponential(2)}, max |v diff| ${vDiff.toExponential(2)}`);
      expect(epsDiff).toBeLessThanOrEqual(tolerance);
      expect(vDiff).toBeLessThanOrEqual(tolerance);
    });

    it(`classifier: logits agree to ${tolerance} and argmax labels are identical on a batch of ${sizes.classifierBatch}`, async () => {
      const batch = sizes.classifierBatch;
      const x = seeded(batch * 784, 22, 0, 1);
      const a = right(await onnxCls.run(x, batch)());
      const b = right(await tfjsCls.run(x, batch)());
      const diff = maxAbsDiff(a, b);
      console.log(`zoo classifier (${device}), batch ${batch}: max |logit diff| ${diff.toExponential(2)}`);
      expect(diff).toBeLessThanOrEqual(tolerance);
      expect(argmax(b, 10)).toEqual(argmax(a, 10));
    });

    it(`real MNIST test digits: identical labels and logits within ${tolerance} on a batch of ${sizes.realDigits} across all classes`, async () => {
      const n = sizes.realDigits;
      const data = testImages(n);
      if (data === null) return;
      const a = right(await onnxCls.run(data.x, n)());
      const b = right(await tfjsCls.run(data.x, n)());
      const diff = maxAbsDiff(a, b);
      const labels = argmax(b, 10);
      const correct = labels.filter((l, i) => l === data.labels[i]).length;
      console.log(`zoo classifier (${device}), ${n} real test digits: max |logit diff| ${diff.toExponential(2)}, tfjs accuracy ${correct}/${n}`);
      expect(diff).toBeLessThanOrEqual(tolerance);
      expect(labels).toEqual(argmax(a, 10));
      // The first digits noised as the diffusion forward process would (x_t = a x0 + b n, model scale [-1, 1]).
      const m = sizes.realDenoised;
      const noise = seeded(m * 784, 23);
      const xt = data.x.subarray(0, m * 784).map((v, i) => 0.8 * (2 * v - 1) + 0.6 * noise[i]!);
      const t = Array.from({ length: m }, (_, i) => (i * 53) % 1000);
      const ea = right(await onnxDen.run(xt, t)());
      const eb = right(await tfjsDen.run(xt, t)());
      expect(maxAbsDiff(ea.eps, eb.eps)).toBeLessThanOrEqual(tolerance);
      expect(maxAbsDiff(ea.v!, eb.v!)).toBeLessThanOrEqual(tolerance);
    });

    it('tf.memory().numTensors stays flat over batches of the shipped denoiser', async () => {
      const choice = await chooseRuntime(device);
      if (E.isLeft(choice)) throw new Error(choice.left.message);
      const tf = choice.right.runtime.tf;
      const counts: number[] = [];
      for (let i = 0; i < sizes.memoryRuns; i++) {
        const b = 1 + (i % 3);
        right(await tfjsDen.run(seeded(b * 784, 30 + i), Array.from({ length: b }, (_, k) => (i * 131 + k) % 1000))());
        counts.push(tf.memory().numTensors);
      }
      expect(new Set(counts).size).toBe(1);
    });

    it(`matches the PyTorch fixtures (packages/zoo-mnist/fixtures) to ${tolerance}`, async () => {
      const fd = fixture('denoiser');
      if (fd?.t !== undefined && fd.out !== undefined) {
        const out = right(await tfjsDen.run(Float32Array.from(fd.x.data), fd.t)());
        const per = 784;
        const joined = new Float32Array(fd.t.length * 2 * per);
        for (let b = 0; b < fd.t.length; b++) {
          joined.set(out.eps.subarray(b * per, (b + 1) * per), 2 * b * per);
          joined.set(out.v!.subarray(b * per, (b + 1) * per), (2 * b + 1) * per);
        }
        expect(maxAbsDiff(joined, fd.out.data)).toBeLessThanOrEqual(tolerance);
      }
      const fc = fixture('classifier');
      if (fc?.logits !== undefined) {
        const batch = fc.x.shape[0]!;
        const logits = right(await tfjsCls.run(Float32Array.from(fc.x.data), batch)());
        expect(maxAbsDiff(logits, fc.logits.data)).toBeLessThanOrEqual(tolerance);
      }
    });
  });
}

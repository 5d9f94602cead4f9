// Checks a model zoo's tests share: the exported graph reproduces the outputs recorded at export (tools/train writes
// one fixture per graph), and a classifier's clean accuracy on the zoo's held-out images.
import { readFileSync } from 'node:fs';
import { either as E } from 'fp-ts';
import { loadClassifier, loadDenoiser } from '../index.js';
import { maxAbsDiff } from './values.js';

/** A graph's recorded inputs and PyTorch outputs (`fixtures/<name>-io.json` in a zoo). */
export interface IoFixture {
  readonly tolerance: number;
  readonly x: { readonly shape: number[]; readonly data: number[] };
  readonly t?: number[];
  readonly out?: { readonly shape: number[]; readonly data: number[] };
  readonly logits?: { readonly shape: number[]; readonly data: number[] };
}

export const readIoFixture = (path: string | URL): IoFixture => JSON.parse(readFileSync(path, 'utf8')) as IoFixture;

const must = <A>(r: E.Either<{ message: string }, A>): A => {
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};

/** Largest deviation of the denoiser's eps and v channels from the fixture's recorded `out` (channel 0 eps, 1 v). */
export async function denoiserFixtureDeviation(path: string, fx: IoFixture, backend = 'onnx'): Promise<{ readonly eps: number; readonly v: number; readonly learnedVariance: boolean }> {
  const d = must(await loadDenoiser(path, { backend })());
  try {
    const out = must(await d.run(Float32Array.from(fx.x.data), fx.t!)());
    const per = fx.x.data.length / fx.t!.length;
    const eps: number[] = [];
    const v: number[] = [];
    for (let b = 0; b < fx.t!.length; b++) {
      eps.push(...fx.out!.data.slice(2 * b * per, (2 * b + 1) * per));
      v.push(...fx.out!.data.slice((2 * b + 1) * per, (2 * b + 2) * per));
    }
    return { eps: maxAbsDiff(out.eps, eps), v: out.v == null ? Number.POSITIVE_INFINITY : maxAbsDiff(out.v, v), learnedVariance: d.metadata.learnedVariance };
  } finally {
    await d.dispose();
  }
}

/** Largest deviation of the classifier's logits from the fixture's recorded `logits`. */
export async function classifierFixtureDeviation(path: string, fx: IoFixture, backend = 'onnx'): Promise<number> {
  const c = must(await loadClassifier(path, { backend })());
  try {
    return maxAbsDiff(must(await c.run(Float32Array.from(fx.x.data), fx.x.shape[0]!)()), fx.logits!.data);
  } finally {
    await c.dispose();
  }
}

/** Top-1 accuracy of a classifier on every image of a labelled set (a @densepure/datasets Dataset fits). */
export async function cleanAccuracy(
  path: string,
  images: { readonly size: number; readonly get: (i: number) => { readonly image: Float32Array; readonly label: number } },
  backend = 'onnx',
  batch = 500,
): Promise<number> {
  const c = must(await loadClassifier(path, { backend })());
  try {
    let correct = 0;
    for (let start = 0; start < images.size; start += batch) {
      const n = Math.min(batch, images.size - start);
      const per = images.get(start).image.length;
      const x = new Float32Array(n * per);
      for (let i = 0; i < n; i++) x.set(images.get(start + i).image, i * per);
      const logits = must(await c.run(x, n)());
      const k = logits.length / n;
      for (let i = 0; i < n; i++) {
        const row = Array.from(logits.subarray(i * k, (i + 1) * k));
        if (row.indexOf(Math.max(...row)) === images.get(start + i).label) correct += 1;
      }
    }
    return correct / images.size;
  } finally {
    await c.dispose();
  }
}

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { either as E } from 'fp-ts';
import { afterAll, describe, expect, it } from 'vitest';
import { type ManifestRequest, loadClassifier, loadDenoiser, manifestText, sha256Hex } from '@densepure/backend';
import { buildOnnxModel, tinyClassifierOnnx, tinyDenoiserOnnx } from '@densepure/backend/testing';
import { describeOnnxModel } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'densepure-describe-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const write = (name: string, bytes: Uint8Array): string => {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
};

const denoiserRequest: ManifestRequest = { kind: 'denoiser', diffusion: { schedule: 'cosine', T: 4000 } };

async function failure(path: string, request: ManifestRequest): Promise<string> {
  const r = await describeOnnxModel(path, request)();
  if (E.isRight(r)) throw new Error('expected the description to fail');
  return r.left.message;
}

// x -> x - mean over the batch axis: what a batch norm left in training mode does.
const batchMixing = (): Uint8Array =>
  buildOnnxModel({
    name: 'mixing',
    opset: 13,
    inputs: [{ name: 'x', type: 'float32', shape: ['B', 1, 4, 4] }],
    outputs: [{ name: 'logits', type: 'float32', shape: ['B', 16] }],
    nodes: [
      { op: 'ReduceMean', inputs: ['x'], outputs: ['m'], attrs: { axes: [0], keepdims: 1 } },
      { op: 'Sub', inputs: ['x', 'm'], outputs: ['d'] },
      { op: 'Flatten', inputs: ['d'], outputs: ['logits'], attrs: { axis: 1 } },
    ],
  });

const identityClassifier = (shape: (number | string)[]): Uint8Array =>
  buildOnnxModel({
    name: 'flat',
    inputs: [{ name: 'x', type: 'float32', shape }],
    outputs: [{ name: 'logits', type: 'float32', shape: [shape[0]!, 'K'] }],
    nodes: [{ op: 'Flatten', inputs: ['x'], outputs: ['logits'], attrs: { axis: 1 } }],
  });

describe('describeOnnxModel (densepure manifest)', () => {
  it('builds a denoiser manifest that loads, inferring learned variance from 2C output channels', async () => {
    const bytes = tinyDenoiserOnnx();
    const path = write('den.onnx', bytes);
    const r = await describeOnnxModel(path, { ...denoiserRequest, name: 'my-ddpm' })();
    if (E.isLeft(r)) throw new Error(r.left.message);
    const m = r.right.manifest;
    expect(m).toMatchObject({ kind: 'denoiser', name: 'my-ddpm', file: 'den.onnx', sha256: sha256Hex(bytes), sizeBytes: bytes.length, imageSize: 4, channels: 1, valueRange: [-1, 1] });
    expect(m.kind === 'denoiser' && m.diffusion).toEqual({ schedule: 'cosine', T: 4000, prediction: 'epsilon', learnedVariance: true, varianceParam: 'learned_range' });
    expect(m.inputs).toEqual([
      { name: 'x', dtype: 'float32', shape: ['B', 1, 4, 4] },
      { name: 't', dtype: 'int64', shape: ['B'] },
    ]);
    expect(m.outputs).toEqual([{ name: 'out', dtype: 'float32', shape: ['B', 2, 4, 4] }]);
    writeFileSync(join(dir, 'den.json'), manifestText(m));
    const loaded = await loadDenoiser(path)();
    if (E.isLeft(loaded)) throw new Error(loaded.left.message);
    expect(loaded.right.metadata.learnedVariance).toBe(true);
    await loaded.right.dispose();
  });

  it('refuses a declared variance the output does not have', async () => {
    const path = write('fixed.onnx', tinyDenoiserOnnx({ learnedVariance: false }));
    const msg = await failure(path, { kind: 'denoiser', diffusion: { schedule: 'linear', T: 1000, learnedVariance: true } });
    expect(msg).toMatch(/learned variance was declared.*2C = 2 channels.*has 1.*declare fixed variance/);
  });

  it('builds a classifier manifest with class names, normalisation and resize, and loads it', async () => {
    const path = write('cls.onnx', tinyClassifierOnnx());
    const r = await describeOnnxModel(path, {
      kind: 'classifier',
      classNames: ['a', 'b', 'c'],
      normalization: { mean: [0.5], std: [0.25] },
      resize: 'bicubic-antialias',
    })();
    if (E.isLeft(r)) throw new Error(r.left.message);
    expect(r.right.manifest).toMatchObject({ kind: 'classifier', numClasses: 3, classNames: ['a', 'b', 'c'], normalization: { mean: [0.5], std: [0.25], appliedInGraph: false }, resize: 'bicubic-antialias' });
    writeFileSync(join(dir, 'cls.json'), manifestText(r.right.manifest));
    const loaded = await loadClassifier(path)();
    if (E.isLeft(loaded)) throw new Error(loaded.left.message);
    expect(loaded.right.metadata.resize).toBe('bicubic-antialias');
    await loaded.right.dispose();
  });

  it('refuses a class count the logits do not have', async () => {
    const path = write('cls2.onnx', tinyClassifierOnnx());
    expect(await failure(path, { kind: 'classifier', numClasses: 10 })).toMatch(/10 classes were declared but output 'logits' has 3 logits/);
    expect(await failure(path, { kind: 'classifier', classNames: ['x', 'y'] })).toMatch(/2 class names/);
  });

  it('refuses a fixed batch axis, a missing timestep input and dynamic image sizes without a declared size', async () => {
    expect(await failure(write('fixed-batch.onnx', identityClassifier([1, 1, 4, 4])), { kind: 'classifier' })).toMatch(/batch axis of input 'x' is fixed at 1.*dynamic_axes/);
    expect(await failure(write('no-t.onnx', tinyClassifierOnnx()), denoiserRequest)).toMatch(/two inputs/);
    const dyn = write('dyn.onnx', identityClassifier(['B', 1, 'H', 'W']));
    expect(await failure(dyn, { kind: 'classifier' })).toMatch(/dynamic height and width.*declare the image size/);
    const ok = await describeOnnxModel(dyn, { kind: 'classifier', imageSize: 3 })();
    expect(E.isRight(ok) && ok.right.manifest).toMatchObject({ imageSize: 3, numClasses: 9 });
  });

  it('refuses a graph that mixes the images of a batch (training-mode batch norm)', async () => {
    expect(await failure(write('mixing.onnx', batchMixing()), { kind: 'classifier' })).toMatch(/depends on the other images of its batch.*model\.eval\(\)/);
  });

  it('says when the file is not an ONNX model or is missing', async () => {
    const bad = await describeOnnxModel(write('junk.onnx', new TextEncoder().encode('not a model')), { kind: 'classifier' })();
    expect(E.isLeft(bad) && bad.left.kind).toBe('corrupt-model');
    const missing = await describeOnnxModel(join(dir, 'nope.onnx'), { kind: 'classifier' })();
    expect(E.isLeft(missing) && missing.left.kind).toBe('file-not-found');
  });

  it('reads the model as every command does: a FIFO or a symlink to /dev/zero is refused at once, nothing read', async () => {
    execFileSync('mkfifo', [join(dir, 'fifo.onnx')]);
    symlinkSync('/dev/zero', join(dir, 'zero.onnx'));
    const started = Date.now();
    for (const name of ['fifo.onnx', 'zero.onnx']) expect(await failure(join(dir, name), { kind: 'classifier' })).toMatch(/the model file .* is not a regular file \(it is a (FIFO|device)\); name the file itself/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('refuses an image input too large to allocate, and a T no schedule holds, in words', async () => {
    const huge = buildOnnxModel({
      name: 'huge',
      inputs: [{ name: 'x', type: 'float32', shape: ['B', 3, 50000, 50000] }],
      outputs: [{ name: 'logits', type: 'float32', shape: ['B', 3] }],
      nodes: [{ op: 'ReduceMean', inputs: ['x'], outputs: ['logits'], attrs: { axes: [2, 3], keepdims: 0 } }],
    });
    expect(await failure(write('huge.onnx', huge), { kind: 'classifier' })).toMatch(/input 'x' takes 3x50000x50000 images, 7500000000 values each, more than the 33554432 densepure handles/);
    expect(await failure(write('den-t.onnx', tinyDenoiserOnnx()), { kind: 'denoiser', diffusion: { schedule: 'cosine', T: 1e12 } })).toMatch(/T = 1000000000000 .* from 1 to 100000/);
  });
});

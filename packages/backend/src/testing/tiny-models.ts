import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Hex } from '../file-source.js';
import { buildOnnxModel } from './onnx-builder.js';

/** Tiny models share a 1x4x4 image shape; their outputs are simple closed forms the suite checks exactly. */
export const TINY_SHAPE = [1, 4, 4] as const;
export const TINY_PIXELS = 16;
export const TINY_CLASSES = 3;

/** Tiny denoiser: eps = 0.5 x, v = t / 1000 (broadcast), out = concat(eps, v) on channels. */
export function tinyDenoiserOnnx(options: { learnedVariance?: boolean } = {}): Uint8Array {
  const learned = options.learnedVariance ?? true;
  return buildOnnxModel({
    name: 'tiny-denoiser',
    inputs: [
      { name: 'x', type: 'float32', shape: ['B', 1, 4, 4] },
      { name: 't', type: 'int64', shape: ['B'] },
    ],
    outputs: [{ name: 'out', type: 'float32', shape: ['B', learned ? 2 : 1, 4, 4] }],
    initializers: [
      { name: 'half', type: 'float32', dims: [], values: [0.5] },
      ...(learned
        ? [
            { name: 'zero', type: 'float32' as const, dims: [], values: [0] },
            { name: 'thousand', type: 'float32' as const, dims: [], values: [1000] },
            { name: 'bshape', type: 'int64' as const, dims: [4], values: [-1, 1, 1, 1] },
          ]
        : []),
    ],
    nodes: learned
      ? [
          { op: 'Mul', inputs: ['x', 'half'], outputs: ['eps'] },
          { op: 'Cast', inputs: ['t'], outputs: ['tf'], attrs: { to: 1 } },
          { op: 'Div', inputs: ['tf', 'thousand'], outputs: ['tscaled'] },
          { op: 'Reshape', inputs: ['tscaled', 'bshape'], outputs: ['t4'] },
          { op: 'Mul', inputs: ['x', 'zero'], outputs: ['xzero'] },
          { op: 'Add', inputs: ['xzero', 't4'], outputs: ['v'] },
          { op: 'Concat', inputs: ['eps', 'v'], outputs: ['out'], attrs: { axis: 1 } },
        ]
      : [{ op: 'Mul', inputs: ['x', 'half'], outputs: ['out'] }],
  });
}

/** Weight of pixel i for class c in the tiny classifier; the suite recomputes logits from it. */
export const tinyClassifierWeight = (i: number, c: number): number => ((i % 4) - 1.5) * (c - 1) + 0.01 * i * (c + 1);
export const tinyClassifierBias = (c: number): number => 0.1 * c;

/**
 * Tiny classifier: logits = flatten(x) W + b, with W and b from the two functions above. With `softmax`, the
 * graph ends in Softmax and outputs probabilities ('probs') instead.
 */
export function tinyClassifierOnnx(options: { softmax?: boolean } = {}): Uint8Array {
  const w: number[] = [];
  for (let i = 0; i < TINY_PIXELS; i++) for (let c = 0; c < TINY_CLASSES; c++) w.push(tinyClassifierWeight(i, c));
  const softmax = options.softmax ?? false;
  return buildOnnxModel({
    name: 'tiny-classifier',
    inputs: [{ name: 'x', type: 'float32', shape: ['B', 1, 4, 4] }],
    outputs: [{ name: softmax ? 'probs' : 'logits', type: 'float32', shape: ['B', TINY_CLASSES] }],
    initializers: [
      { name: 'W', type: 'float32', dims: [TINY_PIXELS, TINY_CLASSES], values: w },
      { name: 'b', type: 'float32', dims: [TINY_CLASSES], values: Array.from({ length: TINY_CLASSES }, (_, c) => tinyClassifierBias(c)) },
    ],
    nodes: [
      { op: 'Flatten', inputs: ['x'], outputs: ['flat'], attrs: { axis: 1 } },
      { op: 'Gemm', inputs: ['flat', 'W', 'b'], outputs: ['logits'] },
      ...(softmax ? [{ op: 'Softmax', inputs: ['logits'], outputs: ['probs'], attrs: { axis: 1 } }] : []),
    ],
  });
}

export function tinyDenoiserManifest(file: string, bytes: Uint8Array, learnedVariance = true): Record<string, unknown> {
  return {
    schemaVersion: 1,
    kind: 'denoiser',
    name: 'tiny-denoiser',
    format: 'onnx',
    file,
    sha256: sha256Hex(bytes),
    sizeBytes: bytes.length,
    inputs: [
      { name: 'x', dtype: 'float32', shape: ['B', 1, 4, 4] },
      { name: 't', dtype: 'int64', shape: ['B'] },
    ],
    outputs: [{ name: 'out', dtype: 'float32', shape: ['B', learnedVariance ? 2 : 1, 4, 4] }],
    imageSize: 4,
    channels: 1,
    valueRange: [-1, 1],
    diffusion: { schedule: 'linear', T: 1000, prediction: 'epsilon', learnedVariance },
  };
}

export function tinyClassifierManifest(file: string, bytes: Uint8Array): Record<string, unknown> {
  return {
    schemaVersion: 1,
    kind: 'classifier',
    name: 'tiny-classifier',
    format: 'onnx',
    file,
    sha256: sha256Hex(bytes),
    sizeBytes: bytes.length,
    inputs: [{ name: 'x', dtype: 'float32', shape: ['B', 1, 4, 4] }],
    outputs: [{ name: 'logits', dtype: 'float32', shape: ['B', TINY_CLASSES] }],
    imageSize: 4,
    channels: 1,
    valueRange: [0, 1],
    numClasses: TINY_CLASSES,
    classNames: ['a', 'b', 'c'],
  };
}

/** Paths of the tiny fixture set written by {@link writeTinyModels}. */
export interface TinyModelPaths {
  readonly denoiser: string;
  readonly denoiserFixedVariance: string;
  readonly classifier: string;
  /** The tiny classifier ending in Softmax, its manifest saying output: 'probabilities'. */
  readonly classifierProbabilities: string;
  /** The tiny classifier, its manifest saying output: 'scores' (no probabilities). */
  readonly classifierScores: string;
  /** Valid manifest + sha, but the bytes are not an ONNX model. */
  readonly corrupt: string;
  /** The manifest records another sha256 than the file has. */
  readonly shaMismatch: string;
  /** The manifest promises eps + v (2 channels), the graph outputs 1. */
  readonly contractViolation: string;
  readonly missing: string;
}

async function writeModel(dir: string, stem: string, bytes: Uint8Array, manifest: Record<string, unknown>): Promise<string> {
  const path = join(dir, `${stem}.onnx`);
  await writeFile(path, bytes);
  await writeFile(join(dir, `${stem}.json`), JSON.stringify(manifest, null, 2));
  return path;
}

/** Writes the tiny models and their manifests (plus broken variants) into `dir`. */
export async function writeTinyModels(dir: string): Promise<TinyModelPaths> {
  await mkdir(dir, { recursive: true });
  const den = tinyDenoiserOnnx();
  const denFixed = tinyDenoiserOnnx({ learnedVariance: false });
  const cls = tinyClassifierOnnx();
  const clsProbs = tinyClassifierOnnx({ softmax: true });
  const probsManifest = tinyClassifierManifest('tiny-classifier-probabilities.onnx', clsProbs);
  const garbage = new TextEncoder().encode('this is not an onnx protobuf \u0000\u0001\u0002 at all');
  return {
    denoiser: await writeModel(dir, 'tiny-denoiser', den, tinyDenoiserManifest('tiny-denoiser.onnx', den)),
    denoiserFixedVariance: await writeModel(dir, 'tiny-denoiser-fixed', denFixed, tinyDenoiserManifest('tiny-denoiser-fixed.onnx', denFixed, false)),
    classifier: await writeModel(dir, 'tiny-classifier', cls, tinyClassifierManifest('tiny-classifier.onnx', cls)),
    classifierProbabilities: await writeModel(dir, 'tiny-classifier-probabilities', clsProbs, {
      ...probsManifest,
      outputs: [{ name: 'probs', dtype: 'float32', shape: ['B', TINY_CLASSES] }],
      output: 'probabilities',
    }),
    classifierScores: await writeModel(dir, 'tiny-classifier-scores', cls, { ...tinyClassifierManifest('tiny-classifier-scores.onnx', cls), output: 'scores' }),
    corrupt: await writeModel(dir, 'corrupt', garbage, tinyDenoiserManifest('corrupt.onnx', garbage)),
    shaMismatch: await writeModel(dir, 'sha-mismatch', den, { ...tinyDenoiserManifest('sha-mismatch.onnx', den), sha256: '0'.repeat(64) }),
    contractViolation: await writeModel(dir, 'contract', denFixed, tinyDenoiserManifest('contract.onnx', denFixed, true)),
    missing: join(dir, 'does-not-exist.onnx'),
  };
}

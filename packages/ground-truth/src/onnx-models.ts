import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Hex } from '@densepure/backend';
import { buildOnnxModel } from '@densepure/backend/testing';
import { cosineBetaSchedule, diffusionConstants, linearBetaSchedule } from '@densepure/core';
import type { GaussianMixture } from './mixture.js';

/** The diffusion the exact eps model is written for. */
export interface ScheduleSpec {
  readonly schedule: 'linear' | 'cosine';
  readonly T: number;
}

/** abar_t of the schedule (float64), as the rest of densepure computes it from the manifest. */
export function scheduleAlphasCumprod(s: ScheduleSpec): Float64Array {
  return diffusionConstants(s.schedule === 'linear' ? linearBetaSchedule(s.T) : cosineBetaSchedule(s.T)).alphasCumprod;
}

const flatMeans = (m: GaussianMixture): number[] => m.components.flatMap((c) => c.mean);

/**
 * The exact eps-prediction of the mixture's diffusion as an ONNX graph (opset 17, only ops both backends run):
 * x [B, C, H, W], t [B] (int64 timestep) -> eps [B, C, H, W]. The timestep selects sqrt(abar_t) and the per-component
 * constants 1 / v_k, log pi_k - d/2 log v_k and sqrt(1 - abar_t) / v_k from tables (Gather); then per component the
 * squared distance of x to sqrt(abar) mu_k (computed as a difference, not expanded, to keep float32 accuracy),
 * softmax weights, and eps = sum_k w_k sqrt(1 - abar) (x - sqrt(abar) mu_k) / v_k.
 */
export function epsilonOnnx(m: GaussianMixture, schedule: ScheduleSpec): Uint8Array {
  const ac = scheduleAlphasCumprod(schedule);
  const T = schedule.T;
  const K = m.components.length;
  const d = m.dim;
  const sqrtAbar: number[] = [];
  const invV: number[] = [];
  const logPrior: number[] = [];
  const coef: number[] = [];
  for (let t = 0; t < T; t++) {
    const abar = ac[t]!;
    sqrtAbar.push(Math.sqrt(abar));
    for (const comp of m.components) {
      const v = abar * comp.std * comp.std + 1 - abar;
      invV.push(1 / v);
      logPrior.push(Math.log(comp.weight) - 0.5 * d * Math.log(v));
      coef.push(Math.sqrt(1 - abar) / v);
    }
  }
  const [C, H, W] = m.shape;
  return buildOnnxModel({
    name: 'gaussian-mixture-eps',
    inputs: [
      { name: 'x', type: 'float32', shape: ['B', C, H, W] },
      { name: 't', type: 'int64', shape: ['B'] },
    ],
    outputs: [{ name: 'eps', type: 'float32', shape: ['B', C, H, W] }],
    initializers: [
      { name: 'mu', type: 'float32', dims: [1, K, d], values: flatMeans(m) },
      { name: 'sqrt_abar', type: 'float32', dims: [T, 1, 1], values: sqrtAbar },
      { name: 'inv_v', type: 'float32', dims: [T, K], values: invV },
      { name: 'log_prior', type: 'float32', dims: [T, K], values: logPrior },
      { name: 'coef', type: 'float32', dims: [T, K], values: coef },
      { name: 'neg_half', type: 'float32', dims: [], values: [-0.5] },
      { name: 'rows_shape', type: 'int64', dims: [3], values: [-1, 1, d] },
      { name: 'out_shape', type: 'int64', dims: [4], values: [-1, C, H, W] },
      { name: 'axis1', type: 'int64', dims: [1], values: [1] },
      { name: 'axis2', type: 'int64', dims: [1], values: [2] },
    ],
    nodes: [
      { op: 'Reshape', inputs: ['x', 'rows_shape'], outputs: ['xr'] },
      { op: 'Gather', inputs: ['sqrt_abar', 't'], outputs: ['a'], attrs: { axis: 0 } },
      { op: 'Mul', inputs: ['a', 'mu'], outputs: ['a_mu'] },
      { op: 'Sub', inputs: ['xr', 'a_mu'], outputs: ['diff'] },
      { op: 'Mul', inputs: ['diff', 'diff'], outputs: ['sq'] },
      { op: 'ReduceSum', inputs: ['sq', 'axis2'], outputs: ['dist'], attrs: { keepdims: 0 } },
      { op: 'Gather', inputs: ['inv_v', 't'], outputs: ['iv'], attrs: { axis: 0 } },
      { op: 'Mul', inputs: ['dist', 'iv'], outputs: ['scaled'] },
      { op: 'Mul', inputs: ['scaled', 'neg_half'], outputs: ['quad'] },
      { op: 'Gather', inputs: ['log_prior', 't'], outputs: ['lp'], attrs: { axis: 0 } },
      { op: 'Add', inputs: ['lp', 'quad'], outputs: ['logits'] },
      { op: 'Softmax', inputs: ['logits'], outputs: ['w'], attrs: { axis: 1 } },
      { op: 'Gather', inputs: ['coef', 't'], outputs: ['cf'], attrs: { axis: 0 } },
      { op: 'Mul', inputs: ['w', 'cf'], outputs: ['wc'] },
      { op: 'Unsqueeze', inputs: ['wc', 'axis2'], outputs: ['wc3'] },
      { op: 'Mul', inputs: ['wc3', 'diff'], outputs: ['weighted'] },
      { op: 'ReduceSum', inputs: ['weighted', 'axis1'], outputs: ['eps_rows'], attrs: { keepdims: 0 } },
      { op: 'Reshape', inputs: ['eps_rows', 'out_shape'], outputs: ['eps'] },
    ],
  });
}

/**
 * The Bayes classifier of the clean mixture as an ONNX graph: x [B, C, H, W] in model units [-1, 1] -> logits
 * [B, classes] = log P(class | x) (+1e-30 so a class whose mass underflows gives a finite logit). Its argmax is
 * the exact Bayes decision.
 */
export function bayesClassifierOnnx(m: GaussianMixture): Uint8Array {
  const K = m.components.length;
  const d = m.dim;
  const classes = m.classNames.length;
  const [C, H, W] = m.shape;
  const assign: number[] = [];
  for (const comp of m.components) for (let c = 0; c < classes; c++) assign.push(comp.label === c ? 1 : 0);
  return buildOnnxModel({
    name: 'gaussian-mixture-bayes',
    inputs: [{ name: 'x', type: 'float32', shape: ['B', C, H, W] }],
    outputs: [{ name: 'logits', type: 'float32', shape: ['B', classes] }],
    initializers: [
      { name: 'mu', type: 'float32', dims: [1, K, d], values: flatMeans(m) },
      { name: 'neg_half_inv_var', type: 'float32', dims: [K], values: m.components.map((c) => -0.5 / (c.std * c.std)) },
      { name: 'log_norm', type: 'float32', dims: [K], values: m.components.map((c) => Math.log(c.weight) - d * Math.log(c.std)) },
      { name: 'assign', type: 'float32', dims: [K, classes], values: assign },
      { name: 'tiny', type: 'float32', dims: [], values: [1e-30] },
      { name: 'rows_shape', type: 'int64', dims: [3], values: [-1, 1, d] },
      { name: 'axis2', type: 'int64', dims: [1], values: [2] },
    ],
    nodes: [
      { op: 'Reshape', inputs: ['x', 'rows_shape'], outputs: ['xr'] },
      { op: 'Sub', inputs: ['xr', 'mu'], outputs: ['diff'] },
      { op: 'Mul', inputs: ['diff', 'diff'], outputs: ['sq'] },
      { op: 'ReduceSum', inputs: ['sq', 'axis2'], outputs: ['dist'], attrs: { keepdims: 0 } },
      { op: 'Mul', inputs: ['dist', 'neg_half_inv_var'], outputs: ['quad'] },
      { op: 'Add', inputs: ['quad', 'log_norm'], outputs: ['component_logits'] },
      { op: 'Softmax', inputs: ['component_logits'], outputs: ['resp'], attrs: { axis: 1 } },
      { op: 'MatMul', inputs: ['resp', 'assign'], outputs: ['mass'] },
      { op: 'Add', inputs: ['mass', 'tiny'], outputs: ['mass_pos'] },
      { op: 'Log', inputs: ['mass_pos'], outputs: ['logits'] },
    ],
  });
}

/** What the manifests record about the mixture (under `dataset`, a free-form record in the manifest schema). */
const datasetRecord = (m: GaussianMixture): Record<string, unknown> => ({
  kind: 'gaussian-mixture',
  note: 'exact model: p(x0) = sum_k weight_k N(mean_k, std_k^2 I) in model units [-1, 1]',
  shape: m.shape,
  classNames: m.classNames,
  components: m.components.map((c) => ({ weight: c.weight, mean: c.mean, std: c.std, label: c.label })),
});

export function epsilonManifest(m: GaussianMixture, schedule: ScheduleSpec, file: string, bytes: Uint8Array, name = 'gaussian-mixture-eps'): Record<string, unknown> {
  const [C, H, W] = m.shape;
  return {
    schemaVersion: 1,
    kind: 'denoiser',
    name,
    format: 'onnx',
    file,
    sha256: sha256Hex(bytes),
    sizeBytes: bytes.length,
    inputs: [
      { name: 'x', dtype: 'float32', shape: ['B', C, H, W] },
      { name: 't', dtype: 'int64', shape: ['B'] },
    ],
    outputs: [{ name: 'eps', dtype: 'float32', shape: ['B', C, H, W] }],
    imageSize: H,
    channels: C,
    valueRange: [-1, 1],
    diffusion: { schedule: schedule.schedule, T: schedule.T, prediction: 'epsilon', learnedVariance: false },
    dataset: datasetRecord(m),
  };
}

export function bayesClassifierManifest(m: GaussianMixture, file: string, bytes: Uint8Array, name = 'gaussian-mixture-bayes'): Record<string, unknown> {
  const [C, H, W] = m.shape;
  return {
    schemaVersion: 1,
    kind: 'classifier',
    name,
    format: 'onnx',
    file,
    sha256: sha256Hex(bytes),
    sizeBytes: bytes.length,
    inputs: [{ name: 'x', dtype: 'float32', shape: ['B', C, H, W] }],
    outputs: [{ name: 'logits', dtype: 'float32', shape: ['B', m.classNames.length] }],
    imageSize: H,
    channels: C,
    valueRange: [-1, 1],
    numClasses: m.classNames.length,
    classNames: m.classNames,
    normalization: { mean: Array.from({ length: C }, () => 0), std: Array.from({ length: C }, () => 1), appliedInGraph: true },
    dataset: datasetRecord(m),
  };
}

export interface GroundTruthModelPaths {
  /** The eps model file; its manifest is the same path with `.json`. */
  readonly denoiser: string;
  readonly classifier: string;
}

/** Writes the exact eps model and the Bayes classifier with their manifests into `dir` (created if missing). */
export async function writeGroundTruthModels(dir: string, m: GaussianMixture, schedule: ScheduleSpec, stem = 'gmm'): Promise<GroundTruthModelPaths> {
  await mkdir(dir, { recursive: true });
  const eps = epsilonOnnx(m, schedule);
  const cls = bayesClassifierOnnx(m);
  const write = async (name: string, bytes: Uint8Array, manifest: Record<string, unknown>): Promise<string> => {
    const path = join(dir, `${name}.onnx`);
    await writeFile(path, bytes);
    await writeFile(join(dir, `${name}.json`), `${JSON.stringify(manifest, null, 2)}\n`);
    return path;
  };
  return {
    denoiser: await write(`${stem}-eps`, eps, epsilonManifest(m, schedule, `${stem}-eps.onnx`, eps)),
    classifier: await write(`${stem}-bayes`, cls, bayesClassifierManifest(m, `${stem}-bayes.onnx`, cls)),
  };
}

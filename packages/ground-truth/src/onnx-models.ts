import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Hex } from '@densepure/backend';
import { type NodeSpec, buildOnnxModel } from '@densepure/backend/testing';
import { cosineBetaSchedule, diffusionConstants, linearBetaSchedule } from '@densepure/core';
import { logDet } from './gaussian.js';
import { type GaussianMixture, componentShape, mixtureRank } from './mixture.js';
import { noisedShape } from './posterior.js';

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
 * The components' directions padded to the mixture's largest rank q: U [K, q, d] and its variances S [K, 1, q].
 * A padded row is zero with variance std^2, so it changes nothing (its 1/S - 1/std^2 is 0).
 */
function paddedDirections(m: GaussianMixture): { q: number; U: number[]; S: number[] } {
  const q = mixtureRank(m);
  const d = m.dim;
  const U: number[] = [];
  const S: number[] = [];
  for (const comp of m.components) {
    const shape = componentShape(comp);
    const qk = shape.along.length;
    for (let j = 0; j < q; j++) {
      for (let i = 0; i < d; i++) U.push(j < qk ? shape.directions[j * d + i]! : 0);
      S.push(j < qk ? shape.along[j]! : shape.iso);
    }
  }
  return { q, U, S };
}

/**
 * The exact eps-prediction of the mixture's diffusion as an ONNX graph (opset 17, only ops both backends run):
 * x [B, C, H, W], t [B] (int64 timestep) -> eps [B, C, H, W]. Laid out component-major [K, B, .] so the
 * per-component products are batched MatMuls with no broadcast of the directions over the batch. The timestep
 * selects abar_t, 1 - abar_t, sqrt(abar_t), sqrt(1 - abar_t) and the per-component 1 / v_k and
 * log pi_k - 1/2 log det Cov_k(abar) from tables (Gather). Per component: the residual r = x - sqrt(abar) mu_k
 * (a difference, not an expanded square, to keep float32 accuracy), its projections p = U_k r, the quadratic form
 * |r|^2 / v_k + sum_j h_j p_j^2 with h_j = 1 / (abar S_kj + 1 - abar) - 1 / v_k, softmax weights over the
 * components, and eps = sqrt(1 - abar) sum_k w_k (r / v_k + U_k' (h p)). Isotropic mixtures skip the projections.
 */
export function epsilonOnnx(m: GaussianMixture, schedule: ScheduleSpec): Uint8Array {
  const ac = scheduleAlphasCumprod(schedule);
  const T = schedule.T;
  const K = m.components.length;
  const d = m.dim;
  const { q, U, S } = paddedDirections(m);
  const abarTab: number[] = [];
  const oneMinus: number[] = [];
  const sqrtAbar: number[] = [];
  const sqrtOneMinus: number[] = [];
  const invV: number[] = [];
  const logPrior: number[] = [];
  for (let t = 0; t < T; t++) {
    const abar = ac[t]!;
    abarTab.push(abar);
    oneMinus.push(1 - abar);
    sqrtAbar.push(Math.sqrt(abar));
    sqrtOneMinus.push(Math.sqrt(1 - abar));
    for (const comp of m.components) {
      const noised = noisedShape(comp, abar);
      invV.push(1 / noised.iso);
      logPrior.push(Math.log(comp.weight) - 0.5 * logDet(noised, d));
    }
  }
  const [C, H, W] = m.shape;
  const lowRank = q > 0;
  return buildOnnxModel({
    name: 'gaussian-mixture-eps',
    inputs: [
      { name: 'x', type: 'float32', shape: ['B', C, H, W] },
      { name: 't', type: 'int64', shape: ['B'] },
    ],
    outputs: [{ name: 'eps', type: 'float32', shape: ['B', C, H, W] }],
    initializers: [
      { name: 'mu', type: 'float32', dims: [K, 1, d], values: flatMeans(m) },
      { name: 'sqrt_abar', type: 'float32', dims: [T, 1], values: sqrtAbar },
      { name: 'sqrt_one_minus', type: 'float32', dims: [T, 1], values: sqrtOneMinus },
      { name: 'inv_v', type: 'float32', dims: [T, K], values: invV },
      { name: 'log_prior', type: 'float32', dims: [T, K], values: logPrior },
      { name: 'neg_half', type: 'float32', dims: [], values: [-0.5] },
      { name: 'rows_shape', type: 'int64', dims: [3], values: [1, -1, d] },
      { name: 'out_shape', type: 'int64', dims: [4], values: [-1, C, H, W] },
      { name: 'axis0', type: 'int64', dims: [1], values: [0] },
      { name: 'axis2', type: 'int64', dims: [1], values: [2] },
      ...(lowRank
        ? [
            { name: 'abar', type: 'float32' as const, dims: [T, 1], values: abarTab },
            { name: 'one_minus', type: 'float32' as const, dims: [T, 1], values: oneMinus },
            { name: 'dir_var', type: 'float32' as const, dims: [K, 1, q], values: S },
            { name: 'U', type: 'float32' as const, dims: [K, q, d], values: U },
            { name: 'one', type: 'float32' as const, dims: [], values: [1] },
          ]
        : []),
    ],
    nodes: [
      { op: 'Reshape', inputs: ['x', 'rows_shape'], outputs: ['xr'] },
      { op: 'Gather', inputs: ['sqrt_abar', 't'], outputs: ['a2'], attrs: { axis: 0 } },
      { op: 'Unsqueeze', inputs: ['a2', 'axis0'], outputs: ['a'] },
      { op: 'Mul', inputs: ['a', 'mu'], outputs: ['a_mu'] },
      { op: 'Sub', inputs: ['xr', 'a_mu'], outputs: ['diff'] },
      { op: 'Mul', inputs: ['diff', 'diff'], outputs: ['sq'] },
      { op: 'ReduceSum', inputs: ['sq', 'axis2'], outputs: ['dist'], attrs: { keepdims: 1 } },
      ...perComponentColumn('inv_v', 'iv'),
      { op: 'Mul', inputs: ['dist', 'iv'], outputs: ['iso_quad'] },
      ...perComponentColumn('log_prior', 'lp'),
      ...(lowRank
        ? ([
            { op: 'Gather', inputs: ['abar', 't'], outputs: ['ab2'], attrs: { axis: 0 } },
            { op: 'Unsqueeze', inputs: ['ab2', 'axis0'], outputs: ['ab'] },
            { op: 'Gather', inputs: ['one_minus', 't'], outputs: ['om2'], attrs: { axis: 0 } },
            { op: 'Unsqueeze', inputs: ['om2', 'axis0'], outputs: ['om'] },
            { op: 'Mul', inputs: ['ab', 'dir_var'], outputs: ['ab_s'] },
            { op: 'Add', inputs: ['ab_s', 'om'], outputs: ['noised_var'] },
            { op: 'Div', inputs: ['one', 'noised_var'], outputs: ['inv_noised'] },
            { op: 'Sub', inputs: ['inv_noised', 'iv'], outputs: ['h'] },
            { op: 'Transpose', inputs: ['U'], outputs: ['Ut'], attrs: { perm: [0, 2, 1] } },
            { op: 'MatMul', inputs: ['diff', 'Ut'], outputs: ['proj'] },
            { op: 'Mul', inputs: ['h', 'proj'], outputs: ['hp'] },
            { op: 'Mul', inputs: ['hp', 'proj'], outputs: ['hpp'] },
            { op: 'ReduceSum', inputs: ['hpp', 'axis2'], outputs: ['dir_quad'], attrs: { keepdims: 1 } },
            { op: 'Add', inputs: ['iso_quad', 'dir_quad'], outputs: ['quad_all'] },
            { op: 'Mul', inputs: ['quad_all', 'neg_half'], outputs: ['quad'] },
          ] as NodeSpec[])
        : [{ op: 'Mul', inputs: ['iso_quad', 'neg_half'], outputs: ['quad'] }]),
      { op: 'Add', inputs: ['lp', 'quad'], outputs: ['logits'] },
      { op: 'Softmax', inputs: ['logits'], outputs: ['w'], attrs: { axis: 0 } },
      { op: 'Mul', inputs: ['diff', 'iv'], outputs: ['iso_part'] },
      ...(lowRank
        ? [
            { op: 'MatMul', inputs: ['hp', 'U'], outputs: ['dir_part'] },
            { op: 'Add', inputs: ['iso_part', 'dir_part'], outputs: ['score_k'] },
          ]
        : [{ op: 'Identity', inputs: ['iso_part'], outputs: ['score_k'] }]),
      { op: 'Mul', inputs: ['w', 'score_k'], outputs: ['weighted'] },
      { op: 'ReduceSum', inputs: ['weighted', 'axis0'], outputs: ['score'], attrs: { keepdims: 0 } },
      { op: 'Gather', inputs: ['sqrt_one_minus', 't'], outputs: ['c'], attrs: { axis: 0 } },
      { op: 'Mul', inputs: ['score', 'c'], outputs: ['eps_rows'] },
      { op: 'Reshape', inputs: ['eps_rows', 'out_shape'], outputs: ['eps'] },
    ],
  });
}

/** Nodes that gather a per-timestep, per-component table [T, K] at t and lay it out as a column [K, B, 1]. */
const perComponentColumn = (table: string, out: string): NodeSpec[] => [
  { op: 'Gather', inputs: [table, 't'], outputs: [`${out}_bk`], attrs: { axis: 0 } },
  { op: 'Transpose', inputs: [`${out}_bk`], outputs: [`${out}_kb`], attrs: { perm: [1, 0] } },
  { op: 'Unsqueeze', inputs: [`${out}_kb`, 'axis2'], outputs: [out] },
];

/**
 * The Bayes classifier of the clean mixture as an ONNX graph: x [B, C, H, W] in model units [-1, 1] -> logits
 * [B, classes] = log P(class | x) (+1e-30 so a class whose mass underflows gives a finite logit). Its argmax is
 * the exact Bayes decision. The same component-major layout and quadratic form as {@link epsilonOnnx} at abar = 1.
 */
export function bayesClassifierOnnx(m: GaussianMixture): Uint8Array {
  const K = m.components.length;
  const d = m.dim;
  const classes = m.classNames.length;
  const [C, H, W] = m.shape;
  const { q, U, S } = paddedDirections(m);
  const lowRank = q > 0;
  const shapes = m.components.map(componentShape);
  const h: number[] = [];
  for (const [k, shape] of shapes.entries()) for (let j = 0; j < q; j++) h.push(1 / S[k * q + j]! - 1 / shape.iso);
  const assign: number[] = [];
  for (const comp of m.components) for (let c = 0; c < classes; c++) assign.push(comp.label === c ? 1 : 0);
  return buildOnnxModel({
    name: 'gaussian-mixture-bayes',
    inputs: [{ name: 'x', type: 'float32', shape: ['B', C, H, W] }],
    outputs: [{ name: 'logits', type: 'float32', shape: ['B', classes] }],
    initializers: [
      { name: 'mu', type: 'float32', dims: [K, 1, d], values: flatMeans(m) },
      { name: 'neg_half_inv_var', type: 'float32', dims: [K, 1, 1], values: shapes.map((c) => -0.5 / c.iso) },
      { name: 'log_norm', type: 'float32', dims: [K, 1, 1], values: m.components.map((c, k) => Math.log(c.weight) - 0.5 * logDet(shapes[k]!, d)) },
      { name: 'assign', type: 'float32', dims: [K, classes], values: assign },
      { name: 'tiny', type: 'float32', dims: [], values: [1e-30] },
      { name: 'neg_half', type: 'float32', dims: [], values: [-0.5] },
      { name: 'rows_shape', type: 'int64', dims: [3], values: [1, -1, d] },
      { name: 'resp_shape', type: 'int64', dims: [2], values: [K, -1] },
      { name: 'axis2', type: 'int64', dims: [1], values: [2] },
      ...(lowRank
        ? [
            { name: 'U', type: 'float32' as const, dims: [K, q, d], values: U },
            { name: 'h', type: 'float32' as const, dims: [K, 1, q], values: h },
          ]
        : []),
    ],
    nodes: [
      { op: 'Reshape', inputs: ['x', 'rows_shape'], outputs: ['xr'] },
      { op: 'Sub', inputs: ['xr', 'mu'], outputs: ['diff'] },
      { op: 'Mul', inputs: ['diff', 'diff'], outputs: ['sq'] },
      { op: 'ReduceSum', inputs: ['sq', 'axis2'], outputs: ['dist'], attrs: { keepdims: 1 } },
      { op: 'Mul', inputs: ['dist', 'neg_half_inv_var'], outputs: ['iso_quad'] },
      ...(lowRank
        ? [
            { op: 'Transpose', inputs: ['U'], outputs: ['Ut'], attrs: { perm: [0, 2, 1] } },
            { op: 'MatMul', inputs: ['diff', 'Ut'], outputs: ['proj'] },
            { op: 'Mul', inputs: ['proj', 'proj'], outputs: ['pp'] },
            { op: 'Mul', inputs: ['pp', 'h'], outputs: ['hpp'] },
            { op: 'ReduceSum', inputs: ['hpp', 'axis2'], outputs: ['dir_quad2'], attrs: { keepdims: 1 } },
            { op: 'Mul', inputs: ['dir_quad2', 'neg_half'], outputs: ['dir_quad'] },
            { op: 'Add', inputs: ['iso_quad', 'dir_quad'], outputs: ['quad'] },
          ]
        : [{ op: 'Identity', inputs: ['iso_quad'], outputs: ['quad'] }]),
      { op: 'Add', inputs: ['quad', 'log_norm'], outputs: ['component_logits'] },
      { op: 'Softmax', inputs: ['component_logits'], outputs: ['resp3'], attrs: { axis: 0 } },
      { op: 'Reshape', inputs: ['resp3', 'resp_shape'], outputs: ['resp_kb'] },
      { op: 'Transpose', inputs: ['resp_kb'], outputs: ['resp'], attrs: { perm: [1, 0] } },
      { op: 'MatMul', inputs: ['resp', 'assign'], outputs: ['mass'] },
      { op: 'Add', inputs: ['mass', 'tiny'], outputs: ['mass_pos'] },
      { op: 'Log', inputs: ['mass_pos'], outputs: ['logits'] },
    ],
  });
}

/** What the manifests record about the mixture (under `dataset`, a free-form record in the manifest schema). */
export const datasetRecord = (m: GaussianMixture): Record<string, unknown> => ({
  kind: 'gaussian-mixture',
  note: 'exact model: p(x0) = sum_k weight_k N(mean_k, std_k^2 I) in model units [-1, 1]',
  shape: m.shape,
  classNames: m.classNames,
  components: m.components.map((c) => ({ weight: c.weight, mean: c.mean, std: c.std, label: c.label })),
});

export function epsilonManifest(m: GaussianMixture, schedule: ScheduleSpec, file: string, bytes: Uint8Array, name = 'gaussian-mixture-eps', dataset = datasetRecord(m)): Record<string, unknown> {
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
    dataset,
  };
}

export function bayesClassifierManifest(m: GaussianMixture, file: string, bytes: Uint8Array, name = 'gaussian-mixture-bayes', dataset = datasetRecord(m)): Record<string, unknown> {
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
    dataset,
  };
}

export interface GroundTruthModelPaths {
  /** The eps model file; its manifest is the same path with `.json`. */
  readonly denoiser: string;
  readonly classifier: string;
}

/**
 * Writes the exact eps model and the Bayes classifier with their manifests into `dir` (created if missing).
 * `dataset` replaces the manifests' inline mixture (e.g. {@link mixtureFileRecord} for a mixture in its own file).
 */
export async function writeGroundTruthModels(dir: string, m: GaussianMixture, schedule: ScheduleSpec, stem = 'gmm', dataset = datasetRecord(m)): Promise<GroundTruthModelPaths> {
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
    denoiser: await write(`${stem}-eps`, eps, epsilonManifest(m, schedule, `${stem}-eps.onnx`, eps, undefined, dataset)),
    classifier: await write(`${stem}-bayes`, cls, bayesClassifierManifest(m, `${stem}-bayes.onnx`, cls, undefined, dataset)),
  };
}

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
 * x [B, C, H, W], t [B] (int64 timestep) -> eps [B, C, H, W]. Written as two matrix products over the stacked
 * means and directions, so its cost is GEMM work rather than passes over a [components, B, d] tensor.
 *
 * With c = sqrt(abar), v_k = abar std_k^2 + 1 - abar and h_kj = 1 / (abar S_kj + 1 - abar) - 1 / v_k, the residual
 * r_k = x - c mu_k gives the component's log weight log pi_k - 1/2 log det - 1/2 (|r_k|^2 / v_k + sum_j h_kj p_kj^2)
 * with p_kj = u_kj . r_k, and eps = sqrt(1 - abar) sum_k w_k (r_k / v_k + U_k' (h_k p_k)). Everything is taken about
 * the centre m = mean of the component means (x' = x - c m, mu'_k = mu_k - m), which keeps the numbers small enough
 * for float32: |r_k|^2 = |x'|^2 - 2 c mu'_k . x' + c^2 |mu'_k|^2, whose |x'|^2 / v_0 part is the same for every
 * component and drops out of the softmax; p_kj = u_kj . x' - c u_kj . mu'_k. The per-timestep, per-component
 * constants come from tables (Gather at t).
 */
export function epsilonOnnx(m: GaussianMixture, schedule: ScheduleSpec): Uint8Array {
  const ac = scheduleAlphasCumprod(schedule);
  const T = schedule.T;
  const K = m.components.length;
  const d = m.dim;
  const { q, U, S } = paddedDirections(m);
  const lowRank = q > 0;
  const centre = new Float64Array(d);
  for (const comp of m.components) for (let i = 0; i < d; i++) centre[i]! += comp.mean[i]! / K;
  const centred: number[][] = m.components.map((comp) => Array.from({ length: d }, (_, i) => comp.mean[i]! - centre[i]!));
  const centredSq = centred.map((mu) => mu.reduce((s, v) => s + v * v, 0));
  // u_kj . mu'_k, laid out [1, K q] as the projections are.
  const dirDotMean: number[] = [];
  for (let k = 0; k < K; k++) {
    for (let j = 0; j < q; j++) {
      let s = 0;
      for (let i = 0; i < d; i++) s += U[(k * q + j) * d + i]! * centred[k]![i]!;
      dirDotMean.push(s);
    }
  }
  const sqrtAbar: number[] = [];
  const sqrtOneMinus: number[] = [];
  const invV: number[] = [];
  const constPart: number[] = [];
  const crossScale: number[] = [];
  const isoExcess: number[] = [];
  const abarTab: number[] = [];
  const oneMinus: number[] = [];
  for (let t = 0; t < T; t++) {
    const abar = ac[t]!;
    const c = Math.sqrt(abar);
    sqrtAbar.push(c);
    abarTab.push(abar);
    oneMinus.push(1 - abar);
    sqrtOneMinus.push(Math.sqrt(1 - abar));
    const shapes = m.components.map((comp) => noisedShape(comp, abar));
    const iv0 = 1 / shapes[0]!.iso;
    for (const [k, comp] of m.components.entries()) {
      const iv = 1 / shapes[k]!.iso;
      invV.push(iv);
      constPart.push(Math.log(comp.weight) - 0.5 * logDet(shapes[k]!, d) - 0.5 * abar * centredSq[k]! * iv);
      crossScale.push(c * iv);
      isoExcess.push(-0.5 * (iv - iv0));
    }
  }
  const [C, H, W] = m.shape;
  const atT = (table: string, out: string): NodeSpec => ({ op: 'Gather', inputs: [table, 't'], outputs: [out], attrs: { axis: 0 } });
  return buildOnnxModel({
    name: 'gaussian-mixture-eps',
    inputs: [
      { name: 'x', type: 'float32', shape: ['B', C, H, W] },
      { name: 't', type: 'int64', shape: ['B'] },
    ],
    outputs: [{ name: 'eps', type: 'float32', shape: ['B', C, H, W] }],
    initializers: [
      { name: 'centre', type: 'float32', dims: [1, d], values: Array.from(centre) },
      { name: 'means', type: 'float32', dims: [K, d], values: centred.flat() },
      { name: 'sqrt_abar', type: 'float32', dims: [T, 1], values: sqrtAbar },
      { name: 'sqrt_one_minus', type: 'float32', dims: [T, 1], values: sqrtOneMinus },
      { name: 'inv_v', type: 'float32', dims: [T, K], values: invV },
      { name: 'const_part', type: 'float32', dims: [T, K], values: constPart },
      { name: 'cross_scale', type: 'float32', dims: [T, K], values: crossScale },
      { name: 'iso_excess', type: 'float32', dims: [T, K], values: isoExcess },
      { name: 'neg_one', type: 'float32', dims: [], values: [-1] },
      { name: 'neg_half', type: 'float32', dims: [], values: [-0.5] },
      { name: 'rows_shape', type: 'int64', dims: [2], values: [-1, d] },
      { name: 'out_shape', type: 'int64', dims: [4], values: [-1, C, H, W] },
      { name: 'axis1', type: 'int64', dims: [1], values: [1] },
      ...(lowRank
        ? [
            { name: 'U', type: 'float32' as const, dims: [K * q, d], values: U },
            { name: 'dir_dot_mean', type: 'float32' as const, dims: [1, K * q], values: dirDotMean },
            { name: 'abar', type: 'float32' as const, dims: [T, 1], values: abarTab },
            { name: 'one_minus', type: 'float32' as const, dims: [T, 1], values: oneMinus },
            { name: 'dir_var', type: 'float32' as const, dims: [1, K, q], values: S },
            { name: 'one', type: 'float32' as const, dims: [], values: [1] },
            { name: 'kq_shape', type: 'int64' as const, dims: [3], values: [-1, K, q] },
            { name: 'flat_kq', type: 'int64' as const, dims: [2], values: [-1, K * q] },
            { name: 'axis2', type: 'int64' as const, dims: [1], values: [2] },
          ]
        : []),
    ],
    nodes: [
      { op: 'Reshape', inputs: ['x', 'rows_shape'], outputs: ['xr'] },
      atT('sqrt_abar', 'c'),
      { op: 'Mul', inputs: ['c', 'centre'], outputs: ['c_centre'] },
      { op: 'Sub', inputs: ['xr', 'c_centre'], outputs: ['xc'] },
      { op: 'Transpose', inputs: ['means'], outputs: ['means_t'], attrs: { perm: [1, 0] } },
      { op: 'MatMul', inputs: ['xc', 'means_t'], outputs: ['mean_dot'] },
      { op: 'Mul', inputs: ['xc', 'xc'], outputs: ['xc_sq'] },
      { op: 'ReduceSum', inputs: ['xc_sq', 'axis1'], outputs: ['xc_norm'], attrs: { keepdims: 1 } },
      atT('const_part', 'cp'),
      atT('cross_scale', 'cs'),
      atT('iso_excess', 'ie'),
      atT('inv_v', 'iv'),
      { op: 'Mul', inputs: ['cs', 'mean_dot'], outputs: ['cross'] },
      { op: 'Mul', inputs: ['ie', 'xc_norm'], outputs: ['excess'] },
      { op: 'Add', inputs: ['cp', 'cross'], outputs: ['iso_logits0'] },
      { op: 'Add', inputs: ['iso_logits0', 'excess'], outputs: ['iso_logits'] },
      ...(lowRank
        ? ([
            { op: 'Transpose', inputs: ['U'], outputs: ['U_t'], attrs: { perm: [1, 0] } },
            { op: 'MatMul', inputs: ['xc', 'U_t'], outputs: ['dir_dot'] },
            { op: 'Mul', inputs: ['c', 'dir_dot_mean'], outputs: ['c_dir_mean'] },
            { op: 'Sub', inputs: ['dir_dot', 'c_dir_mean'], outputs: ['proj'] },
            // h [B, K q] = 1 / (abar S_kj + 1 - abar) - 1 / v_k
            atT('abar', 'ab2'),
            { op: 'Unsqueeze', inputs: ['ab2', 'axis2'], outputs: ['ab'] },
            atT('one_minus', 'om2'),
            { op: 'Unsqueeze', inputs: ['om2', 'axis2'], outputs: ['om'] },
            { op: 'Mul', inputs: ['ab', 'dir_var'], outputs: ['ab_s'] },
            { op: 'Add', inputs: ['ab_s', 'om'], outputs: ['noised_var'] },
            { op: 'Div', inputs: ['one', 'noised_var'], outputs: ['inv_noised'] },
            { op: 'Unsqueeze', inputs: ['iv', 'axis2'], outputs: ['iv3'] },
            { op: 'Sub', inputs: ['inv_noised', 'iv3'], outputs: ['h3'] },
            { op: 'Reshape', inputs: ['h3', 'flat_kq'], outputs: ['ht'] },
            { op: 'Mul', inputs: ['ht', 'proj'], outputs: ['hp'] },
            { op: 'Mul', inputs: ['hp', 'proj'], outputs: ['hpp'] },
            { op: 'Reshape', inputs: ['hpp', 'kq_shape'], outputs: ['hpp3'] },
            { op: 'ReduceSum', inputs: ['hpp3', 'axis2'], outputs: ['dir_quad'], attrs: { keepdims: 0 } },
            { op: 'Mul', inputs: ['dir_quad', 'neg_half'], outputs: ['dir_logits'] },
            { op: 'Add', inputs: ['iso_logits', 'dir_logits'], outputs: ['logits'] },
          ] as NodeSpec[])
        : [{ op: 'Identity', inputs: ['iso_logits'], outputs: ['logits'] }]),
      { op: 'Softmax', inputs: ['logits'], outputs: ['w'], attrs: { axis: 1 } },
      { op: 'Mul', inputs: ['w', 'iv'], outputs: ['w_iv'] },
      { op: 'ReduceSum', inputs: ['w_iv', 'axis1'], outputs: ['w_iv_sum'], attrs: { keepdims: 1 } },
      { op: 'Mul', inputs: ['xc', 'w_iv_sum'], outputs: ['x_part'] },
      { op: 'Mul', inputs: ['w_iv', 'c'], outputs: ['c_w_iv'] },
      { op: 'Mul', inputs: ['c_w_iv', 'neg_one'], outputs: ['mean_coef'] },
      { op: 'MatMul', inputs: ['mean_coef', 'means'], outputs: ['mean_part'] },
      { op: 'Add', inputs: ['x_part', 'mean_part'], outputs: ['iso_score'] },
      ...(lowRank
        ? ([
            { op: 'Reshape', inputs: ['hp', 'kq_shape'], outputs: ['hp3'] },
            { op: 'Unsqueeze', inputs: ['w', 'axis2'], outputs: ['w3'] },
            { op: 'Mul', inputs: ['hp3', 'w3'], outputs: ['whp3'] },
            { op: 'Reshape', inputs: ['whp3', 'flat_kq'], outputs: ['whp'] },
            { op: 'MatMul', inputs: ['whp', 'U'], outputs: ['dir_score'] },
            { op: 'Add', inputs: ['iso_score', 'dir_score'], outputs: ['score'] },
          ] as NodeSpec[])
        : [{ op: 'Identity', inputs: ['iso_score'], outputs: ['score'] }]),
      atT('sqrt_one_minus', 'so'),
      { op: 'Mul', inputs: ['score', 'so'], outputs: ['eps_rows'] },
      { op: 'Reshape', inputs: ['eps_rows', 'out_shape'], outputs: ['eps'] },
    ],
  });
}

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

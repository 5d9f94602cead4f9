import { either as E } from 'fp-ts';
import type { BackendError } from './errors.js';
import { MAX_DIFFUSION_STEPS, MAX_IMAGE_VALUES, type ModelManifest, type TensorSpec, parseManifest } from './manifest.js';
import type { GraphValue } from './signature.js';

/**
 * Building a manifest for a model someone brings: the graph's declared inputs and outputs, one run on a random
 * input, and what the user declares (schedule, T, classes, ...) are checked against each other; the result is a
 * manifest that `resolveModel` accepts, or an error that says what does not fit. Backend-neutral: a backend
 * reads the graph and runs it (e.g. @densepure/backend-onnx `describeOnnxModel`), this module decides.
 */

/** A graph's declared inputs and outputs (signature.ts's GraphValue: a dim that is not a positive integer is dynamic). */
export interface ModelGraph {
  readonly inputs: readonly GraphValue[];
  readonly outputs: readonly GraphValue[];
}

export type ResizeMode = 'bilinear' | 'bicubic-antialias';

/** What the user declares about the model; everything the graph cannot tell. */
export interface ManifestRequest {
  readonly kind: 'denoiser' | 'classifier';
  readonly name?: string;
  /** The value range the model expects its image in. Default: [-1, 1] for a denoiser, [0, 1] for a classifier. */
  readonly valueRange?: readonly [number, number];
  /** Needed only when the graph's height and width are dynamic. */
  readonly imageSize?: number;
  readonly diffusion?: {
    readonly schedule: 'linear' | 'cosine';
    readonly T: number;
    readonly betaStart?: number;
    readonly betaEnd?: number;
    /** Declared learned variance (2C output channels); inferred from the output when absent. */
    readonly learnedVariance?: boolean;
  };
  readonly numClasses?: number;
  readonly classNames?: readonly string[];
  /** Per-channel mean/std the caller applies before the graph (omit when the graph normalises itself). */
  readonly normalization?: { readonly mean: readonly number[]; readonly std: readonly number[] };
  /** How images of another size are resized to the classifier's input. */
  readonly resize?: ResizeMode;
  readonly dataset?: Record<string, unknown>;
  readonly training?: Record<string, unknown>;
}

/** The inputs to run the model on once, decided from the graph and the request. */
export interface ProbePlan {
  readonly image: { readonly name: string; readonly channels: number; readonly imageSize: number };
  /** The timestep input (denoisers). */
  readonly timestep: { readonly name: string } | null;
  readonly valueRange: readonly [number, number];
  /** Timesteps are drawn from [0, T) (denoisers). */
  readonly T: number | null;
}

/** What one run returned: every output's dims, for batch `batch`, plus the first output's values checks. */
export interface ProbeResult {
  readonly batch: number;
  readonly outputs: readonly { readonly name: string; readonly dtype: string; readonly dims: readonly number[] }[];
  /** Index of the first non-finite value of the first output, or -1. */
  readonly firstNonFinite: number;
  /** Largest |out(batch) row 0 - out(batch 1 of that image)| over the first output: a graph must not mix a batch. */
  readonly batchMaxDiff: number;
}

export interface ModelFile {
  readonly path: string;
  readonly sha256: string;
  readonly sizeBytes: number;
}

/** The last segment of a '/'-separated path (node's posix basename, without importing node). */
const basename = (path: string): string => path.replace(/\/+$/, '').split('/').pop() ?? '';

const contract = (path: string, detail: string): BackendError => ({
  kind: 'model-contract',
  path,
  message: `model ${path} does not fit what was declared: ${detail}`,
});

type Dim = number | string | null | undefined;
const shapeText = (shape: readonly Dim[] | null | undefined): string => (shape === null || shape === undefined ? 'unknown' : `[${shape.map((d) => (d === null || d === undefined ? '?' : String(d))).join(',')}]`);
const isDynamic = (d: Dim): boolean => typeof d !== 'number' || !Number.isInteger(d) || d <= 0;
const DYNAMIC_BATCH_HINT = "export it with a dynamic batch axis (torch.onnx.export(..., dynamic_axes={'x': {0: 'B'}, ...}))";

/** Picks the image (and timestep) inputs and the image size; refuses graphs densepure cannot feed. */
export function planProbe(path: string, graph: ModelGraph, request: ManifestRequest): E.Either<BackendError, ProbePlan> {
  const denoiser = request.kind === 'denoiser';
  const wanted = denoiser ? 2 : 1;
  if (graph.inputs.length !== wanted) {
    return E.left(
      contract(
        path,
        `a ${request.kind} takes ${denoiser ? 'two inputs (image x [B,C,H,W] float32 and timestep t [B] int64)' : 'one input (image x [B,C,H,W] float32)'}, the graph has ${graph.inputs.length}: ${graph.inputs.map((v) => `'${v.name}' ${v.dtype} ${shapeText(v.shape)}`).join(', ')}`,
      ),
    );
  }
  const image = graph.inputs.find((v) => v.shape !== null && v.shape !== undefined && v.shape.length === 4);
  if (image === undefined || (image.dtype !== undefined && image.dtype !== 'float32')) {
    return E.left(contract(path, `no float32 image input of rank 4 [B,C,H,W]; inputs are ${graph.inputs.map((v) => `'${v.name}' ${v.dtype} ${shapeText(v.shape)}`).join(', ')}`));
  }
  if (denoiser && graph.inputs[0] !== image) {
    return E.left(contract(path, `the image input must come first (then the timestep); the graph lists '${graph.inputs[0]!.name}' first: re-export with input_names=['x', 't']`));
  }
  const shape = image.shape!;
  if (!isDynamic(shape[0])) return E.left(contract(path, `the batch axis of input '${image.name}' is fixed at ${shape[0]}; ${DYNAMIC_BATCH_HINT}`));
  const [, c, h, w] = shape;
  if (isDynamic(c)) return E.left(contract(path, `input '${image.name}' has a dynamic channel axis ${shapeText(shape)}; export it with a fixed number of channels`));
  let imageSize: number;
  if (!isDynamic(h) || !isDynamic(w)) {
    if (h !== w) return E.left(contract(path, `input '${image.name}' is ${shapeText(shape)}: densepure needs square images (H = W)`));
    imageSize = h as number;
    if (request.imageSize !== undefined && request.imageSize !== imageSize) {
      return E.left(contract(path, `image size ${request.imageSize} was declared but the graph's input '${image.name}' is ${imageSize}x${imageSize}`));
    }
  } else {
    if (request.imageSize === undefined) {
      return E.left(contract(path, `input '${image.name}' has dynamic height and width ${shapeText(shape)}: declare the image size the model was trained at`));
    }
    imageSize = request.imageSize;
  }
  // Before anything is allocated for the probe: a mistyped shape would otherwise fail inside a typed array.
  const values = (c as number) * imageSize * imageSize;
  if (values > MAX_IMAGE_VALUES) {
    return E.left(
      contract(path, `input '${image.name}' takes ${c}x${imageSize}x${imageSize} images, ${values} values each, more than the ${MAX_IMAGE_VALUES} densepure handles: check the graph's input shape (or the declared image size)`),
    );
  }
  const T = request.diffusion?.T;
  if (T !== undefined && !(Number.isInteger(T) && T >= 1 && T <= MAX_DIFFUSION_STEPS)) {
    return E.left(contract(path, `T = ${T} diffusion steps were declared; T must be a whole number from 1 to ${MAX_DIFFUSION_STEPS} (diffusion models are trained with 1000 or 4000)`));
  }
  let timestep: ProbePlan['timestep'] = null;
  if (denoiser) {
    const t = graph.inputs[1]!;
    if (t.dtype !== 'int64' || t.shape === null || t.shape === undefined || t.shape.length !== 1 || !isDynamic(t.shape[0])) {
      return E.left(
        contract(path, `the timestep input '${t.name}' is ${t.dtype} ${shapeText(t.shape)}; densepure feeds one int64 timestep per image, shape [B] (cast t to int64 and give it a dynamic batch axis when exporting)`),
      );
    }
    timestep = { name: t.name };
    if (request.diffusion === undefined) return E.left(contract(path, 'a denoiser needs its diffusion schedule and number of timesteps T declared'));
  }
  const valueRange = request.valueRange ?? (denoiser ? ([-1, 1] as const) : ([0, 1] as const));
  if (!(valueRange[0] < valueRange[1])) return E.left(contract(path, `value range [${valueRange.join(', ')}] must have low < high`));
  return E.right({ image: { name: image.name, channels: c as number, imageSize }, timestep, valueRange, T: request.diffusion?.T ?? null });
}

const outputsSpec = (probe: ProbeResult): TensorSpec[] =>
  probe.outputs.map((o) => ({
    name: o.name,
    dtype: o.dtype as TensorSpec['dtype'],
    shape: ['B' as const, ...o.dims.slice(1)],
  }));

/**
 * Checks the probe run against the request and builds the manifest (validated by `parseManifest`).
 * Denoiser: first output [B, C, H, W], or [B, 2C, H, W] with learned variance (declared or inferred).
 * Classifier: first output [B, K], K = the declared number of classes / class names.
 */
export function buildManifest(
  file: ModelFile,
  graph: ModelGraph,
  plan: ProbePlan,
  probe: ProbeResult,
  request: ManifestRequest,
): E.Either<BackendError, ModelManifest> {
  const path = file.path;
  const first = probe.outputs[0];
  if (first === undefined) return E.left(contract(path, 'the graph returned no output'));
  if (first.dtype !== 'float32') return E.left(contract(path, `output '${first.name}' is ${first.dtype}; densepure reads float32 outputs`));
  for (const o of probe.outputs) {
    if (o.dtype !== 'float32' && o.dtype !== 'int64' && o.dtype !== 'int32') {
      return E.left(contract(path, `output '${o.name}' has dtype ${o.dtype}; manifests describe float32, int64 or int32 tensors only`));
    }
    if (o.dims[0] !== probe.batch) {
      return E.left(contract(path, `output '${o.name}' has ${o.dims[0]} rows for a batch of ${probe.batch}; ${DYNAMIC_BATCH_HINT}`));
    }
  }
  if (probe.firstNonFinite >= 0) {
    return E.left(contract(path, `output '${first.name}' holds a non-finite value (flat index ${probe.firstNonFinite}) on a random input in [${plan.valueRange.join(', ')}]; check the export (fp16 overflow, missing weights)`));
  }
  if (!(probe.batchMaxDiff <= 1e-3)) {
    return E.left(contract(path, `output '${first.name}' for an image depends on the other images of its batch (max difference ${probe.batchMaxDiff.toExponential(2)} between batch ${probe.batch} and batch 1); export the model in eval mode (model.eval(): batch norm must use its running statistics)`));
  }
  const { channels: c, imageSize: s } = plan.image;
  const common = {
    schemaVersion: 1 as const,
    name: request.name ?? basename(path).replace(/\.[^.]+$/, ''),
    format: 'onnx' as const,
    file: basename(path),
    sha256: file.sha256,
    sizeBytes: file.sizeBytes,
    inputs: graph.inputs.map((v) =>
      v.name === plan.image.name
        ? { name: v.name, dtype: 'float32' as const, shape: ['B' as const, c, s, s] }
        : { name: v.name, dtype: 'int64' as const, shape: ['B' as const] },
    ),
    outputs: outputsSpec(probe),
    imageSize: s,
    channels: c,
    valueRange: [plan.valueRange[0], plan.valueRange[1]] as [number, number],
    ...(request.dataset === undefined ? {} : { dataset: request.dataset }),
    ...(request.training === undefined ? {} : { training: request.training }),
  };
  const dims = first.dims;
  let manifest: Record<string, unknown>;
  if (request.kind === 'denoiser') {
    const d = request.diffusion!;
    if (dims.length !== 4 || dims[2] !== s || dims[3] !== s) {
      return E.left(contract(path, `a denoiser's output must be [B, C or 2C, ${s}, ${s}]; '${first.name}' is [${dims.join(',')}]`));
    }
    const outC = dims[1]!;
    let learned = d.learnedVariance;
    if (learned === undefined) {
      if (outC !== c && outC !== 2 * c) {
        return E.left(contract(path, `output '${first.name}' has ${outC} channels; a denoiser outputs eps (${c}) or eps and v (${2 * c}, learned variance)`));
      }
      learned = outC === 2 * c;
    } else if (outC !== (learned ? 2 * c : c)) {
      return E.left(
        contract(
          path,
          learned
            ? `learned variance was declared, so output '${first.name}' should have 2C = ${2 * c} channels (eps and v), but it has ${outC}${outC === c ? ': the model predicts eps only, declare fixed variance' : ''}`
            : `fixed variance was declared, so output '${first.name}' should have C = ${c} channels (eps), but it has ${outC}${outC === 2 * c ? ': the model also outputs v, declare learned variance' : ''}`,
        ),
      );
    }
    manifest = {
      ...common,
      kind: 'denoiser',
      diffusion: {
        schedule: d.schedule,
        T: d.T,
        ...(d.betaStart === undefined ? {} : { betaStart: d.betaStart }),
        ...(d.betaEnd === undefined ? {} : { betaEnd: d.betaEnd }),
        prediction: 'epsilon',
        learnedVariance: learned,
        ...(learned ? { varianceParam: 'learned_range' } : {}),
      },
    };
  } else {
    if (dims.length !== 2) return E.left(contract(path, `a classifier's output must be logits [B, classes]; '${first.name}' is [${dims.join(',')}]`));
    const k = dims[1]!;
    if (request.numClasses !== undefined && request.numClasses !== k) {
      return E.left(contract(path, `${request.numClasses} classes were declared but output '${first.name}' has ${k} logits per image`));
    }
    if (request.classNames !== undefined && request.classNames.length !== k) {
      return E.left(contract(path, `${request.classNames.length} class names were given but output '${first.name}' has ${k} logits per image`));
    }
    if (request.normalization !== undefined) {
      const { mean, std } = request.normalization;
      if (mean.length !== c || std.length !== c) {
        return E.left(contract(path, `mean and std need ${c} values each (one per channel), got ${mean.length} and ${std.length}`));
      }
      if (!std.every((v) => v > 0)) return E.left(contract(path, `std values must be > 0, got ${std.join(', ')}`));
    }
    manifest = {
      ...common,
      kind: 'classifier',
      numClasses: k,
      ...(request.classNames === undefined ? {} : { classNames: [...request.classNames] }),
      ...(request.normalization === undefined
        ? {}
        : { normalization: { mean: [...request.normalization.mean], std: [...request.normalization.std], appliedInGraph: false } }),
      ...(request.resize === undefined ? {} : { resize: request.resize }),
    };
  }
  return parseManifest(manifest, `${path} (manifest being built)`);
}

/** The manifest as written to disk: 2-space JSON with a final newline. */
export const manifestText = (manifest: ModelManifest): string => `${JSON.stringify(manifest, null, 2)}\n`;

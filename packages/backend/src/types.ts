import type { taskEither as TE } from 'fp-ts';
import type { BackendError } from './errors.js';
import type { ClassifierManifest, ClassifierOutput, DenoiserManifest, ModelFormat } from './manifest.js';
import type { ResolvedModel } from './resolve.js';

/** What every loaded model says about itself; taken from its manifest and checked against the model file. */
export interface ModelMetadata {
  readonly name: string;
  /** Registered backend name, e.g. 'onnx'. */
  readonly backend: string;
  /** The runtime that actually executes, e.g. 'onnxruntime-node 1.30.0 (cpu)' or 'tfjs 4.22 (wasm, simd)'. */
  readonly runtime: string;
  /** Where the model file was read from: its real path (symlinks resolved), its URL, or `bytes:<file>`. */
  readonly modelPath: string;
  /** Where the manifest was read from: its absolute path, its URL, or `bytes:<name>`. */
  readonly manifestPath: string;
  /** sha256 of the manifest file's bytes (the model file's own hash is `sha256`). */
  readonly manifestSha256: string;
  readonly sha256: string;
  readonly format: ModelFormat;
  /** Input shape without the batch axis: [channels, height, width]. */
  readonly inputShape: readonly [number, number, number];
  readonly channels: number;
  readonly imageSize: number;
  /** The value range the model expects its image input in, e.g. [-1, 1] for a diffusion model. */
  readonly valueRange: readonly [number, number];
}

export interface DenoiserMetadata extends ModelMetadata {
  readonly kind: 'denoiser';
  /** True when the model outputs the interpolation value v beside eps (improved-diffusion learn_sigma). */
  readonly learnedVariance: boolean;
  readonly diffusion: DenoiserManifest['diffusion'];
}

export interface ClassifierMetadata extends ModelMetadata {
  readonly kind: 'classifier';
  readonly numClasses: number;
  readonly classNames: readonly string[];
  /** Per-channel mean/std; when appliedInGraph is false the caller normalises before running. */
  readonly normalization: { readonly mean: readonly number[]; readonly std: readonly number[]; readonly appliedInGraph: boolean };
  /** How images of another size are resized to the input: bilinear (default) or bicubic with antialias (DDS). */
  readonly resize?: 'bilinear' | 'bicubic-antialias';
  /**
   * What `run` returns (manifest `output`, 'logits' when absent): logits, probabilities, or scores whose argmax
   * alone means something. See `classifierProbabilities`.
   */
  readonly output: ClassifierOutput;
}

/** Denoiser output for a batch: eps, and v (in [-1, 1]) when the model learns its variance. Both B*C*H*W. */
export interface DenoiserOutput {
  readonly eps: Float32Array;
  readonly v: Float32Array | null;
}

/**
 * A diffusion model: given x_t (model scale, B*C*H*W, NCHW) and one integer timestep per batch item,
 * predicts the noise eps (and v when it learns variances).
 */
export interface Denoiser {
  readonly metadata: DenoiserMetadata;
  run(x: Float32Array, timesteps: ArrayLike<number>): TE.TaskEither<BackendError, DenoiserOutput>;
  dispose(): Promise<void>;
}

/**
 * A classifier: a batch of images (B*C*H*W in the manifest's value range) -> its output, B*numClasses: logits
 * unless `metadata.output` says probabilities or scores.
 */
export interface Classifier {
  readonly metadata: ClassifierMetadata;
  run(x: Float32Array, batch: number): TE.TaskEither<BackendError, Float32Array>;
  dispose(): Promise<void>;
}

/** Options every backend understands; a backend ignores what does not apply to it and says so in `describe`. */
export interface LoadOptions {
  /** 'cpu' (default), 'cuda', 'wasm', ... — backend specific; a fallback is reported, never silent. */
  readonly device?: string;
  /** Intra-op threads per session. */
  readonly threads?: number;
  /** Worker threads (parallel sessions) for backends whose run blocks the event loop. */
  readonly workers?: number;
}

/** What `probe` reports: whether the backend works here, which runtime it would use, and why others were not. */
export interface BackendProbe {
  readonly available: boolean;
  readonly runtime: string;
  readonly devices: readonly string[];
  readonly notes: readonly string[];
}

/** A backend package registers one of these on import. */
export interface Backend {
  readonly name: string;
  /** Higher is tried first when no backend is named. */
  readonly priority: number;
  readonly formats: readonly ModelFormat[];
  probe(): Promise<BackendProbe>;
  loadDenoiser(model: ResolvedModel<DenoiserManifest>, options: LoadOptions): TE.TaskEither<BackendError, Denoiser>;
  loadClassifier(model: ResolvedModel<ClassifierManifest>, options: LoadOptions): TE.TaskEither<BackendError, Classifier>;
}

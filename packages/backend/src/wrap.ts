import { either as E, taskEither as TE } from 'fp-ts';
import { type BackendError, disposed, shapeMismatch } from './errors.js';
import type { ModelManifest } from './manifest.js';
import type { Classifier, ClassifierMetadata, Denoiser, DenoiserMetadata, DenoiserOutput } from './types.js';
import { checkImageBatch, checkTimesteps } from './validate.js';

/**
 * What a backend has to provide for one loaded model: run a validated batch and return the model's first
 * output as raw data. Everything else (input checks, splitting eps/v, dispose state) is shared here so every
 * backend behaves the same.
 */
export interface ModelEngine {
  run(x: Float32Array, batch: number, timesteps: ArrayLike<number> | null): Promise<E.Either<BackendError, Float32Array>>;
  dispose(): Promise<void>;
}

/** The model's image input and first output, as its manifest names them: errors name these, not generic ones. */
export interface TensorNames {
  readonly input: string;
  readonly output: string;
}

/** The image input's and first output's names from a manifest. */
export const tensorNames = (manifest: Pick<ModelManifest, 'inputs' | 'outputs'>): TensorNames => ({
  input: manifest.inputs[0]!.name,
  output: manifest.outputs[0]!.name,
});

/** Splits [B, 2C, H, W] into eps [B, C, H, W] and v [B, C, H, W]. */
export function splitLearnedVariance(out: Float32Array, batch: number, perImage: number): DenoiserOutput {
  const eps = new Float32Array(batch * perImage);
  const v = new Float32Array(batch * perImage);
  for (let b = 0; b < batch; b++) {
    eps.set(out.subarray(2 * b * perImage, (2 * b + 1) * perImage), b * perImage);
    v.set(out.subarray((2 * b + 1) * perImage, (2 * b + 2) * perImage), b * perImage);
  }
  return { eps, v };
}

function guarded<A>(name: string, state: { disposed: boolean }, body: () => Promise<E.Either<BackendError, A>>): TE.TaskEither<BackendError, A> {
  return () => (state.disposed ? Promise.resolve(E.left(disposed(name))) : body());
}

/** Builds a contract-conforming Denoiser around a backend's engine. */
export function makeDenoiser(metadata: DenoiserMetadata, engine: ModelEngine, names: TensorNames): Denoiser {
  const state = { disposed: false };
  const [c, h, w] = metadata.inputShape;
  const perImage = c * h * w;
  const outPerImage = metadata.learnedVariance ? 2 * perImage : perImage;
  return {
    metadata,
    run: (x, timesteps) =>
      guarded(`denoiser ${metadata.name}`, state, async () => {
        const batch = timesteps.length;
        const checked = checkImageBatch(names.input, x, batch, metadata);
        if (E.isLeft(checked)) return checked;
        const tCheck = checkTimesteps(timesteps, batch, metadata.diffusion.T);
        if (E.isLeft(tCheck)) return tCheck;
        const out = await engine.run(x, batch, timesteps);
        if (E.isLeft(out)) return out;
        if (out.right.length !== batch * outPerImage) {
          return E.left(shapeMismatch(names.output, `${batch * outPerImage} values`, `${out.right.length}`, 'the model output does not match its manifest'));
        }
        return E.right(metadata.learnedVariance ? splitLearnedVariance(out.right, batch, perImage) : { eps: out.right, v: null });
      }),
    dispose: async () => {
      if (state.disposed) return;
      state.disposed = true;
      await engine.dispose();
    },
  };
}

/** Builds a contract-conforming Classifier around a backend's engine. */
export function makeClassifier(metadata: ClassifierMetadata, engine: ModelEngine, names: TensorNames): Classifier {
  const state = { disposed: false };
  return {
    metadata,
    run: (x, batch) =>
      guarded(`classifier ${metadata.name}`, state, async () => {
        const checked = checkImageBatch(names.input, x, batch, metadata);
        if (E.isLeft(checked)) return checked;
        const out = await engine.run(x, batch, null);
        if (E.isLeft(out)) return out;
        if (out.right.length !== batch * metadata.numClasses) {
          return E.left(shapeMismatch(names.output, `[${batch},${metadata.numClasses}]`, `${out.right.length} values`));
        }
        return E.right(out.right);
      }),
    dispose: async () => {
      if (state.disposed) return;
      state.disposed = true;
      await engine.dispose();
    },
  };
}

// An onnxruntime session checked against its manifest and run on a batch: the same for onnxruntime-node
// (session.ts) and onnxruntime-web (web.ts), which share onnxruntime-common's Tensor and InferenceSession. No
// node import here.
import { either as E, taskEither as TE } from 'fp-ts';
import { type InferenceSession, Tensor } from 'onnxruntime-common';
import {
  type Backend,
  type BackendError,
  type BackendProbe,
  type GraphValue,
  type LoadOptions,
  type ModelEngine,
  type ModelManifest,
  type ResolvedModel,
  checkSignature,
  classifierMetadata,
  denoiserMetadata,
  describeThrown,
  makeClassifier,
  makeDenoiser,
  registerBackend,
  runtimeFailure,
  tensorNames,
} from '@densepure/backend';

const graphValues = (list: readonly InferenceSession.ValueMetadata[]): GraphValue[] =>
  list.map((v) => (v.isTensor ? { name: v.name, dtype: v.type, shape: v.shape } : { name: v.name }));

/** Checks the graph's declared inputs and outputs (names, dtypes, shapes) against the manifest: the contract's one rule. */
export function checkGraph(session: InferenceSession, manifest: ModelManifest, path: string): E.Either<BackendError, void> {
  const inputs = checkSignature(path, 'input', manifest.inputs, graphValues(session.inputMetadata));
  if (E.isLeft(inputs)) return inputs;
  return checkSignature(path, 'output', manifest.outputs, graphValues(session.outputMetadata));
}

/** Feeds for one batch, by the manifest's input names: the image tensor and, for denoisers, int64 timesteps. */
export function makeFeeds(
  manifest: ModelManifest,
  x: Float32Array,
  batch: number,
  timesteps: ArrayLike<number> | null,
): Record<string, Tensor> {
  const [imageInput, timeInput] = manifest.inputs;
  const feeds: Record<string, Tensor> = {
    [imageInput!.name]: new Tensor('float32', x, [batch, manifest.channels, manifest.imageSize, manifest.imageSize]),
  };
  if (timeInput !== undefined && timesteps !== null) {
    const t = new BigInt64Array(batch);
    for (let i = 0; i < batch; i++) t[i] = BigInt(timesteps[i] as number);
    feeds[timeInput.name] = new Tensor('int64', t, [batch]);
  }
  return feeds;
}

/** Runs one batch and returns the first output's data (a fresh Float32Array the caller owns). */
export async function runSession(
  session: InferenceSession,
  manifest: ModelManifest,
  x: Float32Array,
  batch: number,
  timesteps: ArrayLike<number> | null,
): Promise<E.Either<BackendError, Float32Array>> {
  try {
    const outputs = await session.run(makeFeeds(manifest, x, batch, timesteps));
    const out = outputs[manifest.outputs[0]!.name];
    if (out === undefined || !(out.data instanceof Float32Array)) {
      return E.left(runtimeFailure(`model ${manifest.name} returned no float32 '${manifest.outputs[0]!.name}' output`));
    }
    // onnxruntime-node hands back a fresh array for a CPU output: keep it rather than copy it again, unless it
    // is a view into a larger buffer (the worker transfers whole buffers).
    const data = out.data.byteOffset === 0 && out.data.byteLength === out.data.buffer.byteLength ? out.data : new Float32Array(out.data);
    out.dispose();
    return E.right(data);
  } catch (cause) {
    return E.left(runtimeFailure(`onnxruntime failed running ${manifest.name}: ${describeThrown(cause)}`));
  }
}

/**
 * A backend whose models are engines opened by `open` (a session per model), named `name` in the registry and in
 * each model's metadata, with `runtime` saying what runs. Registered at once: a different backend already
 * registered under the name is an installation error (two copies of this package, or another package claiming
 * the name), said at import rather than left to import order.
 */
export function registerEngineBackend<Engine extends ModelEngine>(spec: {
  readonly name: string;
  readonly priority: number;
  readonly probe: () => Promise<BackendProbe>;
  readonly open: (model: ResolvedModel, options: LoadOptions) => Promise<E.Either<BackendError, Engine>>;
  readonly runtime: (engine: Engine) => string;
}): Backend {
  const { name, open, runtime } = spec;
  const backend: Backend = {
    name,
    priority: spec.priority,
    formats: ['onnx'],
    probe: spec.probe,
    loadDenoiser: (model, options) =>
      TE.map((engine: Engine) => makeDenoiser(denoiserMetadata(model, name, runtime(engine)), engine, tensorNames(model.manifest)))(() => open(model, options)),
    loadClassifier: (model, options) =>
      TE.map((engine: Engine) => makeClassifier(classifierMetadata(model, name, runtime(engine)), engine, tensorNames(model.manifest)))(() => open(model, options)),
  };
  const registered = registerBackend(backend);
  if (E.isLeft(registered)) throw new Error(registered.left.message);
  return backend;
}

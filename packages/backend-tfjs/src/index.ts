import { either as E, taskEither as TE } from 'fp-ts';
import {
  type Backend,
  type BackendError,
  type BackendProbe,
  type Classifier,
  type ClassifierManifest,
  type Denoiser,
  type DenoiserManifest,
  type LoadOptions,
  type ResolvedModel,
  classifierMetadata,
  denoiserMetadata,
  makeClassifier,
  makeDenoiser,
  registerBackend,
  tensorNames,
} from '@densepure/backend';
import { openEngine } from './engine.js';
import { type RuntimeChoice, chooseRuntime, probeRuntimes, runtimeText } from './runtime.js';

export { RUNTIME_ORDER, chooseRuntime, probeRuntimes, type Runtime, type RuntimeChoice, type RuntimeName } from './runtime.js';
export { SUPPORTED_OPS } from './onnx/ops.js';
export { parseOnnx, type GraphIR } from './onnx/proto.js';
export { unsupportedNodes } from './onnx/graph.js';
export { fileLoadHandler, fileSaveHandler, verifiedLoadHandler } from './io.js';
export { openEngine, type TfjsEngine } from './engine.js';

async function probe(): Promise<BackendProbe> {
  const { usable, reasons } = await probeRuntimes();
  const best = usable[0];
  return {
    available: best !== undefined,
    runtime: best === undefined ? 'none' : best.label,
    devices: usable.map((r) => r.name),
    notes: reasons,
  };
}

function load<A>(
  model: ResolvedModel,
  options: LoadOptions,
  build: (choice: RuntimeChoice, engine: Awaited<ReturnType<typeof openEngine>> extends E.Either<BackendError, infer R> ? R : never) => A,
): TE.TaskEither<BackendError, A> {
  return async () => {
    const choice = await chooseRuntime(options.device);
    if (E.isLeft(choice)) return choice;
    const engine = await openEngine(model, choice.right.runtime);
    return E.isLeft(engine) ? engine : E.right(build(choice.right, engine.right));
  };
}

/** The TensorFlow.js backend. Importing this module registers it under 'tfjs' (priority 50, below onnx). */
export const tfjsBackend: Backend = {
  name: 'tfjs',
  priority: 50,
  formats: ['onnx', 'tfjs-graph', 'tfjs-layers'],
  probe,
  loadDenoiser: (model: ResolvedModel<DenoiserManifest>, options: LoadOptions): TE.TaskEither<BackendError, Denoiser> =>
    load(model, options, (choice, engine) => makeDenoiser(denoiserMetadata(model, 'tfjs', runtimeText(choice, options)), engine, tensorNames(model.manifest))),
  loadClassifier: (model: ResolvedModel<ClassifierManifest>, options: LoadOptions): TE.TaskEither<BackendError, Classifier> =>
    load(model, options, (choice, engine) => makeClassifier(classifierMetadata(model, 'tfjs', runtimeText(choice, options)), engine, tensorNames(model.manifest))),
};

// A different backend already registered as 'tfjs' is an installation error: say so at import.
const registered = registerBackend(tfjsBackend);
if (E.isLeft(registered)) throw new Error(registered.left.message);

// Loaded models as ModelEngines: ONNX graphs run through the op mapper, tfjs GraphModels and LayersModels
// through tfjs itself. Inputs arrive NCHW (the backend contract); channels-last tfjs models get transposed.
import { either as E } from 'fp-ts';
import {
  type BackendError,
  type GraphValue,
  type ModelEngine,
  type ModelManifest,
  type ResolvedModel,
  type TensorSpec,
  checkSignature,
  corruptModel,
  describeThrown,
  modelContract,
  runtimeFailure,
} from '@densepure/backend';
import type * as TF from '@tensorflow/tfjs';
import { verifiedLoadHandler } from './io.js';
import { type CompiledGraph, checkGraph, compileGraph, unsupportedNodes } from './onnx/graph.js';
import { SUPPORTED_OPS } from './onnx/ops.js';
import { parseOnnx } from './onnx/proto.js';
import { type Tensor, type Value, wrap } from './onnx/values.js';
import { type Runtime, activate } from './runtime.js';

export interface TfjsEngine extends ModelEngine {
  /** ONNX ops the model uses (ONNX models), or the model kind (tfjs models). */
  readonly opsUsed: readonly string[];
}

/** The input shape for one batch: the manifest's, with 'B' replaced by the batch size. */
const batchShape = (spec: TensorSpec, batch: number): number[] => spec.shape.map((d) => (d === 'B' ? batch : d));

/** True when a manifest declares an image tensor channels-last ([B,H,W,C]) rather than NCHW. */
const channelsLast = (spec: TensorSpec | undefined, m: ModelManifest): boolean => {
  if (spec === undefined || spec.shape.length !== 4) return false;
  const [, a, b, c] = spec.shape;
  const nchw = a === m.channels && b === m.imageSize && c === m.imageSize;
  return !nchw && a === m.imageSize && b === m.imageSize && typeof c === 'number';
};

/**
 * Reads the first output to a fresh Float32Array. Asynchronously: tfjs's webgpu backend cannot read GPU memory
 * synchronously under node (its readSync draws through an OffscreenCanvas).
 */
async function collect(tf: Runtime['tf'], out: Tensor, nhwcOut: boolean): Promise<Float32Array> {
  const t = nhwcOut ? tf.transpose(out, [0, 3, 1, 2]) : out;
  try {
    const data = await t.data();
    return data instanceof Float32Array ? new Float32Array(data) : Float32Array.from(data as ArrayLike<number>);
  } finally {
    if (t !== out) t.dispose();
  }
}

/**
 * Why a run threw, for the user: a kernel the active tfjs backend lacks (tfjs-backend-webgpu has no Unique,
 * BitwiseAnd, sparse or string kernels, say) names the op and another device; anything else as tfjs said it.
 */
export function runError(rt: Pick<Runtime, 'name' | 'label'>, name: string, cause: unknown): BackendError {
  const said = describeThrown(cause);
  const missing = /Kernel '([^']+)' not registered for backend '([^']+)'/.exec(said);
  return missing === null
    ? runtimeFailure(`tfjs failed running ${name}: ${said}`)
    : runtimeFailure(
        `the ${rt.name} device cannot run ${name}: tfjs's ${missing[2]} backend has no '${missing[1]}' kernel (${rt.label}); load the model on device wasm or cpu, which have every tfjs kernel`,
      );
}

/** A GPU runtime's state before a run: a lost device is an error naming why and what to do. */
function deviceGone(rt: Runtime, name: string): BackendError | null {
  const lost = rt.health?.lost();
  return lost === undefined
    ? null
    : runtimeFailure(`the ${rt.name} device running ${name} was lost (${lost}); load the model again to get a new device, or use another device`);
}

/** A GPU runtime's errors raised during a run (validation, out of memory): the run's output cannot be trusted. */
function gpuErrors(rt: Runtime, name: string): BackendError | null {
  const errors = rt.health?.takeErrors() ?? [];
  return errors.length === 0
    ? null
    : runtimeFailure(`the ${rt.name} device reported errors while running ${name}: ${errors.join('; ')}. With out-of-memory errors, run smaller batches`);
}

/** Reads a run's output, unless the GPU failed meanwhile. */
async function finish(rt: Runtime, name: string, out: Tensor, nhwcOut: boolean): Promise<E.Either<BackendError, Float32Array>> {
  const data = await collect(rt.tf, out, nhwcOut);
  const failed = deviceGone(rt, name) ?? gpuErrors(rt, name);
  return failed === null ? E.right(data) : E.left(failed);
}

/** Loads an ONNX model: parse, refuse unsupported ops, check against the manifest, compile for tfjs. */
export async function openOnnxEngine(model: ResolvedModel, rt: Runtime): Promise<E.Either<BackendError, TfjsEngine>> {
  const path = model.modelPath;
  let graph;
  try {
    graph = parseOnnx(model.modelBytes);
  } catch (cause) {
    return E.left(corruptModel(path, `not a readable ONNX model (${describeThrown(cause)})`));
  }
  const unsupported = unsupportedNodes(graph);
  if (unsupported.length > 0) {
    const shown = unsupported.slice(0, 5).join('; ') + (unsupported.length > 5 ? `; and ${unsupported.length - 5} more` : '');
    return E.left(
      modelContract(path, `the tfjs backend cannot run ${shown}. Supported ONNX ops: ${SUPPORTED_OPS.join(', ')}. Use the onnx backend for this model`),
    );
  }
  const contract = checkGraph(graph, model.manifest, path);
  if (E.isLeft(contract)) return contract;
  const feedSpecs = model.manifest.inputs;
  const outName = model.manifest.outputs[0]!.name;
  await activate(rt);
  let compiled: CompiledGraph;
  try {
    compiled = compileGraph(rt.tf, graph, feedSpecs.map((s) => s.name));
  } catch (cause) {
    return E.left(modelContract(path, `the tfjs backend cannot compile it: ${describeThrown(cause)}`));
  }
  const tf = rt.tf;
  return E.right({
    opsUsed: compiled.opsUsed,
    run: async (x, batch, timesteps) => {
      const gone = deviceGone(rt, model.manifest.name);
      if (gone !== null) return E.left(gone);
      await activate(rt);
      const feeds = new Map<string, Value>();
      const [imageSpec, timeSpec] = feedSpecs;
      let out: Tensor[] = [];
      try {
        feeds.set(imageSpec!.name, wrap(tf.tensor(x, batchShape(imageSpec!, batch), 'float32'), 'float32'));
        if (timeSpec !== undefined) {
          if (timesteps === null) return E.left(runtimeFailure(`model ${model.manifest.name} needs timesteps`));
          feeds.set(timeSpec.name, wrap(tf.tensor(Int32Array.from(timesteps), [batch], 'int32'), 'int64'));
        }
        out = compiled.run(feeds, [outName]);
        return await finish(rt, model.manifest.name, out[0] as Tensor, false);
      } catch (cause) {
        return E.left(runError(rt, model.manifest.name, cause));
      } finally {
        for (const v of feeds.values()) if (v.kind === 'tensor') v.tensor.dispose();
        for (const t of out) t.dispose();
      }
    },
    dispose: async () => compiled.dispose(),
  });
}

interface InfoLike {
  readonly name: string;
  readonly dtype?: string;
  readonly shape?: readonly (number | null | undefined)[] | null;
}

/** A tfjs model's declared inputs/outputs against the manifest: the contract's rule (tfjs holds int64 as int32). */
function checkTfjsSignature(path: string, role: 'input' | 'output', expected: readonly TensorSpec[], actual: readonly InfoLike[]): E.Either<BackendError, void> {
  const values: GraphValue[] = actual.map((a) => ({
    name: a.name.replace(/:0$/, ''),
    ...(a.dtype === undefined ? {} : { dtype: a.dtype }),
    ...(a.shape === undefined ? {} : { shape: a.shape }),
  }));
  return checkSignature(path, role, expected, values, { int64AsInt32: true });
}

/** Loads a tfjs GraphModel or LayersModel folder (`model.json` + shards) with the fs IO handler. */
export async function openTfjsEngine(model: ResolvedModel, rt: Runtime): Promise<E.Either<BackendError, TfjsEngine>> {
  const path = model.modelPath;
  const tf = rt.tf;
  const m = model.manifest;
  const layers = m.format === 'tfjs-layers';
  await activate(rt);
  const handler = verifiedLoadHandler(model);
  if (E.isLeft(handler)) return handler;
  let loaded: TF.GraphModel | TF.LayersModel;
  try {
    loaded = layers ? await tf.loadLayersModel(handler.right) : await tf.loadGraphModel(handler.right);
  } catch (cause) {
    return E.left(corruptModel(path, `tfjs cannot load it as a ${layers ? 'LayersModel' : 'GraphModel'} (${describeThrown(cause).split('\n')[0]})`));
  }
  const dispose = async (): Promise<void> => loaded.dispose() as unknown as void;
  let inputs: InfoLike[];
  let outputs: InfoLike[];
  if (layers) {
    const lm = loaded as TF.LayersModel;
    inputs = lm.inputs.map((s, i) => ({ name: lm.inputNames[i] ?? s.name, dtype: s.dtype, shape: s.shape }));
    outputs = lm.outputs.map((s, i) => ({ name: lm.outputNames[i] ?? s.name, dtype: s.dtype, shape: s.shape }));
  } else {
    const gm = loaded as TF.GraphModel;
    inputs = gm.inputs.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape ?? null }));
    outputs = gm.outputs.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape ?? null }));
  }
  const contract = checkTfjsSignature(path, 'input', m.inputs, inputs);
  const contractOut = E.isLeft(contract) ? contract : checkTfjsSignature(path, 'output', m.outputs, outputs);
  if (E.isLeft(contractOut)) {
    await dispose();
    return contractOut;
  }
  const [imageSpec, timeSpec] = m.inputs;
  const outSpec = m.outputs[0]!;
  const nhwcIn = channelsLast(imageSpec, m);
  const nhwcOut = channelsLast(outSpec, m);
  const inName = (spec: TensorSpec): string => inputs.find((i) => i.name.replace(/:0$/, '') === spec.name)?.name ?? spec.name;
  const outName = outputs.find((o) => o.name.replace(/:0$/, '') === outSpec.name)?.name ?? outSpec.name;
  return E.right({
    opsUsed: [layers ? 'tfjs LayersModel' : 'tfjs GraphModel'],
    run: async (x, batch, timesteps) => {
      const gone = deviceGone(rt, m.name);
      if (gone !== null) return E.left(gone);
      await activate(rt);
      const made: Tensor[] = [];
      try {
        const nchw = tf.tensor(x, [batch, m.channels, m.imageSize, m.imageSize], 'float32');
        made.push(nchw);
        const image = nhwcIn ? tf.transpose(nchw, [0, 2, 3, 1]) : tf.reshape(nchw, batchShape(imageSpec!, batch));
        made.push(image);
        const feed: Tensor[] = [image];
        if (timeSpec !== undefined) {
          if (timesteps === null) return E.left(runtimeFailure(`model ${m.name} needs timesteps`));
          const t = tf.tensor(Int32Array.from(timesteps), [batch], 'int32');
          made.push(t);
          feed.push(t);
        }
        let result: Tensor;
        if (layers) {
          const lm = loaded as TF.LayersModel;
          const order = lm.inputNames.map((n) => feed[m.inputs.findIndex((s) => s.name === n)] ?? feed[0]!);
          const r = lm.predict(order.length === 1 ? order[0]! : order);
          result = Array.isArray(r) ? (r[0] as Tensor) : (r as Tensor);
          if (Array.isArray(r)) made.push(...r.slice(1));
        } else {
          const gm = loaded as TF.GraphModel;
          const dict: Record<string, Tensor> = { [inName(imageSpec!)]: image };
          if (timeSpec !== undefined) dict[inName(timeSpec)] = feed[1]!;
          try {
            result = gm.execute(dict, outName) as Tensor;
          } catch (cause) {
            // Graphs with control flow or dynamic-shape ops only run asynchronously.
            if (!describeThrown(cause).includes('executeAsync')) throw cause;
            result = (await gm.executeAsync(dict, outName)) as Tensor;
          }
        }
        made.push(result);
        return await finish(rt, m.name, result, nhwcOut);
      } catch (cause) {
        return E.left(runError(rt, m.name, cause));
      } finally {
        for (const t of made) t.dispose();
      }
    },
    dispose,
  });
}

/** Opens a model with the engine its manifest's format needs. */
export function openEngine(model: ResolvedModel, rt: Runtime): Promise<E.Either<BackendError, TfjsEngine>> {
  return model.manifest.format === 'onnx' ? openOnnxEngine(model, rt) : openTfjsEngine(model, rt);
}

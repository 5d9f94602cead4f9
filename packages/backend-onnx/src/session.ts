// Everything that touches onnxruntime lives in this module: session creation, execution providers,
// checking a graph against its manifest, and running a batch.
import { availableParallelism } from 'node:os';
import { readFile } from 'node:fs/promises';
import { either as E } from 'fp-ts';
import ort from 'onnxruntime-node';
import {
  type BackendError,
  type ModelManifest,
  type TensorSpec,
  corruptModel,
  describeThrown,
  fileNotFound,
  modelContract,
  runtimeFailure,
} from '@densepure/backend';

export const ORT_VERSION: string = ort.env.versions.node ?? ort.env.versions.common ?? 'unknown';

export interface SessionOptions {
  readonly device?: string;
  readonly threads?: number;
}

export interface OpenedSession {
  readonly session: ort.InferenceSession;
  /** 'cpu' or 'cuda': what actually runs. */
  readonly provider: string;
  /** Set when the requested device could not be used, saying why and what runs instead. */
  readonly fallback?: string;
}

/** Execution providers this onnxruntime-node build carries; CUDA needs its libraries installed separately. */
export function supportedDevices(): { name: string; bundled: boolean }[] {
  try {
    return ort.listSupportedBackends().map((b) => ({ name: b.name, bundled: b.bundled }));
  } catch {
    return [{ name: 'cpu', bundled: true }];
  }
}

export const defaultThreads = (): number => Math.max(1, availableParallelism());

// A failed CUDA attempt is reported once, in our own words: keep onnxruntime's native log quiet for it.
async function createWith(bytes: Uint8Array, provider: string, threads: number): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, {
    executionProviders: [provider],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    logSeverityLevel: provider === 'cpu' ? 3 : 4,
  });
}

/** Opens a session on the requested device; a CUDA request that cannot be met falls back to CPU with a note. */
export async function openSession(modelPath: string, options: SessionOptions): Promise<E.Either<BackendError, OpenedSession>> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(modelPath);
  } catch (cause) {
    return E.left(
      (cause as NodeJS.ErrnoException).code === 'ENOENT' ? fileNotFound(modelPath) : corruptModel(modelPath, describeThrown(cause)),
    );
  }
  const device = options.device ?? 'cpu';
  if (device !== 'cpu' && device !== 'cuda') {
    return E.left(runtimeFailure(`unknown --device '${device}' for the onnx backend: use cpu or cuda`));
  }
  const threads = options.threads ?? defaultThreads();
  let fallback: string | undefined;
  if (device === 'cuda') {
    try {
      return E.right({ session: await createWith(bytes, 'cuda', threads), provider: 'cuda' });
    } catch (cause) {
      fallback = `cuda requested but unavailable (${describeThrown(cause).split('\n')[0]}); running on cpu. Install onnxruntime-node with its CUDA libraries (without ONNXRUNTIME_NODE_INSTALL=skip) on a CUDA machine.`;
    }
  }
  try {
    const session = await createWith(bytes, 'cpu', threads);
    return E.right(fallback === undefined ? { session, provider: 'cpu' } : { session, provider: 'cpu', fallback });
  } catch (cause) {
    return E.left(corruptModel(modelPath, `onnxruntime cannot load it: ${describeThrown(cause).split('\n')[0]}`));
  }
}

interface GraphValue {
  readonly name: string;
  readonly type?: string;
  readonly shape?: readonly (number | string)[];
}

const graphValues = (list: readonly ort.InferenceSession.ValueMetadata[]): GraphValue[] =>
  list.map((v) => (v.isTensor ? { name: v.name, type: v.type, shape: v.shape } : { name: v.name }));

const shapeText = (shape: readonly (number | string)[]): string => `[${shape.join(',')}]`;

function compareValues(path: string, role: string, expected: readonly TensorSpec[], actual: GraphValue[]): E.Either<BackendError, void> {
  for (const spec of expected) {
    const found = actual.find((v) => v.name === spec.name);
    if (found === undefined) {
      return E.left(
        modelContract(path, `${role} '${spec.name}' is missing; the graph has ${role}s ${actual.map((v) => `'${v.name}'`).join(', ')}`),
      );
    }
    if (found.type !== undefined && found.type !== spec.dtype) {
      return E.left(modelContract(path, `${role} '${spec.name}' has dtype ${found.type}, the manifest says ${spec.dtype}`));
    }
    if (found.shape !== undefined) {
      const ok =
        found.shape.length === spec.shape.length &&
        spec.shape.every((d, i) => {
          const g = found.shape![i];
          // Symbolic dims in the graph (batch, or unnamed) accept anything; fixed dims must agree.
          return typeof d === 'string' || typeof g !== 'number' || g < 0 || g === d;
        });
      if (!ok) {
        return E.left(
          modelContract(path, `${role} '${spec.name}' has shape ${shapeText(found.shape)}, the manifest says ${shapeText(spec.shape)}`),
        );
      }
    }
  }
  return E.right(undefined);
}

/** Checks the graph's declared inputs and outputs (names, dtypes, shapes) against the manifest. */
export function checkGraph(session: ort.InferenceSession, manifest: ModelManifest, path: string): E.Either<BackendError, void> {
  const inputs = compareValues(path, 'input', manifest.inputs, graphValues(session.inputMetadata));
  if (E.isLeft(inputs)) return inputs;
  return compareValues(path, 'output', manifest.outputs, graphValues(session.outputMetadata));
}

/** Feeds for one batch, by the manifest's input names: the image tensor and, for denoisers, int64 timesteps. */
export function makeFeeds(
  manifest: ModelManifest,
  x: Float32Array,
  batch: number,
  timesteps: ArrayLike<number> | null,
): Record<string, ort.Tensor> {
  const [imageInput, timeInput] = manifest.inputs;
  const feeds: Record<string, ort.Tensor> = {
    [imageInput!.name]: new ort.Tensor('float32', x, [batch, manifest.channels, manifest.imageSize, manifest.imageSize]),
  };
  if (timeInput !== undefined && timesteps !== null) {
    const t = new BigInt64Array(batch);
    for (let i = 0; i < batch; i++) t[i] = BigInt(timesteps[i] as number);
    feeds[timeInput.name] = new ort.Tensor('int64', t, [batch]);
  }
  return feeds;
}

/** Runs one batch and returns the first output's data (a fresh Float32Array the caller owns). */
export async function runSession(
  session: ort.InferenceSession,
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
    const data = new Float32Array(out.data);
    out.dispose();
    return E.right(data);
  } catch (cause) {
    return E.left(runtimeFailure(`onnxruntime failed running ${manifest.name}: ${describeThrown(cause)}`));
  }
}

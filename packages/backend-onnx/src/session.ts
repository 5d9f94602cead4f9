// Every onnxruntime-node session is opened here (execution providers, the CPU fallback); graph.ts checks it against
// its manifest and runs it on a batch (shared with the browser entry). describe.ts probes a graph through a session
// opened here.
import { availableParallelism } from 'node:os';
import { either as E } from 'fp-ts';
import ort from 'onnxruntime-node';
import { type BackendError, corruptModel, describeThrown, runtimeFailure } from '@densepure/backend';

export { checkGraph, makeFeeds, runSession } from './graph.js';

// onnxruntime's environment-wide logger writes straight to the process's stdout (e.g. the raw provider-bridge
// lines when CUDA cannot load). Everything it reports as an error also reaches us as an exception, which we
// report once as a BackendError or a fallback note, so keep it to fatal messages. It is read when onnxruntime
// creates its environment (the first session of the process), hence at import.
ort.env.logLevel = 'fatal';

export const ORT_VERSION: string = ort.env.versions.node ?? ort.env.versions.common ?? 'unknown';

export interface SessionOptions {
  readonly device?: string | undefined;
  readonly threads?: number | undefined;
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

/**
 * Opens a session from the model's checked bytes (ResolvedModel.modelBytes; `modelPath` names it in errors) on
 * the requested device; a CUDA request that cannot be met falls back to CPU with a note.
 */
export async function openSession(bytes: Uint8Array, modelPath: string, options: SessionOptions): Promise<E.Either<BackendError, OpenedSession>> {
  const device = options.device ?? 'cpu';
  if (device !== 'cpu' && device !== 'cuda') {
    return E.left(runtimeFailure(`unknown device '${device}' for the onnx backend: use cpu or cuda`));
  }
  const threads = options.threads ?? defaultThreads();
  let fallback: string | undefined;
  if (device === 'cuda') {
    try {
      return E.right({ session: await createWith(bytes, 'cuda', threads), provider: 'cuda' });
    } catch (cause) {
      fallback = `cuda requested but unavailable (${describeThrown(cause).split('\n')[0]}); running on cpu. On a CUDA machine, fetch onnxruntime-node's CUDA libraries (from NuGet): ONNXRUNTIME_NODE_INSTALL=cuda12 node script/install.js in its folder.`;
    }
  }
  try {
    const session = await createWith(bytes, 'cpu', threads);
    return E.right(fallback === undefined ? { session, provider: 'cpu' } : { session, provider: 'cpu', fallback });
  } catch (cause) {
    return E.left(corruptModel(modelPath, `onnxruntime cannot load it: ${describeThrown(cause).split('\n')[0]}`));
  }
}


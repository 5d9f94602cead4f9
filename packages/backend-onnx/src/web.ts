// The onnxruntime-web backend (browsers, Web Workers): the same graph checks, feeds and runs as the node backend
// (graph.ts), on onnxruntime-web's wasm or WebGPU execution provider. Importing this module registers it as
// 'onnx-web'. Nothing here imports node, and nothing is fetched from a CDN: the app says where onnxruntime-web's
// .wasm files are served (`configureOnnxWeb`), normally from its own bundle.
import { either as E } from 'fp-ts';
import * as ort from 'onnxruntime-web/webgpu';
import { type Backend, type BackendError, type BackendProbe, type ModelEngine, type ResolvedModel, corruptModel, describeThrown, runtimeFailure } from '@densepure/backend';
import { checkGraph, registerEngineBackend, runSession } from './graph.js';

export const ORT_WEB_VERSION: string = ort.env.versions.web ?? ort.env.versions.common ?? 'unknown';

/** Devices of the web backend: `wasm` (CPU, everywhere) and `webgpu` (where the browser offers an adapter). */
export const WEB_DEVICES = ['wasm', 'webgpu'] as const;
export type WebDevice = (typeof WEB_DEVICES)[number];

export interface OnnxWebSettings {
  /** Where onnxruntime-web's .wasm (and .mjs) files are served: a folder URL ending in '/', or the file URLs. */
  readonly wasmPaths?: string | { readonly wasm?: string; readonly mjs?: string };
  /** wasm threads per session (several need a cross-origin-isolated page); default 1. */
  readonly threads?: number;
}

/** Sets onnxruntime-web's environment; call it before the first model loads (later calls are ignored by ort). */
export function configureOnnxWeb(settings: OnnxWebSettings): void {
  if (settings.wasmPaths !== undefined) ort.env.wasm.wasmPaths = settings.wasmPaths as ort.Env.WasmPrefixOrFilePaths;
  ort.env.wasm.numThreads = settings.threads ?? 1;
  ort.env.logLevel = 'fatal';
}

/** Whether this browser offers a WebGPU adapter (null when it does, else why not). */
export async function webgpuUnavailable(): Promise<string | null> {
  const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } }).navigator?.gpu;
  if (gpu === undefined) return 'this browser has no WebGPU (navigator.gpu is missing)';
  try {
    return (await gpu.requestAdapter()) === null ? 'this browser offers no WebGPU adapter' : null;
  } catch (cause) {
    return `WebGPU adapter request failed: ${describeThrown(cause)}`;
  }
}

export interface OnnxWebEngine extends ModelEngine {
  readonly provider: WebDevice;
  readonly fallback?: string;
}

const create = (bytes: Uint8Array, provider: WebDevice): Promise<ort.InferenceSession> =>
  ort.InferenceSession.create(bytes, { executionProviders: [provider], graphOptimizationLevel: 'all', logSeverityLevel: 3 });

/** Opens a session on the requested device; a WebGPU request this browser cannot meet falls back to wasm with a note. */
async function openWebEngine(model: ResolvedModel, device: string | undefined): Promise<E.Either<BackendError, OnnxWebEngine>> {
  const wanted = device ?? 'wasm';
  if (!(WEB_DEVICES as readonly string[]).includes(wanted)) {
    return E.left(runtimeFailure(`unknown device '${wanted}' for the onnx-web backend: use ${WEB_DEVICES.join(' or ')}`));
  }
  let fallback: string | undefined;
  let session: ort.InferenceSession | undefined;
  let provider: WebDevice = 'wasm';
  if (wanted === 'webgpu') {
    const missing = await webgpuUnavailable();
    if (missing === null) {
      try {
        session = await create(model.modelBytes, 'webgpu');
        provider = 'webgpu';
      } catch (cause) {
        fallback = `webgpu requested but it failed (${describeThrown(cause).split('\n')[0]}); running on wasm`;
      }
    } else fallback = `webgpu requested but ${missing}; running on wasm`;
  }
  if (session === undefined) {
    try {
      session = await create(model.modelBytes, 'wasm');
    } catch (cause) {
      return E.left(corruptModel(model.modelPath, `onnxruntime-web cannot load it: ${describeThrown(cause).split('\n')[0]}`));
    }
  }
  const graph = checkGraph(session, model.manifest, model.modelPath);
  if (E.isLeft(graph)) {
    await session.release();
    return graph;
  }
  const opened = session;
  return E.right({
    provider,
    ...(fallback === undefined ? {} : { fallback }),
    run: (x, batch, timesteps) => runSession(opened, model.manifest, x, batch, timesteps),
    dispose: () => opened.release(),
  });
}

const runtimeText = (engine: OnnxWebEngine): string =>
  `onnxruntime-web ${ORT_WEB_VERSION} (${engine.provider})${engine.fallback === undefined ? '' : `; ${engine.fallback}`}`;

async function probe(): Promise<BackendProbe> {
  const missing = await webgpuUnavailable();
  return {
    available: typeof (globalThis as { WebAssembly?: unknown }).WebAssembly === 'object',
    runtime: `onnxruntime-web ${ORT_WEB_VERSION}`,
    devices: missing === null ? ['wasm', 'webgpu'] : ['wasm'],
    notes: missing === null ? [] : [`webgpu: ${missing}; device webgpu falls back to wasm with a message`],
  };
}

/** The onnxruntime-web backend. Importing this module registers it under 'onnx-web' (priority 90). */
export const onnxWebBackend: Backend = registerEngineBackend({ name: 'onnx-web', priority: 90, probe, open: (model, options) => openWebEngine(model, options.device), runtime: runtimeText });

// One onnxruntime session per worker thread: session.run blocks its thread, so parallel batches need workers.
// A worker computes one batch at a time (the pool never sends a second before the reply), so replies need no ids.
import { parentPort } from 'node:worker_threads';
import { either as E } from 'fp-ts';
import type { BackendError, ModelManifest } from '@densepure/backend';
import { type OpenedSession, checkGraph, openSession, runSession } from './session.js';

export type WorkerRequest =
  | {
      readonly type: 'load';
      /** The model file's bytes as checked by resolveModel: the worker never reads the file itself. */
      readonly bytes: Uint8Array;
      readonly modelPath: string;
      readonly manifest: ModelManifest;
      readonly device?: string | undefined;
      readonly threads?: number;
    }
  | { readonly type: 'run'; readonly x: Float32Array; readonly batch: number; readonly timesteps: number[] | null };

export type WorkerReply =
  | { readonly type: 'loaded'; readonly provider: string; readonly fallback?: string }
  | { readonly type: 'load-error'; readonly error: BackendError }
  | { readonly type: 'result'; readonly data: Float32Array }
  | { readonly type: 'error'; readonly error: BackendError };

let opened: OpenedSession | null = null;
let manifest: ModelManifest | null = null;

const port = parentPort;
if (port !== null) {
  port.on('message', async (msg: WorkerRequest) => {
    if (msg.type === 'load') {
      const result = await openSession(msg.bytes, msg.modelPath, { device: msg.device, threads: msg.threads });
      if (E.isLeft(result)) return port.postMessage({ type: 'load-error', error: result.left } satisfies WorkerReply);
      const graph = checkGraph(result.right.session, msg.manifest, msg.modelPath);
      if (E.isLeft(graph)) return port.postMessage({ type: 'load-error', error: graph.left } satisfies WorkerReply);
      opened = result.right;
      manifest = msg.manifest;
      const reply: WorkerReply = opened.fallback === undefined
        ? { type: 'loaded', provider: opened.provider }
        : { type: 'loaded', provider: opened.provider, fallback: opened.fallback };
      return port.postMessage(reply);
    }
    if (opened === null || manifest === null) {
      return port.postMessage({ type: 'error', error: { kind: 'runtime-failure', message: 'onnx worker has no model loaded' } } satisfies WorkerReply);
    }
    const out = await runSession(opened.session, manifest, msg.x, msg.batch, msg.timesteps);
    if (E.isLeft(out)) return port.postMessage({ type: 'error', error: out.left } satisfies WorkerReply);
    return port.postMessage({ type: 'result', data: out.right } satisfies WorkerReply, [out.right.buffer as ArrayBuffer]);
  });
}

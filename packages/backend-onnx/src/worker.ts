// One onnxruntime session per worker thread: session.run blocks its thread, so parallel batches need workers.
import { parentPort } from 'node:worker_threads';
import { either as E } from 'fp-ts';
import type { BackendError, ModelManifest } from '@densepure/backend';
import { type OpenedSession, checkGraph, openSession, runSession } from './session.js';

export type WorkerRequest =
  | { readonly type: 'load'; readonly modelPath: string; readonly manifest: ModelManifest; readonly device?: string; readonly threads?: number }
  | { readonly type: 'run'; readonly id: number; readonly x: Float32Array; readonly batch: number; readonly timesteps: number[] | null }
  | { readonly type: 'dispose' };

export type WorkerReply =
  | { readonly type: 'loaded'; readonly provider: string; readonly fallback?: string }
  | { readonly type: 'result'; readonly id: number; readonly data: Float32Array }
  | { readonly type: 'error'; readonly id: number | null; readonly error: BackendError }
  | { readonly type: 'disposed' };

let opened: OpenedSession | null = null;
let manifest: ModelManifest | null = null;

const port = parentPort;
if (port !== null) {
  port.on('message', async (msg: WorkerRequest) => {
    if (msg.type === 'load') {
      const result = await openSession(msg.modelPath, { device: msg.device, threads: msg.threads });
      if (E.isLeft(result)) return port.postMessage({ type: 'error', id: null, error: result.left } satisfies WorkerReply);
      const graph = checkGraph(result.right.session, msg.manifest, msg.modelPath);
      if (E.isLeft(graph)) return port.postMessage({ type: 'error', id: null, error: graph.left } satisfies WorkerReply);
      opened = result.right;
      manifest = msg.manifest;
      const reply: WorkerReply = opened.fallback === undefined
        ? { type: 'loaded', provider: opened.provider }
        : { type: 'loaded', provider: opened.provider, fallback: opened.fallback };
      return port.postMessage(reply);
    }
    if (msg.type === 'run') {
      if (opened === null || manifest === null) {
        return port.postMessage({ type: 'error', id: msg.id, error: { kind: 'runtime-failure', message: 'worker has no model loaded' } } satisfies WorkerReply);
      }
      const out = await runSession(opened.session, manifest, msg.x, msg.batch, msg.timesteps);
      if (E.isLeft(out)) return port.postMessage({ type: 'error', id: msg.id, error: out.left } satisfies WorkerReply);
      return port.postMessage({ type: 'result', id: msg.id, data: out.right } satisfies WorkerReply, [out.right.buffer as ArrayBuffer]);
    }
    await opened?.session.release();
    opened = null;
    port.postMessage({ type: 'disposed' } satisfies WorkerReply);
  });
}

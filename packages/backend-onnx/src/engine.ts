import { Worker } from 'node:worker_threads';
import { either as E } from 'fp-ts';
import { type BackendError, type ModelEngine, type ModelManifest, type ResolvedModel, describeThrown, runtimeFailure } from '@densepure/backend';
import { checkGraph, defaultThreads, openSession, runSession } from './session.js';
import type { WorkerReply, WorkerRequest } from './worker.js';

export interface EngineOptions {
  readonly device?: string;
  readonly threads?: number;
  /** 0 (default): run in this thread. N >= 1: a pool of N worker threads, one session each. */
  readonly workers?: number;
}

export interface OnnxEngine extends ModelEngine {
  readonly provider: string;
  readonly fallback?: string;
  readonly workers: number;
  readonly threads: number;
}

/** A session in this thread: simplest, but each run blocks the event loop while it computes. */
async function inProcessEngine(model: ResolvedModel, options: EngineOptions): Promise<E.Either<BackendError, OnnxEngine>> {
  const threads = options.threads ?? defaultThreads();
  const opened = await openSession(model.modelPath, { device: options.device, threads });
  if (E.isLeft(opened)) return opened;
  const graph = checkGraph(opened.right.session, model.manifest, model.modelPath);
  if (E.isLeft(graph)) {
    await opened.right.session.release();
    return graph;
  }
  const { session, provider, fallback } = opened.right;
  return E.right({
    provider,
    ...(fallback === undefined ? {} : { fallback }),
    workers: 0,
    threads,
    run: (x, batch, timesteps) => runSession(session, model.manifest, x, batch, timesteps),
    dispose: () => session.release(),
  });
}

// In vitest the sources run as .ts; workers need the built .js (turbo builds before tests).
const workerUrl = (): URL =>
  new URL(import.meta.url.endsWith('.ts') ? '../dist/worker.js' : './worker.js', import.meta.url);

interface PoolWorker {
  readonly worker: Worker;
  busy: boolean;
}

/** N worker threads with one session each; batches go to the first idle worker, the rest queue. */
async function poolEngine(model: ResolvedModel, options: EngineOptions & { workers: number }): Promise<E.Either<BackendError, OnnxEngine>> {
  const count = options.workers;
  const threads = options.threads ?? Math.max(1, Math.floor(defaultThreads() / count));
  const pending = new Map<number, (r: E.Either<BackendError, Float32Array>) => void>();
  const queue: Array<() => void> = [];
  let nextId = 0;
  const workers: PoolWorker[] = [];

  const load = (manifest: ModelManifest): Promise<E.Either<BackendError, { provider: string; fallback?: string }>> =>
    new Promise((resolveLoad) => {
      const worker = new Worker(workerUrl());
      const entry: PoolWorker = { worker, busy: false };
      workers.push(entry);
      worker.once('error', (err) => resolveLoad(E.left(runtimeFailure(`onnx worker failed to start: ${describeThrown(err)}`))));
      const onFirst = (msg: WorkerReply): void => {
        if (msg.type === 'loaded') {
          resolveLoad(E.right(msg.fallback === undefined ? { provider: msg.provider } : { provider: msg.provider, fallback: msg.fallback }));
          worker.on('message', (reply: WorkerReply) => {
            if (reply.type !== 'result' && reply.type !== 'error') return;
            if (reply.id === null) return;
            const done = pending.get(reply.id);
            pending.delete(reply.id);
            entry.busy = false;
            done?.(reply.type === 'result' ? E.right(reply.data) : E.left(reply.error));
            queue.shift()?.();
          });
        } else if (msg.type === 'error') {
          resolveLoad(E.left(msg.error));
        }
      };
      worker.once('message', onFirst);
      worker.postMessage({ type: 'load', modelPath: model.modelPath, manifest, device: options.device, threads } satisfies WorkerRequest);
    });

  const loaded = await Promise.all(Array.from({ length: count }, () => load(model.manifest)));
  const failed = loaded.find(E.isLeft);
  const terminateAll = async (): Promise<void> => {
    await Promise.all(workers.map((w) => w.worker.terminate()));
  };
  if (failed !== undefined) {
    await terminateAll();
    return failed;
  }
  const first = (loaded[0] as E.Right<{ provider: string; fallback?: string }>).right;

  const dispatch = (x: Float32Array, batch: number, timesteps: ArrayLike<number> | null): Promise<E.Either<BackendError, Float32Array>> =>
    new Promise((resolveRun) => {
      const attempt = (): void => {
        const idle = workers.find((w) => !w.busy);
        if (idle === undefined) {
          queue.push(attempt);
          return;
        }
        idle.busy = true;
        const id = nextId++;
        pending.set(id, resolveRun);
        // Copy: the caller keeps its buffer, the worker gets a transferable one.
        const copy = new Float32Array(x);
        idle.worker.postMessage(
          { type: 'run', id, x: copy, batch, timesteps: timesteps === null ? null : Array.from(timesteps) } satisfies WorkerRequest,
          [copy.buffer],
        );
      };
      attempt();
    });

  return E.right({
    provider: first.provider,
    ...(first.fallback === undefined ? {} : { fallback: first.fallback }),
    workers: count,
    threads,
    run: dispatch,
    dispose: terminateAll,
  });
}

/** Opens a model in this thread or in a worker pool, per `options.workers`. */
export function openEngine(model: ResolvedModel, options: EngineOptions): Promise<E.Either<BackendError, OnnxEngine>> {
  const workers = options.workers ?? 0;
  if (!Number.isInteger(workers) || workers < 0) {
    return Promise.resolve(E.left(runtimeFailure(`--workers must be a whole number >= 0, got ${workers}`)));
  }
  return workers === 0 ? inProcessEngine(model, options) : poolEngine(model, { ...options, workers });
}

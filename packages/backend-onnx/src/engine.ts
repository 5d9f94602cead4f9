import { Worker } from 'node:worker_threads';
import { either as E } from 'fp-ts';
import {
  type BackendError,
  type ModelEngine,
  type ResolvedModel,
  describeThrown,
  disposed,
  runtimeFailure,
} from '@densepure/backend';
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

type Outcome = E.Either<BackendError, Float32Array>;

/** A session in this thread: simplest, but each run blocks the event loop while it computes. */
async function inProcessEngine(model: ResolvedModel, options: EngineOptions): Promise<E.Either<BackendError, OnnxEngine>> {
  const threads = options.threads ?? defaultThreads();
  const { manifest, modelPath } = model;
  const opened = await openSession(model.modelBytes, modelPath, { device: options.device, threads });
  if (E.isLeft(opened)) return opened;
  const graph = checkGraph(opened.right.session, manifest, modelPath);
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
    run: (x, batch, timesteps) => runSession(session, manifest, x, batch, timesteps),
    dispose: () => session.release(),
  });
}

// In vitest the sources run as .ts; workers need the built .js (turbo builds before tests).
const defaultWorkerUrl = (): URL =>
  new URL(import.meta.url.endsWith('.ts') ? '../dist/worker.js' : './worker.js', import.meta.url);

interface Job {
  readonly x: Float32Array;
  readonly batch: number;
  readonly timesteps: ArrayLike<number> | null;
  readonly done: (outcome: Outcome) => void;
}

interface PoolWorker {
  readonly index: number;
  readonly worker: Worker;
  /** The batch this worker is computing, if any. */
  job: Job | null;
}

type Loaded = { provider: string; fallback?: string };

/**
 * N worker threads with one session each; batches go to the first idle worker, the rest queue. A worker that
 * dies (exit, uncaught error) fails its batch and every queued one with a runtime-failure, and the engine stays
 * failed (the other workers are stopped): a run never waits for a worker that is gone. `dispose` rejects
 * pending batches as 'disposed'. `workerUrl` is for tests (workers that crash on purpose).
 */
export async function poolEngine(
  model: ResolvedModel,
  options: EngineOptions & { readonly workers: number },
  workerUrl: URL = defaultWorkerUrl(),
): Promise<E.Either<BackendError, OnnxEngine>> {
  const count = options.workers;
  const threads = options.threads ?? Math.max(1, Math.floor(defaultThreads() / count));
  const queue: Job[] = [];
  const pool: PoolWorker[] = [];
  let failure: BackendError | null = null;
  let loading = true;

  const stopAll = (): Promise<unknown> => Promise.all(pool.map((w) => w.worker.terminate()));

  /** Fails every batch in flight or queued, and every later one, with `error`. */
  const fail = (error: BackendError): void => {
    if (failure !== null) return;
    failure = error;
    for (const w of pool) {
      const job = w.job;
      w.job = null;
      job?.done(E.left(error));
    }
    for (const job of queue.splice(0)) job.done(E.left(error));
    void stopAll();
  };

  const pump = (): void => {
    while (failure === null && queue.length > 0) {
      const idle = pool.find((w) => w.job === null);
      if (idle === undefined) return;
      const job = queue.shift()!;
      idle.job = job;
      // Copy: the caller keeps its buffer, the worker gets a transferable one.
      const copy = new Float32Array(job.x);
      const timesteps = job.timesteps === null ? null : Array.from(job.timesteps);
      idle.worker.postMessage({ type: 'run', x: copy, batch: job.batch, timesteps } satisfies WorkerRequest, [copy.buffer]);
    }
  };

  const start = (index: number): Promise<E.Either<BackendError, Loaded>> =>
    new Promise((resolveLoad) => {
      let settled = false;
      const settle = (r: E.Either<BackendError, Loaded>): void => {
        if (!settled) resolveLoad(r);
        settled = true;
      };
      const worker = new Worker(workerUrl);
      const entry: PoolWorker = { index, worker, job: null };
      pool.push(entry);
      worker.on('message', (reply: WorkerReply) => {
        if (reply.type === 'loaded') return settle(E.right(reply.fallback === undefined ? { provider: reply.provider } : { provider: reply.provider, fallback: reply.fallback }));
        if (reply.type === 'load-error') return settle(E.left(reply.error));
        if (reply.type !== 'result' && reply.type !== 'error') return;
        const job = entry.job;
        entry.job = null;
        job?.done(reply.type === 'result' ? E.right(reply.data) : E.left(reply.error));
        pump();
      });
      const died = (what: string): void => {
        const error = runtimeFailure(
          loading
            ? `onnx worker ${index + 1} of ${count} ${what} while loading the model`
            : `onnx worker ${index + 1} of ${count} ${what}${entry.job === null ? '' : ' while running a batch'}; the model is no longer usable: load it again`,
        );
        settle(E.left(error));
        fail(error);
      };
      worker.on('error', (err) => died(`crashed (${describeThrown(err)})`));
      worker.on('exit', (code) => {
        if (failure === null) died(`exited unexpectedly (exit code ${code})`);
        else settle(E.left(failure)); // stopped because another worker failed while loading
      });
      worker.postMessage({ type: 'load', bytes: model.modelBytes, modelPath: model.modelPath, manifest: model.manifest, device: options.device, threads } satisfies WorkerRequest);
    });

  const loaded = await Promise.all(Array.from({ length: count }, (_, i) => start(i)));
  loading = false;
  const failed = loaded.find(E.isLeft);
  if (failed !== undefined) {
    fail(failed.left);
    await stopAll();
    return failed;
  }
  const first = (loaded[0] as E.Right<Loaded>).right;

  return E.right({
    provider: first.provider,
    ...(first.fallback === undefined ? {} : { fallback: first.fallback }),
    workers: count,
    threads,
    run: (x, batch, timesteps) =>
      new Promise<Outcome>((done) => {
        if (failure !== null) return done(E.left(failure));
        queue.push({ x, batch, timesteps, done });
        pump();
      }),
    dispose: async () => {
      fail(disposed(`onnx model ${model.manifest.name}`));
      await stopAll();
    },
  });
}

/** Opens a model in this thread or in a worker pool, per `options.workers`. */
export function openEngine(model: ResolvedModel, options: EngineOptions): Promise<E.Either<BackendError, OnnxEngine>> {
  const workers = options.workers ?? 0;
  if (!Number.isInteger(workers) || workers < 0) {
    return Promise.resolve(E.left(runtimeFailure(`workers must be a whole number >= 0, got ${workers}`)));
  }
  return workers === 0 ? inProcessEngine(model, options) : poolEngine(model, { ...options, workers });
}

// `densepure worker --queue`: takes certify jobs with this machine's own backend, device and threads.
import { either as E, taskEither as TE } from 'fp-ts';
import { type Catalog, type ModelCache, type RunError, modelRunError, countDrawRanges, certifyImageCosted, createModelCache, openPipeline, runIdentity } from '@densepure/runner';
import type { QueueConnection } from '../connection.js';
import type { QueueError } from '../errors.js';
import type { QueueTuning } from '../jobs.js';
import type { RunRecord } from '../registry.js';
import { type ServeSummary, type WorkHandler, type WorkRefusal, type WorkerEvent, serve } from '../worker.js';
import { type CertifyAnswer, type CertifyPart, type WorkerSpec, queueIdentity } from './protocol.js';

export interface CertifyWorkerOptions {
  readonly connection: QueueConnection;
  readonly name?: string;
  /** Backend for the models; default: the run's (another backend changes the identity, so the run is refused). */
  readonly backend?: string;
  /** This machine's device (onnx: cpu | cuda; tfjs: wasm | cpu | tfjs-node | tfjs-node-gpu). */
  readonly device?: string;
  readonly threads?: number;
  /** Worker threads with one model session each (0: the main thread). */
  readonly workers?: number;
  readonly tuning?: Partial<QueueTuning>;
  readonly signal?: AbortSignal;
  /** Stop once no run has been open for this long, ms (default: serve until stopped). */
  readonly idleExitMs?: number;
  readonly onEvent?: (event: WorkerEvent) => void;
  /** What the runs' model and dataset specs name on this machine (default: paths). */
  readonly catalog?: Catalog;
}

/** The backend the run was computed with, read from its identity (one method, or several under `<slug>.`). */
const runBackend = (run: RunRecord): string | undefined => {
  const found = Object.entries(run.identity).find(([k]) => k === 'backend' || k.endsWith('.backend'))?.[1];
  return typeof found === 'string' ? found : undefined;
};

/**
 * Serves queued certify runs: for each run, opens the models and dataset its spec names (paths as seen on this
 * machine) with this machine's backend options, compares the resulting identity (model and manifest hashes,
 * dataset, configuration) with the run's and refuses on any difference; then certifies its jobs.
 */
export function certifyWorker(o: CertifyWorkerOptions): TE.TaskEither<QueueError, ServeSummary> {
  const workers = o.workers ?? 0;
  const prepareWith = (cache: ModelCache) => (run: RunRecord): TE.TaskEither<WorkRefusal, WorkHandler<CertifyPart, CertifyAnswer>> => async () => {
    const spec = run.spec as WorkerSpec;
    const backend = o.backend ?? spec.models.backend ?? runBackend(run);
    const { device: _device, threads: _threads, ...shared } = spec.models;
    const models = {
      ...shared,
      workers,
      ...(backend === undefined ? {} : { backend }),
      ...(o.device === undefined ? {} : { device: o.device }),
      ...(o.threads === undefined ? {} : { threads: o.threads }),
    };
    const local: WorkerSpec = { ...spec, models };
    const opened = await openPipeline({ ...local, methods: spec.methods }, { cache, ...(o.catalog === undefined ? {} : { catalog: o.catalog }) })();
    if (E.isLeft(opened)) return E.left({ kind: 'work-refused', message: opened.left.message });
    const pipeline = opened.right;
    const identity = queueIdentity(
      spec.methods.map((m) => runIdentity(local, m, { denoiser: pipeline.denoiser?.metadata ?? null, classifier: pipeline.classifier.metadata, dataset: pipeline.dataset })),
    );
    return E.right({
      identity,
      dispose: () => pipeline.dispose(),
      compute: async (idx, part) => {
        const result: E.Either<RunError, CertifyAnswer> =
          part.ranges !== undefined
            ? E.mapLeft(modelRunError)(await countDrawRanges(pipeline, local, idx, part.wanted, part.ranges))
            : await certifyImageCosted(pipeline, local, pipeline.dataset.get(idx), idx, part.wanted)();
        return E.mapLeft((error: RunError) => ({ kind: 'work-failed' as const, message: error.message }))(result);
      },
    });
  };
  return async () => {
    // Runs after one another (an eval grid's cells) that name the same models share their open sessions.
    const cache = createModelCache();
    try {
      return await serve<CertifyPart, CertifyAnswer>({
        connection: o.connection,
        prepare: prepareWith(cache),
        ...(o.name === undefined ? {} : { name: o.name }),
        ...(o.tuning === undefined ? {} : { tuning: o.tuning }),
        ...(o.signal === undefined ? {} : { signal: o.signal }),
        ...(o.idleExitMs === undefined ? {} : { idleExitMs: o.idleExitMs }),
        ...(o.onEvent === undefined ? {} : { onEvent: o.onEvent }),
      })();
    } finally {
      await cache.dispose();
    }
  };
}

// `densepure worker --queue`: takes certify jobs with this machine's own backend, device and threads.
import { either as E, taskEither as TE } from 'fp-ts';
import { type Catalog, type ModelCache, type RunError, modelRunError, countDrawRanges, certifyImageCosted, createModelCache, modeOf, openPipeline, runIdentity, sliceIndices } from '@densepure/runner';
import type { QueueConnection } from '../connection.js';
import type { QueueError } from '../errors.js';
import type { QueueTuning } from '../jobs.js';
import type { RunRecord } from '../registry.js';
import { type ServeSummary, type WorkHandler, type WorkRefusal, type WorkerEvent, serve } from '../worker.js';
import { type WorkerAllowance, allowanceOf, datasetRefusal, localModels } from './allowed.js';
import { type CertifyAnswer, type CertifyPart, type WorkerSpec, partProblem, queueIdentity } from './protocol.js';
import { isServeRunSpec } from '../serve/protocol.js';
import { prepareServeRun } from '../serve/worker.js';

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
  /** What 'default' names on this machine (its models and dataset are allowed too). */
  readonly catalog?: Catalog;
  /**
   * The models this worker may load (manifests, model files, folders of manifests): a run's models are found
   * among them by sha256; the paths a run's spec names are never opened. Default: the catalog's alone.
   */
  readonly models?: readonly string[];
  /** The dataset files and folders this worker may read; a run naming another dataset is refused unopened. Default: the catalog's alone. */
  readonly data?: readonly string[];
  /** Jobs of a certificate server's run taken at once, their model calls merged (default 8). */
  readonly jobsAtOnce?: number;
}

/** The backend the run was computed with, read from its identity (one method, or several under `<slug>.`). */
const runBackend = (run: RunRecord): string | undefined => {
  const found = Object.entries(run.identity).find(([k]) => k === 'backend' || k.endsWith('.backend'))?.[1];
  return typeof found === 'string' ? found : undefined;
};

/** A spec as a worker reads it from Redis: only its shape is trusted here, its values are checked by the identity. */
const specShapeProblem = (spec: unknown): string | null => {
  const s = spec as Partial<WorkerSpec> | null;
  if (s === null || typeof s !== 'object') return 'the run has no spec';
  if (s.models === null || typeof s.models !== 'object') return "the run's spec has no models";
  if (s.dataset === null || typeof s.dataset !== 'object' || typeof s.dataset.spec !== 'string') return "the run's spec has no dataset";
  if (!Array.isArray(s.methods) || s.methods.length === 0) return "the run's spec has no methods";
  return null;
};

/**
 * Serves queued certify runs: for each run, finds the models its identity names (by sha256) among the models
 * this worker was started to allow and checks its dataset is one this worker may read (a run's paths are never
 * opened), opens them with this machine's backend options, compares the resulting identity (model and manifest
 * hashes, dataset, configuration) with the run's and refuses on any difference; then certifies its jobs, each
 * checked against the run first (images of its slice, draw ranges within N0 + N, methods of the run). A
 * certificate server's standing run is served the same way (serve/worker.ts): its jobs are draws of served images.
 */
export function certifyWorker(o: CertifyWorkerOptions): TE.TaskEither<QueueError, ServeSummary> {
  const workers = o.workers ?? 0;
  const prepareWith = (cache: ModelCache, allowance: WorkerAllowance) => (run: RunRecord): TE.TaskEither<WorkRefusal, WorkHandler<unknown, unknown>> => async () => {
    // A certificate server's standing run: draws of served requests, their images inline.
    if (isServeRunSpec(run.spec)) return prepareServeRun(run, run.spec, cache, allowance, { ...o, workers })();
    const refuse = (message: string): E.Either<WorkRefusal, never> => E.left({ kind: 'work-refused', message });
    const shape = specShapeProblem(run.spec);
    if (shape !== null) return refuse(shape);
    const spec = run.spec as WorkerSpec;
    const dataRefusal = await datasetRefusal(spec.dataset.spec, allowance);
    if (dataRefusal !== null) return refuse(dataRefusal);
    const own = localModels(run, allowance);
    if (E.isLeft(own)) return refuse(own.left);
    const backend = o.backend ?? spec.models.backend ?? runBackend(run);
    const { device: _device, threads: _threads, ...shared } = spec.models;
    const models = {
      ...shared,
      // This worker's own files for the run's models, whatever paths the spec names.
      denoiser: own.right.denoiser,
      classifier: own.right.classifier,
      workers,
      ...(backend === undefined ? {} : { backend }),
      ...(o.device === undefined ? {} : { device: o.device }),
      ...(o.threads === undefined ? {} : { threads: o.threads }),
    };
    const local: WorkerSpec = { ...spec, models };
    const opened = await openPipeline({ ...local, methods: spec.methods }, { cache, ...(o.catalog === undefined ? {} : { catalog: o.catalog }) })();
    if (E.isLeft(opened)) return refuse(opened.left.message);
    const pipeline = opened.right;
    const identity = queueIdentity(
      spec.methods.map((m) => runIdentity(local, m, { denoiser: pipeline.denoiser?.metadata ?? null, classifier: pipeline.classifier.metadata, dataset: pipeline.dataset })),
    );
    const slice = sliceIndices(pipeline.dataset, spec.dataset);
    if (E.isLeft(slice)) {
      await pipeline.dispose();
      return refuse(slice.left.message);
    }
    const limits = { images: new Set(slice.right), draws: spec.n0 + spec.n, methods: spec.methods.length, splittable: modeOf(spec.mode).countsAdd };
    return E.right({
      identity,
      dispose: () => pipeline.dispose(),
      compute: async (idx, payload) => {
        const part = payload as CertifyPart;
        const problem = partProblem(idx, part, limits);
        if (problem !== null) return E.left({ kind: 'work-rejected', message: `the job for image ${idx} of run ${run.runId} does not fit the run: ${problem}` });
        const result: E.Either<RunError, CertifyAnswer> =
          part.ranges !== undefined
            ? E.mapLeft(modelRunError)(await countDrawRanges(pipeline, local, idx, part.wanted, part.ranges))
            : await certifyImageCosted(pipeline, local, pipeline.dataset.get(idx), idx, part.wanted)();
        return E.mapLeft((error: RunError) => ({ kind: 'work-failed' as const, message: error.message }))(result);
      },
    });
  };
  return async () => {
    const allowance = await allowanceOf(o)();
    if (E.isLeft(allowance)) return allowance;
    // Runs after one another (an eval grid's cells) that name the same models share their open sessions.
    const cache = createModelCache();
    let abandoned = false;
    try {
      const served = await serve<unknown, unknown>({
        connection: o.connection,
        prepare: prepareWith(cache, allowance.right),
        ...(o.name === undefined ? {} : { name: o.name }),
        ...(o.tuning === undefined ? {} : { tuning: o.tuning }),
        ...(o.signal === undefined ? {} : { signal: o.signal }),
        ...(o.idleExitMs === undefined ? {} : { idleExitMs: o.idleExitMs }),
        ...(o.onEvent === undefined ? {} : { onEvent: o.onEvent }),
      })();
      abandoned = E.isRight(served) && served.right.abandoned > 0;
      return served;
    } finally {
      // A job given up on a stop may still be computing on these sessions: the process's end closes them.
      if (!abandoned) await cache.dispose();
    }
  };
}

// One served model: its pipeline opened once, its model calls merged across every request in flight (the
// runner's coalescing, as a sequential run merges its images' rounds), and each request certified by the runner's
// own per-image code on its own noise stream (seed, index), so an answer is exactly the row `densepure certify`
// writes for that image and seed.
import { either as E, taskEither as TE } from 'fp-ts';
import { type Classifier, type Denoiser, runtimeFailure } from '@densepure/backend';
import { type ImageClassifier, wrapClassifier } from '@densepure/classifiers';
import { predict } from '@densepure/core';
import {
  type Catalog,
  type ImageSettings,
  type Method,
  type ModelsSpec,
  type Pipeline,
  type RunError,
  certifyImageCosted,
  coalescedClassifier,
  coalescedDenoiser,
  drawsPerBatch,
  methodSlug,
  modelRunError,
  needsDenoiser,
  parseMethodSettings,
  votesOf,
  openPipeline,
  runErrorMessage,
} from '@densepure/runner';
import { type EvaluationTally, type MethodGroup, type MethodGroupConfig, makeMethodGroup } from '@densepure/voting';
import { Admission, type AdmissionLimits } from './admission.js';
import type { ServeError } from './errors.js';
import { type DrawsWhere, type OpenRemoteDraws, type RemoteDraws, type RemoteOpenError, type RemoteState, countingSampler, remoteGroup, withSamplers } from './remote.js';
import { type CertifyJob, DEFAULT_LIMITS, type ModelInput, type RequestDefaults, type ServeLimits } from './request.js';

/** What one served model is: its name, models, the dataset that gives its input shape and classes, and defaults. */
export interface ServedModelSpec {
  readonly name: string;
  readonly models: ModelsSpec;
  /** A dataset spec: the served inputs have its image shape and classes (its images are never served). */
  readonly dataset: string;
  /** Rows per merged model call (speed only: the answers do not depend on it). */
  readonly batch: number;
  readonly variance?: MethodGroupConfig['variance'];
  readonly timestepRule?: MethodGroupConfig['timestepRule'];
  readonly defaults: RequestDefaults;
  /** Hands the requests' draws to workers elsewhere (a queue) instead of computing them here. */
  readonly remote?: OpenRemoteDraws;
}

/** A certificate (or PREDICT's answer) and what it cost. */
export interface Certificate {
  /** -1 when abstaining. */
  readonly label: number;
  /** Certify modes: the certified radius (0 when abstaining). */
  readonly radius?: number;
  readonly stop?: string;
  readonly pALower?: number;
  readonly pValue?: number;
  readonly draws: { readonly selection: number; readonly estimation: number };
  readonly evaluations: EvaluationTally;
  readonly seconds: number;
}

export interface ServedModel {
  readonly name: string;
  readonly input: ModelInput;
  readonly numClasses: number;
  readonly classNames: readonly string[];
  readonly defaults: RequestDefaults;
  /** The models as loaded: name, runtime, sha256 (for the model's metadata endpoint). */
  readonly loaded: readonly { readonly kind: string; readonly name: string; readonly runtime: string; readonly sha256?: string }[];
  /** Certifies one checked request; `arrived` (performance.now()) starts its deadline. */
  certify(job: CertifyJob, arrived: number): Promise<E.Either<ServeError, Certificate>>;
  readonly admission: Admission;
  /** Turns away waiting and new requests, gives those in flight `graceMs` to finish, then stops them (503). */
  drain(graceMs: number): Promise<void>;
  dispose(): Promise<void>;
}

export interface OpenOptions {
  readonly catalog?: Catalog;
  readonly admission: AdmissionLimits;
  readonly onQueue?: (queued: number, inFlight: number) => void;
  /** Draws answered for requests, here or by workers (for the metrics). */
  readonly onDraws?: (where: DrawsWhere, count: number) => void;
  /** The caps the remote source is opened with (the workers reject jobs beyond them). */
  readonly limits?: Pick<ServeLimits, 'maxDraws' | 'maxVotes' | 'maxSigma'>;
}

const STOPPED = runtimeFailure('request stopped');

/** The model, refusing calls once the request's signal is aborted (so a stopped request spends nothing more). */
const stoppableDenoiser = (d: Denoiser, signal: AbortSignal): Denoiser => ({
  metadata: d.metadata,
  run: (x, t) => (signal.aborted ? TE.left(STOPPED) : d.run(x, t)),
  dispose: () => Promise.resolve(),
});
const stoppableClassifier = (c: Classifier, signal: AbortSignal): Classifier => ({
  metadata: c.metadata,
  run: (x, b) => (signal.aborted ? TE.left(STOPPED) : c.run(x, b)),
  dispose: () => Promise.resolve(),
});

/** Why a request was stopped: its deadline, or the server shutting down. */
type StopReason = 'deadline' | 'shutdown';

/**
 * Opens the models once (through the catalog and the registered backends), checks them with one warm-up call of a
 * full batch, and returns the served model; a failure says what to fix.
 */
export function openServedModel(spec: ServedModelSpec, options: OpenOptions): TE.TaskEither<RunError | RemoteOpenError, ServedModel> {
  return async () => {
    const hasDenoiser = spec.models.denoiser !== 'none';
    const methods: Method[] = [spec.defaults.method];
    // A denoiser given is loaded even when the default method needs none, so requests may ask for any method.
    const dds = parseMethodSettings('dds', {});
    if (hasDenoiser && !needsDenoiser(spec.defaults.method) && E.isRight(dds)) methods.push(dds.right);
    const opened = await openPipeline(
      {
        models: spec.models,
        dataset: { spec: spec.dataset },
        methods,
        sigma: spec.defaults.sigma,
        seed: 0,
        batch: spec.batch,
        ...(spec.variance === undefined ? {} : { variance: spec.variance }),
        ...(spec.timestepRule === undefined ? {} : { timestepRule: spec.timestepRule }),
      },
      options.catalog === undefined ? {} : { catalog: options.catalog },
    )();
    if (E.isLeft(opened)) return opened;
    const pipeline = opened.right;
    let remote: RemoteDraws | null = null;
    if (spec.remote !== undefined) {
      const limits = options.limits ?? DEFAULT_LIMITS;
      const classifier = pipeline.imageClassifier.metadata;
      const connected = await spec.remote({
        shape: pipeline.dataset.shape,
        numClasses: classifier.numClasses,
        batch: spec.batch,
        ...(spec.variance === undefined ? {} : { variance: spec.variance }),
        ...(spec.timestepRule === undefined ? {} : { timestepRule: spec.timestepRule }),
        maxDraws: limits.maxDraws,
        maxVotes: limits.maxVotes,
        maxSigma: limits.maxSigma,
        denoiser: pipeline.denoiser?.metadata ?? null,
        classifier: pipeline.classifier.metadata,
      })();
      if (E.isLeft(connected)) {
        await pipeline.dispose();
        return connected;
      }
      remote = connected.right;
    }
    const served = servedModel(spec, pipeline, options, remote);
    const warm = await served.warmUp();
    if (E.isLeft(warm)) {
      await served.model.dispose();
      return warm;
    }
    return E.right(served.model);
  };
}

function servedModel(spec: ServedModelSpec, pipeline: Pipeline, options: OpenOptions, remote: RemoteDraws | null) {
  const workers = spec.models.workers;
  const merging = { batchSize: spec.batch, concurrency: Math.max(1, workers) };
  // Every request's model calls go through these: calls pending at the same moment leave as one.
  const denoiser = pipeline.denoiser === null ? null : coalescedDenoiser(pipeline.denoiser, merging);
  const classifier = coalescedClassifier(pipeline.classifier, merging);
  const shape = pipeline.dataset.shape;
  const numClasses = pipeline.imageClassifier.metadata.numClasses;
  const admission = new Admission(options.admission, options.onQueue);
  const running = new Map<AbortController, () => void>();

  /** The methods' group on this request's seed, over the shared models, stopping when `signal` aborts. */
  const groupFor = (method: Method, sigma: number, seed: number, signal: AbortSignal): E.Either<RunError, { group: MethodGroup; config: MethodGroupConfig; denoiser: Denoiser | null; classifier: ImageClassifier }> => {
    const config: MethodGroupConfig = { ...pipeline.groupConfig, sigma, seed, methods: [method] };
    const d = denoiser === null ? null : stoppableDenoiser(denoiser, signal);
    const c = wrapClassifier(stoppableClassifier(classifier, signal), shape);
    if (E.isLeft(c)) return E.left({ kind: 'model-load', role: 'classifier', error: c.left, message: `classifier: ${c.left.message}` });
    const group = makeMethodGroup(d, c.right, config);
    if (E.isLeft(group)) return E.left({ kind: 'method-config', error: group.left, message: group.left.message });
    return E.right({ group: group.right, config, denoiser: d, classifier: c.right });
  };

  const run = async (job: CertifyJob, signal: AbortSignal, state: RemoteState): Promise<E.Either<RunError, Certificate>> => {
    const started = performance.now();
    const built = groupFor(job.method, job.sigma, job.seed, signal);
    if (E.isLeft(built)) return built;
    const { config } = built.right;
    const where: DrawsWhere = remote === null ? 'local' : 'workers';
    const onDraws = (count: number): void => options.onDraws?.(where, count);
    const group =
      remote === null
        ? withSamplers(built.right.group, countingSampler(onDraws))
        : remoteGroup(built.right.group, remote, { image: job.image, method: methodSlug(job.method), sigma: job.sigma, seed: job.seed, index: job.index }, signal, state, onDraws);
    // Through workers, each look or phase is one sampler call (one round trip, split into jobs by remoteGroup);
    // here, model calls of the server's batch.
    const batch = remote === null ? spec.batch : votesOf(job.method) * (job.n0 + job.n);
    const callWorkers = remote === null ? workers : 0;
    const tally: EvaluationTally = { denoiser: 0, classifier: 0 };
    if (job.mode.kind === 'predict') {
      const sampler = group.samplers(job.image, job.index, [0], tally)[0]!;
      const predicted = await predict(sampler, { n: job.n, alpha: job.alpha, batchSize: drawsPerBatch(batch, [job.method], callWorkers), numClasses });
      if (E.isLeft(predicted)) return E.left(modelRunError(predicted.left));
      const p = predicted.right;
      return E.right({ label: p.kind === 'predicted' ? p.label : -1, pValue: p.pValue, draws: { selection: 0, estimation: job.n }, evaluations: tally, seconds: (performance.now() - started) / 1000 });
    }
    const view: Pipeline = { ...pipeline, methods: [job.method], group, groupConfig: config, denoiser: built.right.denoiser, imageClassifier: built.right.classifier };
    const settings: ImageSettings = { sigma: job.sigma, n0: job.n0, n: job.n, alpha: job.alpha, batch, models: { workers: callWorkers }, mode: job.mode };
    const certified = await certifyImageCosted(view, settings, { image: job.image, label: -1 }, job.index, [0], undefined, group)();
    if (E.isLeft(certified)) return certified;
    const row = certified.right.rows[0]!;
    const cost = certified.right.costs[0]!;
    return E.right({
      label: row.predict,
      radius: row.radius,
      ...(cost.stop === undefined ? {} : { stop: cost.stop }),
      ...(cost.pA === undefined ? {} : { pALower: cost.pA }),
      draws: cost.draws,
      evaluations: cost.evaluations,
      seconds: (performance.now() - started) / 1000,
    });
  };

  const stopped = (reason: StopReason, job: CertifyJob): ServeError =>
    reason === 'deadline'
      ? { kind: 'deadline', message: `the deadline of ${job.deadlineMs} ms passed before the certificate was done: give a larger deadline_ms, or ask fewer draws or a smaller radius` }
      : { kind: 'unavailable', message: 'the server is shutting down: send the request again (to another replica)' };

  const noWorker = (job: CertifyJob, r: RemoteDraws): ServeError => {
    const refusals = r.refusals();
    return {
      kind: 'unavailable',
      message: `no worker took the draws within the deadline of ${job.deadlineMs} ms: ${r.noWorkerHint}${refusals.length === 0 ? '' : `; workers that refuse this server's models: ${refusals.join('; ')}`}`,
    };
  };

  const certify = async (job: CertifyJob, arrived: number): Promise<E.Either<ServeError, Certificate>> => {
    const controller = new AbortController();
    let reason: StopReason = 'deadline';
    const stop = (why: StopReason): void => {
      reason = why;
      controller.abort();
    };
    const timer = setTimeout(() => stop('deadline'), Math.max(0, arrived + job.deadlineMs - performance.now()));
    try {
      const slot = await admission.acquire(controller.signal, () => stopped(reason, job));
      if (E.isLeft(slot)) return slot;
      running.set(controller, () => stop('shutdown'));
      const state: RemoteState = { failure: null, taken: false };
      try {
        const result = await run(job, controller.signal, state);
        if (E.isRight(result)) return result;
        const lost = state.failure;
        if (lost !== null && lost.kind === 'draws-unreachable') return E.left({ kind: 'unavailable', message: lost.message });
        if (lost !== null && lost.kind === 'draws-failed') return E.left({ kind: 'model-failure', message: `model failure on a worker: ${lost.message}` });
        if (controller.signal.aborted && remote !== null && reason === 'deadline' && !state.taken) return E.left(noWorker(job, remote));
        if (controller.signal.aborted) return E.left(stopped(reason, job));
        const error = result.left;
        return E.left(error.kind === 'model-run' || error.kind === 'model-load' ? { kind: 'model-failure', message: `model failure: ${runErrorMessage(error)}` } : { kind: 'bad-input', message: runErrorMessage(error) });
      } finally {
        running.delete(controller);
        slot.right();
      }
    } finally {
      clearTimeout(timer);
    }
  };

  const model: ServedModel = {
    name: spec.name,
    input: { shape, hasDenoiser: denoiser !== null },
    numClasses,
    classNames: pipeline.dataset.classNames,
    defaults: spec.defaults,
    loaded: [pipeline.denoiser?.metadata, pipeline.classifier.metadata]
      .filter((m) => m !== undefined)
      .map((m) => ({ kind: m.kind, name: m.name, runtime: m.runtime, ...(m.sha256 === undefined ? {} : { sha256: m.sha256 }) })),
    certify,
    admission,
    drain: async (graceMs) => {
      admission.close({ kind: 'unavailable', message: 'the server is shutting down: send the request again (to another replica)' });
      const deadline = Date.now() + graceMs;
      while (admission.running > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      for (const stopOne of running.values()) stopOne();
      while (admission.running > 0) await new Promise((r) => setTimeout(r, 5));
    },
    dispose: async () => {
      await remote?.close();
      await pipeline.dispose();
    },
  };

  /** One sampler call of a full batch on a mid-grey image with the default method: the models answer before ready. */
  const warmUp = async (): Promise<E.Either<RunError, void>> => {
    const { method, sigma } = spec.defaults;
    const built = groupFor(method, sigma, 0, new AbortController().signal);
    if (E.isLeft(built)) return built;
    const image = new Float32Array(shape[0] * shape[1] * shape[2]).fill(0.5);
    const counted = await built.right.group.samplers(image, 0, [0])[0]!({ firstDraw: 0, count: drawsPerBatch(spec.batch, [method], workers) });
    return E.isLeft(counted) ? E.left({ kind: 'model-run', error: counted.left, message: `warm-up with ${methodSlug(method)}: ${counted.left.message}` }) : E.right(undefined);
  };

  return { model, warmUp };
}

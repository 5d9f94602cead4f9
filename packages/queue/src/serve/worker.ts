// A `densepure worker`'s side of a serve run: its own copies of the run's models (found by sha256 among those it
// was started to allow), their calls merged across the jobs it takes at once, and per job the method group of the
// job's method, sigma and seed counting the job's draws of the job's image — the counts the server would make.
import { either as E, taskEither as TE } from 'fp-ts';
import type { Denoiser } from '@densepure/backend';
import { wrapClassifier } from '@densepure/classifiers';
import { type ModelCache, coalescedClassifier, coalescedDenoiser } from '@densepure/runner';
import { type EvaluationTally, makeMethodGroup } from '@densepure/voting';
import type { RunRecord } from '../registry.js';
import type { WorkHandler, WorkRefusal } from '../worker.js';
import { type WorkerAllowance, localModels } from '../certify/allowed.js';
import { type DrawsAnswer, type ServeRunSpec, checkDrawsPart, serveIdentity } from './protocol.js';

/** Jobs a worker takes at once from a serve run (several requests' draws): their model calls are merged. */
export const DEFAULT_DRAW_JOBS_AT_ONCE = 8;

export interface ServeWorkerSettings {
  readonly backend?: string;
  readonly device?: string;
  readonly threads?: number;
  readonly workers: number;
  /** Jobs taken at once (default {@link DEFAULT_DRAW_JOBS_AT_ONCE}). */
  readonly jobsAtOnce?: number;
}

/** Why a serve run's spec, as read from Redis, is not one (only its shape is trusted here; the identity checks the rest). */
function serveSpecProblem(spec: ServeRunSpec): string | null {
  const okShape = Array.isArray(spec.shape) && spec.shape.length === 3 && spec.shape.every((d) => Number.isInteger(d) && d >= 1 && d <= 4096);
  if (!okShape) return "the serve run's spec has no image shape [C, H, W]";
  if (!Number.isInteger(spec.numClasses) || spec.numClasses < 2) return "the serve run's spec has no number of classes";
  if (!Number.isInteger(spec.batch) || spec.batch < 1 || spec.batch > 65_536) return "the serve run's spec has no batch size";
  const l = spec.limits as Partial<ServeRunSpec['limits']> | undefined;
  if (l === undefined || l === null || ![l.maxDraws, l.maxDrawsPerJob, l.maxVotes].every((v) => Number.isInteger(v) && (v as number) >= 1) || typeof l.maxSigma !== 'number') return "the serve run's spec has no caps";
  return null;
}

/**
 * Prepares this worker for a serve run: its own model files for the run's sha256s (the run's paths are never
 * opened, a serve run names none), loaded with this machine's backend options through the shared cache; the
 * identity it then has, for the caller to compare with the run's.
 */
export const prepareServeRun =
  (run: RunRecord, spec: ServeRunSpec, cache: ModelCache, allowance: WorkerAllowance, o: ServeWorkerSettings): TE.TaskEither<WorkRefusal, WorkHandler<unknown, DrawsAnswer>> =>
  async () => {
    const refuse = (message: string): E.Either<WorkRefusal, never> => E.left({ kind: 'work-refused', message });
    const shape = serveSpecProblem(spec);
    if (shape !== null) return refuse(shape);
    const own = localModels(run, allowance);
    if (E.isLeft(own)) return refuse(own.left);
    const options = {
      backend: o.backend ?? spec.backend,
      workers: o.workers,
      ...(o.device === undefined ? {} : { device: o.device }),
      ...(o.threads === undefined ? {} : { threads: o.threads }),
    };
    const classifier = await cache.classifier(own.right.classifier, options)();
    if (E.isLeft(classifier)) return refuse(`classifier: ${classifier.left.message}`);
    let denoiser: Denoiser | null = null;
    if (own.right.denoiser !== 'none') {
      const loaded = await cache.denoiser(own.right.denoiser, options)();
      if (E.isLeft(loaded)) return refuse(`denoiser: ${loaded.left.message}`);
      denoiser = loaded.right;
    }
    // Every job's model calls go through these: calls of jobs computed at once leave as one (dynamic batching).
    const merging = { batchSize: spec.batch, concurrency: Math.max(1, o.workers) };
    const sharedDenoiser = denoiser === null ? null : coalescedDenoiser(denoiser, merging);
    const wrapped = wrapClassifier(coalescedClassifier(classifier.right, merging), spec.shape);
    if (E.isLeft(wrapped)) return refuse(`classifier: ${wrapped.left.message}`);
    // The classes are this worker's classifier's: a run for another classifier shows them as a difference.
    const identity = serveIdentity({ ...spec, numClasses: wrapped.right.metadata.numClasses }, { denoiser: denoiser?.metadata ?? null, classifier: classifier.right.metadata });
    return E.right({
      identity,
      concurrency: o.jobsAtOnce ?? DEFAULT_DRAW_JOBS_AT_ONCE,
      dispose: () => Promise.resolve(), // the cache owns the models
      compute: async (idx, payload) => {
        const part = checkDrawsPart(payload, spec, sharedDenoiser !== null);
        if (E.isLeft(part)) return E.left({ kind: 'work-rejected', message: `the draws job of request ${idx} of serve run ${run.runId} does not fit the run: ${part.left}` });
        const p = part.right;
        const group = makeMethodGroup(sharedDenoiser, wrapped.right, {
          sigma: p.sigma,
          seed: p.seed,
          methods: [p.method],
          batchSize: spec.batch,
          concurrency: Math.max(1, o.workers),
          ...(spec.variance === undefined ? {} : { variance: spec.variance }),
          ...(spec.timestepRule === undefined ? {} : { timestepRule: spec.timestepRule }),
        });
        if (E.isLeft(group)) return E.left({ kind: 'work-rejected', message: `the draws job of request ${idx}: ${group.left.message}` });
        const tally: EvaluationTally = { denoiser: 0, classifier: 0 };
        const counted = await group.right.counts(p.image, p.index, { firstDraw: p.first, count: p.count }, tally);
        if (E.isLeft(counted)) return E.left({ kind: 'work-failed', message: `model run: ${counted.left.message}` });
        return E.right({ counts: Array.from(counted.right[0]!), evaluations: { ...tally } });
      },
    });
  };

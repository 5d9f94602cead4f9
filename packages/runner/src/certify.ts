// Cohen et al.'s CERTIFY over a dataset slice, for one method or several on shared noise draws: each method
// writes its Cohen TSV row by row (fsync'd) and a JSON sidecar, and a rerun resumes after the last complete row.
import { existsSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, platform } from 'node:os';
import { either as E, taskEither as TE } from 'fp-ts';
import type { ClassifierMetadata, DenoiserMetadata } from '@densepure/backend';
import { certify } from '@densepure/core';
import type { Sample } from '@densepure/datasets';
import type { BaseClassifier, EvaluationTally, MethodGroup } from '@densepure/voting';
import { CostLog, type CostSummary, type RowCost, costPath, summarizeCosts } from './accounting.js';
import { type RunError, modelRunError } from './errors.js';
import { RowLog, ensureWritable, sidecarPath, writeJsonAtomic } from './files.js';
import { acquireOutputLocks, takeoverNotes } from './lock.js';
import { type RunIdentity, inspectPriorRun, runIdentity } from './identity.js';
import { type Method, describeMethod, methodSlug } from './method.js';
import type { ModelCache } from './model-cache.js';
import { type Pipeline, openPipeline, sliceIndices } from './pipeline.js';
import { certifyImageSequential, coalescedGroup } from './sequential.js';
import { DEFAULT_GROUP, type RunSpec, checkRunSpec, drawsPerBatch } from './spec.js';
import { type CertifyRow, type RunSummary, summarize } from './tsv.js';
import { VERSION } from './version.js';

/** Callbacks for progress; the apps draw bars and log lines from them. */
export interface CertifyHooks {
  /** Once the models are open and the resume state is known, before the first image. */
  readonly onStart?: (start: RunStart) => void;
  /** Draws finished so far (N0 + N per image) on the image in progress. */
  readonly onDraws?: (done: number) => void;
  /** After each row of each run (`run` indexes `spec.runs`). */
  readonly onRow?: (run: number, row: CertifyRow, done: number, total: number) => void;
  /** Things worth a line before the run starts (a stale lock of a crashed run taken over). */
  readonly onNote?: (line: string) => void;
}

export interface RunStart {
  /** Images of the slice, and those every run already has (resumed). */
  readonly images: number;
  readonly resumedImages: number;
  readonly drawsPerImage: number;
  /** The models as loaded (runtime, device fallback). */
  readonly models: readonly (DenoiserMetadata | ClassifierMetadata)[];
}

export interface RunResult {
  readonly out: string;
  readonly sidecar: string;
  readonly method: Method;
  readonly rows: CertifyRow[];
  readonly resumedRows: number;
  readonly summary: RunSummary;
  /** Mean draws and evaluations per image (rows with a cost record: see accounting.ts). */
  readonly cost: CostSummary;
  /** The per-row cost file beside the TSV. */
  readonly costFile: string;
  readonly tStar?: number;
  readonly denoiserEvalsPerDraw: number;
}

/** CERTIFY's settings for one image, as a RunSpec gives them. */
export type ImageSettings = Pick<RunSpec, 'sigma' | 'n0' | 'n' | 'alpha' | 'batch' | 'mode'> & { readonly models: Pick<RunSpec['models'], 'workers'> };

/** One image's rows (one per wanted method) and what each cost. */
export interface ImageResult {
  readonly rows: CertifyRow[];
  readonly costs: RowCost[];
}

/**
 * Certifies one image with an open pipeline for the methods listed in `wanted` (indices into
 * `pipeline.methods`), on shared draws. Returns one row per wanted method, in that order; a row's time is the
 * wall time of the shared evaluation. The unit of work of the run loop, and of anything that schedules images
 * itself (a queue worker). Fixed N or sequential, as `settings.mode` says.
 */
export function certifyImage(
  pipeline: Pipeline,
  settings: ImageSettings,
  sample: Sample,
  idx: number,
  wanted: readonly number[],
  onDraws?: (done: number) => void,
): TE.TaskEither<RunError, CertifyRow[]> {
  return TE.map((result: ImageResult) => result.rows)(certifyImageCosted(pipeline, settings, sample, idx, wanted, onDraws));
}

/**
 * {@link certifyImage} with each row's cost (draws, model evaluations). `group` is the method group to evaluate
 * with (default `pipeline.group`; the run loop passes one whose model calls are merged across images).
 */
export function certifyImageCosted(
  pipeline: Pipeline,
  settings: ImageSettings,
  sample: Sample,
  idx: number,
  wanted: readonly number[],
  onDraws?: (done: number) => void,
  group: MethodGroup = pipeline.group,
): TE.TaskEither<RunError, ImageResult> {
  return async () => {
    const started = performance.now();
    const tally: EvaluationTally = { denoiser: 0, classifier: 0 };
    const batchSize = drawsPerBatch(settings.batch, pipeline.methods, settings.models.workers);
    const numClasses = group.members[0]!.numClasses;
    const row = (label: number, radius: number | null, seconds: number): CertifyRow => {
      const predict = radius === null ? -1 : label;
      return { idx, label: sample.label, predict, radius: radius ?? 0, correct: predict === sample.label ? 1 : 0, seconds };
    };
    const mode = settings.mode;
    if (mode !== undefined && mode.kind === 'sequential') {
      const outcomes = await certifyImageSequential(group, { sigma: settings.sigma, n0: settings.n0, n: settings.n, alpha: settings.alpha, radii: mode.radii, chunk: batchSize }, sample.image, idx, wanted, tally);
      if (E.isLeft(outcomes)) return E.left(modelRunError(outcomes.left));
      const seconds = (performance.now() - started) / 1000;
      return E.right({
        rows: outcomes.right.map((o) => row(o.label, o.radius, seconds)),
        costs: outcomes.right.map((o) => ({ idx, draws: { selection: settings.n0, estimation: o.estimation }, evaluations: { ...tally }, rounds: o.rounds, stop: o.stop, pA: o.lower })),
      });
    }
    const samplers = group.samplers(sample.image, idx, wanted, tally);
    const certified = E.sequenceArray(
      await Promise.all(
        wanted.map((_, w) =>
          certify(samplers[w]!, {
            sigma: settings.sigma,
            n0: settings.n0,
            n: settings.n,
            alpha: settings.alpha,
            batchSize,
            numClasses,
            onBatch: w === 0 && onDraws !== undefined ? (p) => onDraws(p.phase === 'selection' ? p.doneInPhase : settings.n0 + p.doneInPhase) : undefined,
          }),
        ),
      ),
    );
    if (E.isLeft(certified)) return E.left(modelRunError(certified.left));
    const seconds = (performance.now() - started) / 1000;
    return E.right({
      rows: certified.right.map((result) => row(result.kind === 'certified' ? result.label : -1, result.kind === 'certified' ? result.radius : null, seconds)),
      costs: certified.right.map(() => ({ idx, draws: { selection: settings.n0, estimation: settings.n }, evaluations: { ...tally } })),
    });
  };
}

interface OpenRun {
  readonly out: string;
  readonly sidecar: string;
  readonly method: Method;
  readonly base: BaseClassifier;
  readonly identity: RunIdentity;
  readonly header: Record<string, unknown>;
  log: RowLog | null;
  costLog: CostLog | null;
  costs: RowCost[];
  /** This run created the TSV (nothing was there): a failure before its first row removes it again. */
  created: boolean;
  rows: CertifyRow[];
  done: Set<number>;
  resumedRows: number;
}

/** Everything in a sidecar but its status: configuration, models, dataset, environment. */
function sidecarHeader(spec: RunSpec, pipeline: Pipeline, method: Method, base: BaseClassifier, identity: RunIdentity, selected: number): Record<string, unknown> {
  const shared = spec.runs.length > 1 ? { methods: pipeline.methods.map(methodSlug), denoiserEvalsPerDraw: pipeline.group.denoiserEvalsPerDraw, time: 'wall time of the shared evaluation of each image' } : undefined;
  return {
    tool: spec.provenance?.tool ?? '@densepure/runner',
    version: spec.provenance?.version ?? VERSION,
    command: spec.provenance?.command ?? null,
    identity,
    method: describeMethod(method),
    tStar: base.tStar ?? null,
    reverseTimesteps: base.timesteps.length,
    denoiserEvalsPerDraw: base.denoiserEvalsPerDraw,
    ...(shared === undefined ? {} : { sharedDraws: shared }),
    ...(spec.mode?.kind === 'sequential'
      ? {
          sequential: {
            radii: spec.mode.radii,
            cap: spec.n,
            bound: 'anytime-valid beta-binomial mixture confidence sequence (Howard et al. 2021): valid at any stopping time',
            selection: 'N0 separate draws pick the class; they never enter the bound',
            time: 'wall time from the start of the image to its stop; images certified at once overlap',
            costFile: costPath(spec.runs.find((r) => r.method === method)?.out ?? ''),
          },
        }
      : {}),
    batch: spec.batch,
    models: {
      denoiser: method.kind === 'smoothing' || pipeline.denoiser === null ? null : { ...pipeline.denoiser.metadata },
      classifier: { ...pipeline.classifier.metadata, preprocessing: pipeline.imageClassifier.preprocessing },
    },
    dataset: {
      name: pipeline.dataset.name,
      source: pipeline.dataset.source,
      sha256: pipeline.dataset.sha256 ?? null,
      size: pipeline.dataset.size,
      shape: pipeline.dataset.shape,
      selected,
    },
    environment: { node: process.version, platform: platform(), cpus: cpus()[0]?.model ?? 'unknown', cores: availableParallelism() },
  };
}

/**
 * Runs CERTIFY for every run of the spec over its slice. Checks the spec and the outputs, opens the models once,
 * refuses to resume an output written with another identity, then certifies the images some run still lacks
 * (see {@link certifyImage}). The sidecar says `running`, then `complete` or `failed`. Several runs in one
 * process can share a {@link ModelCache} so each model is opened once.
 */
export function runCertify<L = never>(spec: RunSpec, hooks: CertifyHooks = {}, scheduler?: ImageScheduler<L>, cache?: ModelCache): TE.TaskEither<RunError | L, RunResult[]> {
  return async () => {
    const checked = checkRunSpec(spec);
    if (E.isLeft(checked)) return checked;
    for (const r of spec.runs) {
      const writable = ensureWritable(r.out, ['.json', '.lock', '.cost']);
      if (E.isLeft(writable)) return writable;
    }
    // One writer per output: a second process on the same files is refused until this one ends.
    const locks = acquireOutputLocks(spec.runs.map((r) => r.out));
    if (E.isLeft(locks)) return locks;
    try {
      for (const note of takeoverNotes(locks.right)) hooks.onNote?.(note);
      const opened = await openPipeline({ ...spec, methods: spec.runs.map((r) => r.method) }, cache)();
      if (E.isLeft(opened)) return opened;
      const pipeline = opened.right;
      try {
        return await certifyAll<L>(spec, pipeline, hooks, scheduler ?? localScheduler);
      } finally {
        await pipeline.dispose();
      }
    } finally {
      for (const lock of locks.right) lock.release();
    }
  };
}

/** An image some runs still lack: `wanted` indexes `spec.runs` (and `pipeline.methods`). */
export interface PendingImage {
  readonly idx: number;
  readonly wanted: readonly number[];
}

/** What a scheduler gets: the open pipeline, every run's identity, the pending images in index order. */
export interface SchedulerContext {
  readonly spec: RunSpec;
  readonly pipeline: Pipeline;
  /** `identities[i]` is the identity of `spec.runs[i]`. */
  readonly identities: readonly RunIdentity[];
  readonly pending: readonly PendingImage[];
  /** Images of the slice every run already has. */
  readonly resumedImages: number;
  readonly onDraws?: (done: number) => void;
  /** Hands over an image's rows (one per wanted run, in `wanted` order); call it once per pending image, in order. */
  readonly emit: (idx: number, rows: readonly CertifyRow[], costs?: readonly RowCost[]) => void;
}

/**
 * Where the pending images of a certify run get certified. The loop around it (identity, resume, TSVs,
 * sidecars) stays the same, so any scheduler writes exactly what a local run writes. Default: one image after
 * the other in this process ({@link certifyImage}); @densepure/queue spreads them over workers.
 */
export type ImageScheduler<L> = (context: SchedulerContext) => Promise<E.Either<RunError | L, void>>;

/** Here: fixed N one image after the other; sequential with several images' model calls merged (see certifyGrouped). */
const localScheduler: ImageScheduler<never> = async ({ spec, pipeline, pending, onDraws, emit }) => {
  const wantedOf = new Map(pending.map((p) => [p.idx, [...p.wanted]]));
  const todo = pending.map((p) => p.idx);
  const wantedFor = (idx: number): number[] => wantedOf.get(idx)!;
  const record: RecordImage = (idx, _wanted, result) => emit(idx, result.rows, result.costs);
  return spec.mode?.kind === 'sequential'
    ? certifyGrouped(spec, pipeline, todo, wantedFor, record)
    : certifyInTurn(spec, pipeline, todo, wantedFor, record, onDraws === undefined ? {} : { onDraws });
};

async function certifyAll<L>(spec: RunSpec, pipeline: Pipeline, hooks: CertifyHooks, scheduler: ImageScheduler<L>): Promise<E.Either<RunError | L, RunResult[]>> {
  const indices = sliceIndices(pipeline.dataset, spec.dataset);
  if (E.isLeft(indices)) return indices;
  const selected = indices.right;
  const runs: OpenRun[] = spec.runs.map((r, i) => {
    const method = pipeline.methods[i]!;
    const base = pipeline.group.members[i]!;
    const identity = runIdentity(spec, method, { denoiser: pipeline.denoiser?.metadata ?? null, classifier: pipeline.classifier.metadata, dataset: pipeline.dataset });
    const header = sidecarHeader(spec, pipeline, method, base, identity, selected.length);
    return { out: r.out, sidecar: sidecarPath(r.out), method, base, identity, header, log: null, costLog: null, costs: [], created: false, rows: [], done: new Set(), resumedRows: 0 };
  });
  const startedAt = new Date().toISOString();
  // A failed run says so in its sidecar; a run that failed before its first row leaves nothing (an empty TSV
  // with a sidecar of another identity would refuse the corrected rerun). Rows already there are never touched.
  const fail = (error: RunError | L): E.Either<RunError | L, never> => {
    const text = (error as { readonly message?: unknown }).message;
    const message = typeof text === 'string' ? text : String(error);
    for (const run of runs) {
      if (run.log === null && !run.created) continue;
      if (run.created && run.rows.length === 0) {
        run.log?.close();
        run.log = null;
        run.costLog?.close();
        run.costLog = null;
        rmSync(run.out, { force: true });
        rmSync(run.sidecar, { force: true });
        rmSync(costPath(run.out), { force: true });
      } else writeJsonAtomic(run.sidecar, { ...run.header, status: 'failed', startedAt, error: message });
    }
    return E.left(error);
  };
  try {
    for (const run of runs) {
      const prior = inspectPriorRun(run.out, run.identity);
      if (E.isLeft(prior)) return E.left(prior.left);
    }
    for (const run of runs) {
      run.created = !existsSync(run.out);
      const log = RowLog.open(run.out);
      if (E.isLeft(log)) return fail(log.left);
      run.log = log.right;
      run.rows = [...log.right.existing];
      run.done = new Set(run.rows.map((r) => r.idx));
      run.resumedRows = run.rows.length;
      const costs = CostLog.open(run.out, run.done);
      if (E.isLeft(costs)) return fail(costs.left);
      run.costLog = costs.right;
      run.costs = [...costs.right.existing];
      const written = writeJsonAtomic(run.sidecar, { ...run.header, status: 'running', startedAt, rows: run.rows.length, of: selected.length });
      if (E.isLeft(written)) return fail(written.left);
    }
    const todo = selected.filter((i) => runs.some((r) => !r.done.has(i)));
    const models = [pipeline.denoiser?.metadata, pipeline.classifier.metadata].filter((m) => m !== undefined);
    hooks.onStart?.({ images: selected.length, resumedImages: selected.length - todo.length, drawsPerImage: spec.n0 + spec.n, models });

    const pending = todo.map((idx) => ({ idx, wanted: runs.map((r, i) => (r.done.has(idx) ? -1 : i)).filter((i) => i >= 0) }));
    const wantedOf = new Map(pending.map((p) => [p.idx, p.wanted]));
    const emit = (idx: number, rows: readonly CertifyRow[], costs?: readonly RowCost[]): void => {
      const wanted = wantedOf.get(idx)!;
      wantedOf.delete(idx);
      for (const [w, row] of rows.entries()) {
        const run = runs[wanted[w]!]!;
        // The cost line first: a kill between the two leaves a cost line the next open drops, never a row without one.
        // (A scheduler that measures no cost, e.g. a queue, leaves the row without a cost line.)
        const cost = costs?.[w];
        if (cost !== undefined) {
          run.costLog!.append(cost);
          run.costs.push(cost);
        }
        run.log!.append(row);
        run.rows.push(row);
        run.done.add(idx);
        hooks.onRow?.(wanted[w]!, row, run.rows.length, selected.length);
      }
    };
    const identities = runs.map((r) => r.identity);
    const scheduled = await scheduler({ spec, pipeline, identities, pending, resumedImages: selected.length - todo.length, emit, ...(hooks.onDraws === undefined ? {} : { onDraws: hooks.onDraws }) });
    if (E.isLeft(scheduled)) return fail(scheduled.left);
    return E.right(
      runs.map((run): RunResult => {
        const summary = summarize(run.rows);
        const cost = summarizeCosts(run.costs);
        // A fixed-N sidecar stays as it was; a sequential one also says what the run cost.
        const costs = spec.mode?.kind === 'sequential' ? { cost } : {};
        writeJsonAtomic(run.sidecar, { ...run.header, status: 'complete', startedAt, finishedAt: new Date().toISOString(), rows: run.rows.length, of: selected.length, summary, ...costs });
        return {
          out: run.out,
          sidecar: run.sidecar,
          method: run.method,
          rows: run.rows,
          resumedRows: run.resumedRows,
          summary,
          cost,
          costFile: costPath(run.out),
          ...(run.base.tStar === undefined ? {} : { tStar: run.base.tStar }),
          denoiserEvalsPerDraw: run.base.denoiserEvalsPerDraw,
        };
      }),
    );
  } catch (error) {
    // A programmer error or a failing file system mid-run: the sidecars say so before it propagates.
    fail({ kind: 'io', path: runs[0]!.out, message: error instanceof Error ? error.message : String(error) });
    throw error;
  } finally {
    for (const run of runs) {
      run.log?.close();
      run.costLog?.close();
    }
  }
}

type RecordImage = (idx: number, wanted: readonly number[], result: ImageResult) => void;

/** Fixed N: one image after the other (each already fills its model calls). */
async function certifyInTurn(spec: RunSpec, pipeline: Pipeline, todo: readonly number[], wantedFor: (idx: number) => number[], record: RecordImage, hooks: CertifyHooks): Promise<E.Either<RunError, void>> {
  for (const idx of todo) {
    const wanted = wantedFor(idx);
    const result = await certifyImageCosted(pipeline, spec, pipeline.dataset.get(idx), idx, wanted, hooks.onDraws)();
    if (E.isLeft(result)) return result;
    record(idx, wanted, result.right);
  }
  return E.right(undefined);
}

/**
 * Sequential: up to `group` images in flight, their model calls merged into full batches (coalesce.ts); when
 * one finishes the next starts, so the workers stay busy. Rows are still written in index order, each fsync'd
 * as soon as every earlier image is written; a failure lets the images in flight finish and writes what precedes it.
 */
async function certifyGrouped(spec: RunSpec, pipeline: Pipeline, todo: readonly number[], wantedFor: (idx: number) => number[], record: RecordImage): Promise<E.Either<RunError, void>> {
  const size = spec.mode?.kind === 'sequential' ? (spec.mode.group ?? DEFAULT_GROUP) : 1;
  let group = pipeline.group;
  if (size > 1) {
    const coalesced = coalescedGroup(pipeline, spec);
    if (E.isLeft(coalesced)) return coalesced;
    group = coalesced.right;
  }
  const results = new Map<number, { wanted: number[]; result: ImageResult }>();
  let next = 0;
  let written = 0;
  let failure: RunError | null = null;
  const worker = async (): Promise<void> => {
    while (failure === null && next < todo.length) {
      const idx = todo[next++]!;
      const wanted = wantedFor(idx);
      const result = await certifyImageCosted(pipeline, spec, pipeline.dataset.get(idx), idx, wanted, undefined, group)();
      if (E.isLeft(result)) {
        failure ??= result.left;
        return;
      }
      results.set(idx, { wanted, result: result.right });
      for (let done = results.get(todo[written]!); done !== undefined; done = results.get(todo[written]!)) {
        results.delete(todo[written]!);
        record(todo[written]!, done.wanted, done.result);
        written += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(size, todo.length) }, worker));
  return failure === null ? E.right(undefined) : E.left(failure);
}

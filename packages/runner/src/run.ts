// A certify run's lifecycle and files: check the spec and outputs, lock them, open the models, refuse to resume
// another identity, hand the pending images to a scheduler, and write each method's Cohen TSV row by row
// (fsync'd), its cost lines and its JSON sidecar; a rerun resumes after the last complete row.
import { existsSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, platform } from 'node:os';
import { either as E, taskEither as TE } from 'fp-ts';
import type { ClassifierMetadata, DenoiserMetadata } from '@densepure/backend';
import type { BaseClassifier } from '@densepure/voting';
import { CostLog, type CostSummary, type RowCost, costPath, summarizeCosts } from './accounting.js';
import type { Catalog } from './catalog.js';
import type { RunError } from './errors.js';
import { RowLog, ensureWritable, sidecarPath, writeJsonAtomic } from './files.js';
import { acquireOutputLocks, takeoverNotes } from './lock.js';
import { type RunIdentity, inspectPriorRun, runIdentity } from './identity.js';
import { type Method, describeMethod, methodSlug, needsDenoiser } from './method.js';
import type { ModelCache } from './model-cache.js';
import { modeOf } from './modes/index.js';
import { type Pipeline, openPipeline, sliceIndices } from './pipeline.js';
import { type ImageScheduler, localScheduler } from './schedule.js';
import { type RunSpec, checkRunSpec } from './spec.js';
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
    ...modeOf(spec.mode).sidecar(spec, costPath(spec.runs.find((r) => r.method === method)?.out ?? '')),
    batch: spec.batch,
    models: {
      denoiser: !needsDenoiser(method) || pipeline.denoiser === null ? null : { ...pipeline.denoiser.metadata },
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

/** How a run reaches its models and where its images are certified. */
export interface RunOptions<L = never> {
  readonly hooks?: CertifyHooks;
  /** Where the pending images are certified (default: in this process, as the run's mode schedules them). */
  readonly scheduler?: ImageScheduler<L>;
  /** Models and datasets shared by the runs of one process. */
  readonly cache?: ModelCache;
  /** What model and dataset specs name (default: paths). */
  readonly catalog?: Catalog;
}

/**
 * Runs CERTIFY for every run of the spec over its slice. Checks the spec and the outputs, opens the models once,
 * refuses to resume an output written with another identity, then certifies the images some run still lacks
 * (see image.ts `certifyImageCosted`). The sidecar says `running`, then `complete` or `failed`. Several runs in one
 * process can share a {@link ModelCache} so each model is opened once.
 */
export function runCertify<L = never>(spec: RunSpec, options: RunOptions<L> = {}): TE.TaskEither<RunError | L, RunResult[]> {
  return async () => {
    const { hooks = {}, scheduler, cache, catalog } = options;
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
      const opened = await openPipeline({ ...spec, methods: spec.runs.map((r) => r.method) }, { ...(cache === undefined ? {} : { cache }), ...(catalog === undefined ? {} : { catalog }) })();
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
        // A fixed-N sidecar stays as it was; a mode whose draws vary per image also says what the run cost.
        const costs = modeOf(spec.mode).costInSidecar ? { cost } : {};
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

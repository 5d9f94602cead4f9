import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus, platform } from 'node:os';
import { certify } from '@densepure/core';
import { BackendFailure } from '@densepure/voting';
import { selectIndices } from '@densepure/datasets';
import { CliError, fromBackendError } from './errors.js';
import { type Progress, createProgress } from './progress.js';
import { RowLog, ensureWritable, sidecarPath, writeJsonAtomic } from './run-files.js';
import { type ModelFlags, type MethodFlags, buildGroupPipeline, describeMethod, methodSlug } from './setup.js';
import type { Method, BaseClassifier } from '@densepure/voting';
import type { Denoiser, Classifier } from '@densepure/backend';
import type { Dataset } from '@densepure/datasets';
import { type CertifyRow, type RunSummary, summarize } from './tsv.js';
import { VERSION } from './version.js';

export interface CertifyOptions extends ModelFlags, MethodFlags {
  readonly n0: number;
  readonly n: number;
  readonly alpha: number;
  readonly skip: number;
  readonly max?: number;
  readonly out: string;
  /** Called after each row; the eval runner uses it for grid progress. */
  readonly onRow?: (row: CertifyRow, done: number, total: number) => void;
  /** 'auto': a bar on a TTY, plain lines otherwise; 'none': silent. */
  readonly progress?: 'auto' | 'none';
  readonly argv?: readonly string[];
}

/**
 * Everything that decides the numbers in the TSV. A rerun resumes only when this is identical; batch size,
 * workers and threads are left out on purpose: they change speed, never results (the noise is addressed).
 */
export function runIdentity(
  options: CertifyOptions,
  pipeline: { readonly method: Method; readonly denoiser: Denoiser | null; readonly classifier: Classifier; readonly dataset: Dataset },
): Record<string, unknown> {
  // A smoothing run never touches the denoiser, even when it shares a session with runs that do.
  const denoiser = pipeline.method.kind === 'smoothing' ? null : pipeline.denoiser;
  return {
    method: methodSlug(pipeline.method),
    sigma: options.sigma,
    N0: options.n0,
    N: options.n,
    alpha: options.alpha,
    skip: options.skip,
    max: options.max ?? null,
    K: options.K,
    steps: pipeline.method.kind === 'densepure' ? pipeline.method.steps : null,
    seed: options.seed,
    variance: options.variance ?? 'auto',
    backend: pipeline.classifier.metadata.backend,
    denoiserSha256: denoiser?.metadata.sha256 ?? null,
    classifierSha256: pipeline.classifier.metadata.sha256,
    datasetSha256: pipeline.dataset.sha256 ?? pipeline.dataset.source,
  };
}

export interface CertifyResult {
  readonly out: string;
  readonly sidecar: string;
  readonly rows: CertifyRow[];
  readonly resumedRows: number;
  readonly summary: RunSummary;
  readonly pipeline: { readonly tStar?: number; readonly denoiserEvalsPerDraw: number; readonly method: string };
}

function checkResumable(sidecar: string, identity: Record<string, unknown>, tsv: string): void {
  if (!existsSync(tsv)) return;
  if (!existsSync(sidecar)) {
    throw new CliError(`${tsv} exists but has no sidecar ${sidecar}: it is not a densepure run to resume; pick another --out or move the file`);
  }
  let previous: { identity?: Record<string, unknown> };
  try {
    previous = JSON.parse(readFileSync(sidecar, 'utf8'));
  } catch {
    throw new CliError(`sidecar ${sidecar} is not valid JSON; move it and ${tsv} away to start over`);
  }
  const before = previous.identity ?? {};
  const differing = Object.keys({ ...before, ...identity }).filter((k) => JSON.stringify(before[k]) !== JSON.stringify(identity[k]));
  if (differing.length > 0) {
    const detail = differing.map((k) => `${k}: ${JSON.stringify(before[k])} -> ${JSON.stringify(identity[k])}`).join(', ');
    throw new CliError(`refusing to resume ${tsv}: it was written with a different configuration (${detail}); use another --out`);
  }
}

const validate = (o: CertifyOptions): void => {
  const whole = (name: string, v: number, min: number): void => {
    if (!Number.isInteger(v) || v < min) throw new CliError(`${name} must be a whole number >= ${min}, got ${v}`, 2);
  };
  if (!(o.sigma > 0) || !Number.isFinite(o.sigma)) throw new CliError(`--sigma must be a positive number, got ${o.sigma}`, 2);
  whole('--N0', o.n0, 1);
  whole('--N', o.n, 1);
  if (o.n0 > o.n) throw new CliError(`--N0 (${o.n0}) must not exceed --N (${o.n}): N0 draws only pick the class, N draws certify it`, 2);
  if (!(o.alpha > 0 && o.alpha < 1)) throw new CliError(`--alpha must be in (0, 1), got ${o.alpha}`, 2);
  whole('--batch', o.batch, 1);
  whole('--skip', o.skip, 1);
  whole('--K', o.K, 1);
  whole('--seed', o.seed, 0);
  whole('--workers', o.workers, 0);
  if (o.max !== undefined) whole('--max', o.max, 1);
};

/**
 * Cohen et al.'s certify loop over a dataset slice with one of the three base classifiers, writing the Cohen
 * TSV row by row (fsync'd) and a JSON sidecar. Rerunning the same command resumes after the last complete row.
 */
export async function runCertify(options: CertifyOptions): Promise<CertifyResult> {
  const { onRow, ...common } = options;
  const [result] = await runCertifyShared({ ...common, members: [options], ...(onRow === undefined ? {} : { onRow: (_m, row, done, total) => onRow(row, done, total) }) });
  return result!;
}

/** One run of a shared session: its own method flags and output TSV. */
export type SharedMember = Pick<CertifyOptions, 'denoiser' | 'K' | 'steps' | 'oneShot' | 'spacing' | 'out'>;

export interface SharedCertifyOptions extends Omit<CertifyOptions, 'onRow' | 'out' | 'K' | 'steps' | 'oneShot' | 'spacing' | 'denoiser'> {
  /** The runs; a member with denoiser 'none' is plain smoothing, any other uses `denoiser`. */
  readonly members: readonly SharedMember[];
  /** Called after each row of each member. */
  readonly onRow?: (member: number, row: CertifyRow, done: number, total: number) => void;
}

/**
 * Several certify runs (methods) at one sigma over the same images and noise draws, each writing its own TSV
 * and sidecar exactly as `runCertify` would (same rows, same identity, resumable one by one), while the noise,
 * x_t*, the denoiser call at t* and the shared DensePure votes are computed once per draw (see
 * @densepure/voting makeMethodGroup). A row's time is the wall time of the shared evaluation of that image.
 */
export async function runCertifyShared(options: SharedCertifyOptions): Promise<CertifyResult[]> {
  const { members } = options;
  if (members.length === 0) throw new CliError('a shared certify run needs at least one method', 2);
  // Only a member's own method flags: nothing of another member (e.g. a spacing) may leak in through `options`.
  const memberOptions = members.map(
    (m): CertifyOptions => ({ ...options, onRow: undefined, denoiser: m.denoiser, K: m.K, steps: m.steps, oneShot: m.oneShot, spacing: m.spacing, out: m.out }),
  );
  for (const o of memberOptions) validate(o);
  const outs = members.map((m) => m.out);
  const twice = outs.find((o, i) => outs.indexOf(o) !== i);
  if (twice !== undefined) throw new CliError(`two runs of one shared session write the same file ${twice}; give each its own --out`, 2);
  const usesDenoiser = members.map((m) => m.denoiser !== 'none');
  const denoisers = [...new Set(members.filter((m) => m.denoiser !== 'none').map((m) => m.denoiser))];
  if (denoisers.length > 1) throw new CliError(`the runs of one shared session must use one denoiser (or none), got ${denoisers.join(', ')}; run them separately`, 2);
  for (const o of outs) ensureWritable(o);
  const pipeline = await buildGroupPipeline({ ...options, denoiser: denoisers[0] ?? 'none' }, memberOptions, usesDenoiser);
  const { group } = pipeline;
  const indices = selectIndices(pipeline.dataset.size, options.skip, options.max);
  const startedAt = new Date().toISOString();
  const maxK = Math.max(...members.map((m) => m.K));
  const shared = members.length > 1 ? { methods: pipeline.methods.map(methodSlug), denoiserEvalsPerDraw: group.denoiserEvalsPerDraw, time: 'wall time of the shared evaluation of each image' } : undefined;
  const runs = members.map((m, i) => {
    const method = pipeline.methods[i]!;
    const base: BaseClassifier = group.members[i]!;
    const identity = runIdentity(memberOptions[i]!, { ...pipeline, method });
    const sidecar = sidecarPath(m.out);
    const baseSidecar = {
      tool: 'densepure',
      version: VERSION,
      command: options.argv ?? null,
      identity,
      method: describeMethod(method),
      tStar: base.tStar ?? null,
      reverseTimesteps: base.timesteps.length,
      denoiserEvalsPerDraw: base.denoiserEvalsPerDraw,
      ...(shared === undefined ? {} : { sharedDraws: shared }),
      batch: options.batch,
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
        selected: indices.length,
      },
      environment: { node: process.version, platform: platform(), cpus: cpus()[0]?.model ?? 'unknown', cores: availableParallelism() },
    };
    return { out: m.out, method, base, identity, sidecar, baseSidecar, log: null as RowLog | null, rows: [] as CertifyRow[], done: new Set<number>(), resumedRows: 0 };
  });
  let progress: Progress | null = null;
  try {
    for (const run of runs) checkResumable(run.sidecar, run.identity, run.out);
    for (const run of runs) {
      run.log = RowLog.open(run.out);
      run.rows = [...run.log.existing];
      run.done = new Set(run.rows.map((r) => r.idx));
      run.resumedRows = run.rows.length;
      writeJsonAtomic(run.sidecar, { ...run.baseSidecar, status: 'running', startedAt, rows: run.rows.length, of: indices.length });
    }
    const todo = indices.filter((i) => runs.some((r) => !r.done.has(i)));
    if ((options.progress ?? 'auto') !== 'none') {
      // Say which runtime actually runs (and any device fallback) before the long part starts.
      for (const m of [pipeline.denoiser?.metadata, pipeline.classifier.metadata]) {
        if (m !== undefined) process.stderr.write(`${m.kind} ${m.name}: ${m.runtime}\n`);
      }
      const resumed = indices.length - todo.length;
      if (resumed > 0) process.stderr.write(`resuming ${outs.join(', ')} after ${resumed} complete images\n`);
    }
    progress = createProgress(options.progress ?? 'auto', indices.length, indices.length - todo.length, options.n0 + options.n);

    for (const idx of todo) {
      const { image, label } = pipeline.dataset.get(idx);
      const wanted = runs.map((r, i) => (r.done.has(idx) ? -1 : i)).filter((i) => i >= 0);
      const started = performance.now();
      const samplers = group.samplers(image, idx, wanted);
      const results = await Promise.all(
        wanted.map((_, w) =>
          certify(samplers[w]!, {
            sigma: options.sigma,
            n0: options.n0,
            n: options.n,
            alpha: options.alpha,
            batchSize: Math.max(1, Math.floor(options.batch / Math.max(1, maxK))) * Math.max(1, options.workers),
            numClasses: group.members[0]!.numClasses,
            onBatch: w === 0 ? (p) => progress?.draws(p.phase === 'selection' ? p.doneInPhase : options.n0 + p.doneInPhase) : undefined,
          }),
        ),
      );
      const seconds = (performance.now() - started) / 1000;
      for (const [w, result] of results.entries()) {
        const m = wanted[w]!;
        const run = runs[m]!;
        const predict = result.kind === 'certified' ? result.label : -1;
        const row: CertifyRow = { idx, label, predict, radius: result.kind === 'certified' ? result.radius : 0, correct: predict === label ? 1 : 0, seconds };
        run.log!.append(row);
        run.rows.push(row);
        run.done.add(idx);
        if (w === 0) progress.image(row);
        options.onRow?.(m, row, run.rows.length, indices.length);
      }
    }
    return runs.map((run): CertifyResult => {
      const summary = summarize(run.rows);
      writeJsonAtomic(run.sidecar, { ...run.baseSidecar, status: 'complete', startedAt, finishedAt: new Date().toISOString(), rows: run.rows.length, of: indices.length, summary });
      return {
        out: run.out,
        sidecar: run.sidecar,
        rows: run.rows,
        resumedRows: run.resumedRows,
        summary,
        pipeline: { ...(run.base.tStar === undefined ? {} : { tStar: run.base.tStar }), denoiserEvalsPerDraw: run.base.denoiserEvalsPerDraw, method: describeMethod(run.method) },
      };
    });
  } catch (error) {
    const failure = error instanceof BackendFailure ? fromBackendError('model run', error.error) : error;
    for (const run of runs) {
      if (run.log !== null) {
        writeJsonAtomic(run.sidecar, { ...run.baseSidecar, status: 'failed', startedAt, error: failure instanceof Error ? failure.message : String(failure) });
      }
    }
    throw failure;
  } finally {
    progress?.stop();
    for (const run of runs) run.log?.close();
    await pipeline.dispose();
  }
}

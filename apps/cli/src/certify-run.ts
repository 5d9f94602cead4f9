import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus, platform } from 'node:os';
import { certify } from '@densepure/core';
import { BackendFailure } from '@densepure/voting';
import { selectIndices } from '@densepure/datasets';
import { CliError, fromBackendError } from './errors.js';
import { type Progress, createProgress } from './progress.js';
import { RowLog, ensureWritable, sidecarPath, writeJsonAtomic } from './run-files.js';
import { type ModelFlags, type MethodFlags, type Pipeline, buildPipeline, describeMethod, methodSlug } from './setup.js';
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
export function runIdentity(options: CertifyOptions, pipeline: Pipeline): Record<string, unknown> {
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
    denoiserSha256: pipeline.denoiser?.metadata.sha256 ?? null,
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
  validate(options);
  ensureWritable(options.out);
  const pipeline = await buildPipeline(options, options);
  const sidecar = sidecarPath(options.out);
  let log: RowLog | null = null;
  let progress: Progress | null = null;
  const identity = runIdentity(options, pipeline);
  const startedAt = new Date().toISOString();
  const indices = selectIndices(pipeline.dataset.size, options.skip, options.max);
  const baseSidecar = {
    tool: 'densepure',
    version: VERSION,
    command: options.argv ?? null,
    identity,
    method: describeMethod(pipeline.method),
    tStar: pipeline.base.tStar ?? null,
    reverseTimesteps: pipeline.base.timesteps.length,
    denoiserEvalsPerDraw: pipeline.base.denoiserEvalsPerDraw,
    batch: options.batch,
    models: {
      denoiser: pipeline.denoiser === null ? null : { ...pipeline.denoiser.metadata },
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
  try {
    checkResumable(sidecar, identity, options.out);
    log = RowLog.open(options.out);
    const rows = [...log.existing];
    const done = new Set(rows.map((r) => r.idx));
    const todo = indices.filter((i) => !done.has(i));
    const resumedRows = rows.length;
    writeJsonAtomic(sidecar, { ...baseSidecar, status: 'running', startedAt, rows: rows.length, of: indices.length });
    if ((options.progress ?? 'auto') !== 'none') {
      // Say which runtime actually runs (and any device fallback) before the long part starts.
      for (const m of [pipeline.denoiser?.metadata, pipeline.classifier.metadata]) {
        if (m !== undefined) process.stderr.write(`${m.kind} ${m.name}: ${m.runtime}\n`);
      }
      if (resumedRows > 0) process.stderr.write(`resuming ${options.out} after ${resumedRows} complete rows\n`);
    }
    progress = createProgress(options.progress ?? 'auto', indices.length, rows.length, options.n0 + options.n);

    for (const idx of todo) {
      const { image, label } = pipeline.dataset.get(idx);
      const started = performance.now();
      const result = await certify(pipeline.base.sampler(image, idx), {
        sigma: options.sigma,
        n0: options.n0,
        n: options.n,
        alpha: options.alpha,
        batchSize: Math.max(1, Math.floor(options.batch / Math.max(1, options.K))) * Math.max(1, options.workers),
        numClasses: pipeline.base.numClasses,
        onBatch: (p) => progress?.draws(p.phase === 'selection' ? p.doneInPhase : options.n0 + p.doneInPhase),
      });
      const predict = result.kind === 'certified' ? result.label : -1;
      const row: CertifyRow = {
        idx,
        label,
        predict,
        radius: result.kind === 'certified' ? result.radius : 0,
        correct: predict === label ? 1 : 0,
        seconds: (performance.now() - started) / 1000,
      };
      log.append(row);
      rows.push(row);
      progress.image(row);
      options.onRow?.(row, rows.length, indices.length);
    }
    const summary = summarize(rows);
    writeJsonAtomic(sidecar, { ...baseSidecar, status: 'complete', startedAt, finishedAt: new Date().toISOString(), rows: rows.length, of: indices.length, summary });
    return {
      out: options.out,
      sidecar,
      rows,
      resumedRows,
      summary,
      pipeline: { ...(pipeline.base.tStar === undefined ? {} : { tStar: pipeline.base.tStar }), denoiserEvalsPerDraw: pipeline.base.denoiserEvalsPerDraw, method: describeMethod(pipeline.method) },
    };
  } catch (error) {
    const failure = error instanceof BackendFailure ? fromBackendError('model run', error.error) : error;
    if (log !== null) {
      writeJsonAtomic(sidecar, { ...baseSidecar, status: 'failed', startedAt, error: failure instanceof Error ? failure.message : String(failure) });
    }
    throw failure;
  } finally {
    progress?.stop();
    log?.close();
    await pipeline.dispose();
  }
}

// A run as typed data: what the apps build from flags or an experiment file, and everything the loops need.
import { either as E } from 'fp-ts';
import { type TimestepRule, validateSequentialOptions } from '@densepure/core';
import type { VarianceMode } from '@densepure/voting';
import { type RunError, invalidSetting } from './errors.js';
import { type Method, votesOf } from './method.js';
import { type CertifyMode, modeOf } from './modes/index.js';

export type { CertifyMode } from './modes/index.js';

/**
 * The radii `maxRadius` stands for: 0.25, 0.5, ... below it, then it. `maxRadius` is checked first against what
 * the run can certify at all (sigma, alpha and the cap N, core's rule), so the list is only built for a radius in
 * reach: a few entries, never billions. The error names `maxRadius`.
 */
export function radiiUpTo(maxRadius: number, reach: Pick<RunSpec, 'sigma' | 'n0' | 'n' | 'alpha'>): E.Either<RunError, number[]> {
  const checked = validateSequentialOptions({ sigma: reach.sigma, n0: reach.n0, nMax: reach.n, alpha: reach.alpha, radii: [maxRadius], numClasses: 2, batchSize: 1 });
  if (E.isLeft(checked)) return E.left({ kind: 'sequential-setting', setting: 'maxRadius', error: checked.left, message: checked.left.message });
  const radii: number[] = [];
  for (let k = 1; k * 0.25 < maxRadius - 1e-12; k++) radii.push(k * 0.25);
  return E.right([...radii, maxRadius]);
}

/**
 * The radii a cascade's `maxRadius` stands for, checked against its largest sigma at the full alpha first (a
 * cascade splits alpha over its stages, so a radius that cannot be reached there is reached by no stage). Sigmas
 * that are not positive numbers are the cascade's own check to refuse: the radius alone stands for itself then.
 */
export function cascadeRadiiUpTo(maxRadius: number, sigmas: readonly number[], reach: Pick<RunSpec, 'n0' | 'n' | 'alpha'>): E.Either<RunError, number[]> {
  if (sigmas.length === 0 || !sigmas.every((s) => Number.isFinite(s) && s > 0)) return E.right([maxRadius]);
  return radiiUpTo(maxRadius, { ...reach, sigma: Math.max(...sigmas) });
}

/** Where the models, the data and the compute come from. Model and dataset specs: a path, 'backend:path' or a name the app's catalog knows (the apps: 'default', 'mnist', 'fashion', …). */
export interface ModelsSpec {
  /** The diffusion model; used by every method but smoothing. */
  readonly denoiser: string;
  readonly classifier: string;
  /** Backend for both models (onnx, tfjs); default: the highest-priority backend that loads them. */
  readonly backend?: string;
  readonly device?: string;
  /** Intra-op threads per session. */
  readonly threads?: number;
  /** Worker threads with one model session each; 0 runs in the calling thread. */
  readonly workers: number;
}

/** The images: a dataset spec and Cohen's slice (every skip-th index below max). */
export interface SliceSpec {
  readonly spec: string;
  readonly skip: number;
  readonly max?: number;
}

/** One method of a run and the TSV it writes (its sidecar is `<out>.json`). */
export interface RunTarget {
  readonly method: Method;
  readonly out: string;
}

/** Who writes the sidecar: recorded in it, with the command line. */
export interface Provenance {
  readonly tool: string;
  readonly version: string;
  readonly command?: readonly string[];
}

/**
 * A certify run: one or more methods at one sigma over one dataset slice. Several methods share their noise
 * draws (see @densepure/voting makeMethodGroup) while each writes the TSV and sidecar it would write alone.
 */
export interface RunSpec {
  readonly models: ModelsSpec;
  readonly dataset: SliceSpec;
  readonly runs: readonly RunTarget[];
  readonly sigma: number;
  /** Draws that pick the top class, draws that bound its probability, and the failure probability. */
  readonly n0: number;
  readonly n: number;
  readonly alpha: number;
  readonly seed: number;
  /** Images per model call (reverse chains for DensePure). Speed only. */
  readonly batch: number;
  /** Reverse-step variance; default: learned-range if the model learns it, else fixed-large. */
  readonly variance?: VarianceMode;
  /** Default: fixed N. */
  readonly mode?: CertifyMode;
  /** How t* is picked for sigma (core's TimestepRule): 'nearest' (default), 'densepure' (its CIFAR-10 closed form) or 'dds'. */
  readonly timestepRule?: TimestepRule;
  readonly provenance?: Provenance;
}

/** Cohen's PREDICT over a slice with one method: N draws, a two-sided test at level alpha. */
export type PredictSpec = Omit<RunSpec, 'runs' | 'n0' | 'mode'> & { readonly run: RunTarget };

const whole = (setting: Parameters<typeof invalidSetting>[0], value: number, min: number): RunError | null =>
  Number.isInteger(value) && value >= min ? null : invalidSetting(setting, `must be a whole number >= ${min}`, value);

/** Settings shared by certify and predict. */
function checkCommon(spec: Omit<RunSpec, 'runs' | 'n0' | 'mode'>, methods: readonly Method[]): RunError | null {
  if (!(spec.sigma > 0) || !Number.isFinite(spec.sigma)) return invalidSetting('sigma', 'must be a positive number', spec.sigma);
  if (!(spec.alpha > 0 && spec.alpha < 1)) return invalidSetting('alpha', 'must be in (0, 1)', spec.alpha);
  return (
    whole('N', spec.n, 1) ??
    whole('batch', spec.batch, 1) ??
    whole('skip', spec.dataset.skip, 1) ??
    methods.map((m) => whole('K', votesOf(m), 1)).find((e) => e !== null) ??
    whole('seed', spec.seed, 0) ??
    whole('workers', spec.models.workers, 0) ??
    (spec.dataset.max === undefined ? null : whole('max', spec.dataset.max, 1))
  );
}

/** Checks the numbers of a certify spec before anything is opened; the first problem found. */
export function checkRunSpec(spec: RunSpec): E.Either<RunError, RunSpec> {
  if (spec.runs.length === 0) return E.left({ kind: 'no-runs', message: 'a certify run needs at least one method' });
  const problem =
    (!(spec.sigma > 0) || !Number.isFinite(spec.sigma) ? invalidSetting('sigma', 'must be a positive number', spec.sigma) : null) ??
    whole('N0', spec.n0, 1) ??
    whole('N', spec.n, 1) ??
    (spec.n0 > spec.n ? ({ kind: 'n0-exceeds-n', n0: spec.n0, n: spec.n, message: `N0 (${spec.n0}) must not exceed N (${spec.n}): N0 draws only pick the class, N draws certify it` } as const) : null) ??
    checkCommon(spec, spec.runs.map((r) => r.method)) ??
    modeOf(spec.mode).validate(spec);
  if (problem !== null) return E.left(problem);
  const outs = spec.runs.map((r) => r.out);
  const twice = outs.find((o, i) => outs.indexOf(o) !== i);
  if (twice !== undefined) return E.left({ kind: 'same-output', path: twice, message: `two runs of one shared session write the same file ${twice}; give each its own output` });
  return E.right(spec);
}

export function checkPredictSpec(spec: PredictSpec): E.Either<RunError, PredictSpec> {
  const problem = checkCommon(spec, [spec.run.method]);
  return problem === null ? E.right(spec) : E.left(problem);
}

export { drawsPerBatch } from './batch.js';

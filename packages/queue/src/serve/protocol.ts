// What travels through the queue when a certificate server hands its draws to workers: a standing "serve run" per
// served model (its identity: the models by sha256, backend, input shape, the server's caps), and one job per
// range of one request's draws, carrying the request's image inline (a served image has no dataset) and the noise
// address (method, sigma, seed, index, draws) that makes the worker's vote counts those of a local computation.
import { either as E } from 'fp-ts';
import type { ModelMetadata } from '@densepure/backend';
import { type Method, needsDenoiser, parseMethodSlug, votesOf } from '@densepure/runner';
import type { VarianceKind, TimestepRule } from '@densepure/core';

/** What a serve run's jobs may ask for at most (the server's caps); a worker rejects a job beyond them uncomputed. */
export interface DrawsLimits {
  /** Largest draw index + 1 a job may reach (the server's cap on N0 + N of one request). */
  readonly maxDraws: number;
  /** Most draws in one job. */
  readonly maxDrawsPerJob: number;
  /** Most votes per draw (DensePure's K, DiffSmooth's m). */
  readonly maxVotes: number;
  readonly maxSigma: number;
}

/** The serve run as a worker needs it (its models are found by the sha256s of the identity). */
export interface ServeRunSpec {
  readonly purpose: 'serve';
  /** The served images' [channels, height, width]. */
  readonly shape: readonly [number, number, number];
  readonly numClasses: number;
  /** Rows per model call on the worker (speed only). */
  readonly batch: number;
  readonly backend: string;
  readonly variance?: VarianceKind;
  readonly timestepRule?: TimestepRule;
  readonly limits: DrawsLimits;
}

export const isServeRunSpec = (spec: unknown): spec is ServeRunSpec => spec !== null && typeof spec === 'object' && (spec as { purpose?: unknown }).purpose === 'serve';

/**
 * Everything that decides a serve run's counts besides the jobs' own noise addresses: the models and manifests by
 * sha256, the backend that runs them, the input shape, the variance and t* rules, and the caps. A worker computes
 * it from its own models and refuses the run on any difference.
 */
export function serveIdentity(spec: ServeRunSpec, opened: { readonly denoiser: Pick<ModelMetadata, 'sha256' | 'manifestSha256'> | null; readonly classifier: Pick<ModelMetadata, 'sha256' | 'manifestSha256' | 'backend'> }): Record<string, unknown> {
  return {
    purpose: 'serve',
    backend: opened.classifier.backend,
    denoiserSha256: opened.denoiser?.sha256 ?? null,
    denoiserManifestSha256: opened.denoiser?.manifestSha256 ?? null,
    classifierSha256: opened.classifier.sha256,
    classifierManifestSha256: opened.classifier.manifestSha256,
    shape: [...spec.shape],
    numClasses: spec.numClasses,
    variance: spec.variance ?? 'auto',
    tStarRule: spec.timestepRule ?? 'nearest',
    ...spec.limits,
  };
}

/** One job: a range of draws of one request, its image inline (flat, row-major, pixels in [0, 1]). */
export interface DrawsPart {
  readonly image: readonly number[];
  /** The method's slug (`dds`, `densepure-K5-b5`, ...): a method of the table. */
  readonly method: string;
  readonly sigma: number;
  readonly seed: number;
  /** The request's noise stream (a dataset index gives the noise densepure certify used for that image). */
  readonly index: number;
  readonly first: number;
  readonly count: number;
}

/** A job, checked: what a worker computes. */
export interface CheckedDrawsPart {
  readonly image: Float32Array;
  readonly method: Method;
  readonly sigma: number;
  readonly seed: number;
  readonly index: number;
  readonly first: number;
  readonly count: number;
}

/** The worker's answer: per-class vote counts over the range (adding up to its count), and the model evaluations made. */
export interface DrawsAnswer {
  readonly counts: readonly number[];
  readonly evaluations: { readonly denoiser: number; readonly classifier: number };
}

const UINT32_MAX = 2 ** 32 - 1;
const isWhole = (v: unknown, min: number, max: number): v is number => Number.isInteger(v) && (v as number) >= min && (v as number) <= max;

/**
 * Checks a job against its serve run before anything is computed (Left: why it does not fit): an image of exactly
 * the run's size with finite pixels in [0, 1], a method of the table within the vote cap (and a denoiser when it
 * needs one), sigma within the cap, a seed and index of 32 bits, a draw range within the caps.
 */
export function checkDrawsPart(part: unknown, spec: ServeRunSpec, hasDenoiser: boolean): E.Either<string, CheckedDrawsPart> {
  if (part === null || typeof part !== 'object') return E.left('it has no payload');
  const p = part as Partial<Record<keyof DrawsPart, unknown>>;
  const [c, h, w] = spec.shape;
  const size = c * h * w;
  if (!Array.isArray(p.image) || p.image.length !== size) return E.left(`its image is not ${size} numbers (${c}x${h}x${w}), it has ${Array.isArray(p.image) ? p.image.length : 'none'}`);
  const image = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    const v: unknown = p.image[i];
    if (!(typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1)) return E.left(`its pixel ${i} is ${JSON.stringify(v) ?? String(v)}, not a finite number in [0, 1]`);
    image[i] = v;
  }
  if (typeof p.method !== 'string') return E.left('it names no method');
  const method = parseMethodSlug(p.method.slice(0, 200));
  if (E.isLeft(method)) return E.left(`its method: ${method.left.message}`);
  if (needsDenoiser(method.right) && !hasDenoiser) return E.left(`its method ${p.method} needs a denoiser and the run has none`);
  if (votesOf(method.right) > spec.limits.maxVotes) return E.left(`its method ${p.method} has ${votesOf(method.right)} votes per draw, above the run's cap of ${spec.limits.maxVotes}`);
  if (!(typeof p.sigma === 'number' && Number.isFinite(p.sigma) && p.sigma > 0 && p.sigma <= spec.limits.maxSigma)) return E.left(`its sigma ${String(p.sigma)} is not in (0, ${spec.limits.maxSigma}]`);
  if (!isWhole(p.seed, 0, UINT32_MAX)) return E.left(`its seed ${String(p.seed)} is not a whole number in [0, ${UINT32_MAX}]`);
  if (!isWhole(p.index, 0, UINT32_MAX)) return E.left(`its index ${String(p.index)} is not a whole number in [0, ${UINT32_MAX}]`);
  if (!isWhole(p.count, 1, spec.limits.maxDrawsPerJob)) return E.left(`its draw count ${String(p.count)} is not in [1, ${spec.limits.maxDrawsPerJob}] (the run's draws per job)`);
  if (!isWhole(p.first, 0, spec.limits.maxDraws - p.count)) return E.left(`its draws ${String(p.first)} + ${p.count} reach beyond the run's cap of ${spec.limits.maxDraws} draws`);
  return E.right({ image, method: method.right, sigma: p.sigma, seed: p.seed, index: p.index, first: p.first, count: p.count });
}

/** Checks a worker's answer for a job of `count` draws: null when it is not one. */
export function parseDrawsAnswer(value: unknown, count: number, numClasses: number): DrawsAnswer | null {
  if (value === null || typeof value !== 'object') return null;
  const { counts, evaluations } = value as Partial<DrawsAnswer>;
  if (!Array.isArray(counts) || counts.length !== numClasses || !counts.every((k) => isWhole(k, 0, count))) return null;
  if (counts.reduce((s, k) => s + k, 0) !== count) return null;
  if (evaluations === null || typeof evaluations !== 'object' || !isWhole(evaluations.denoiser, 0, Number.MAX_SAFE_INTEGER) || !isWhole(evaluations.classifier, 0, Number.MAX_SAFE_INTEGER)) return null;
  return { counts: [...counts], evaluations: { denoiser: evaluations.denoiser, classifier: evaluations.classifier } };
}

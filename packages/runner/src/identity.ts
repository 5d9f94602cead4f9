// The identity of a run — everything that decides the numbers in its TSV — and the resume check built on it.
// A rerun resumes only when the identity is the same; batch size, workers and threads are left out on purpose:
// they change speed, never results (every random number is addressed by seed, image, draw, vote and step).
import { existsSync } from 'node:fs';
import { either as E } from 'fp-ts';
import { z } from 'zod';
import type { ModelMetadata } from '@densepure/backend';
import type { Dataset } from '@densepure/datasets';
import { type IdentityDifference, type RunError, formatDifferences } from './errors.js';
import { sidecarPath, readText } from './files.js';
import { type Method, methodIdentity, methodSlug, needsDenoiser } from './method.js';
import { MODE_IDENTITY_FIELDS, modeOf } from './modes/index.js';
import type { RunSpec } from './spec.js';
import { type CertifyRow, parseCohenTsv } from './tsv.js';

export const identitySchema = z.object({
  method: z.string(),
  sigma: z.number(),
  N0: z.number(),
  N: z.number(),
  alpha: z.number(),
  skip: z.number(),
  max: z.number().nullable(),
  K: z.number(),
  steps: z.union([z.number(), z.literal('full')]).nullable(),
  seed: z.number(),
  variance: z.string(),
  /** The t* rule; absent for the default ('nearest'), so runs made before the rule existed keep their identity. */
  tStarRule: z.enum(['densepure', 'dds']).optional(),
  /** The backend that ran the models. */
  backend: z.string(),
  /** The model files and the manifests that describe them (preprocessing, schedule, variance live in the manifest). */
  denoiserSha256: z.string().nullable(),
  denoiserManifestSha256: z.string().nullable(),
  classifierSha256: z.string(),
  classifierManifestSha256: z.string(),
  /** The dataset file's sha256, or its source when the format records none. */
  datasetSha256: z.string(),
  /** What the certify mode adds (none for fixed N, whose identity stays as it was; sequential: radii and stop rule). */
  ...MODE_IDENTITY_FIELDS,
});

export type RunIdentity = z.output<typeof identitySchema>;

/** The part of the identity that follows from the spec alone (no model or dataset opened): eval checks a grid with it. */
export type SpecIdentity = Omit<RunIdentity, 'backend' | 'denoiserSha256' | 'denoiserManifestSha256' | 'classifierSha256' | 'classifierManifestSha256' | 'datasetSha256'> & {
  readonly backend?: string;
};

type IdentitySettings = Pick<RunSpec, 'sigma' | 'n0' | 'n' | 'alpha' | 'seed' | 'variance' | 'timestepRule' | 'dataset' | 'mode'> & { readonly models: { readonly backend?: string } };

export function specIdentity(spec: IdentitySettings, method: Method): SpecIdentity {
  const { K, steps } = methodIdentity(method);
  return {
    method: methodSlug(method),
    sigma: spec.sigma,
    N0: spec.n0,
    N: spec.n,
    alpha: spec.alpha,
    skip: spec.dataset.skip,
    max: spec.dataset.max ?? null,
    K,
    steps,
    seed: spec.seed,
    variance: spec.variance ?? 'auto',
    ...(spec.timestepRule === undefined || spec.timestepRule === 'nearest' ? {} : { tStarRule: spec.timestepRule }),
    ...(spec.models.backend === undefined ? {} : { backend: spec.models.backend }),
    ...modeOf(spec.mode).identity(),
  };
}

/** The full identity once the models and dataset are open. A smoothing run never touches the denoiser, even in a shared session. */
export function runIdentity(
  spec: IdentitySettings,
  method: Method,
  opened: { readonly denoiser: ModelMetadata | null; readonly classifier: ModelMetadata; readonly dataset: Pick<Dataset, 'sha256' | 'source'> },
): RunIdentity {
  const denoiser = needsDenoiser(method) ? opened.denoiser : null;
  return identitySchema.parse({
    ...specIdentity(spec, method),
    backend: opened.classifier.backend,
    denoiserSha256: denoiser?.sha256 ?? null,
    denoiserManifestSha256: denoiser?.manifestSha256 ?? null,
    classifierSha256: opened.classifier.sha256,
    classifierManifestSha256: opened.classifier.manifestSha256,
    datasetSha256: opened.dataset.sha256 ?? opened.dataset.source,
  });
}

/** What a run leaves beside its TSV and the resume check reads back; other keys are kept but not read. */
export const storedSidecarSchema = z.looseObject({
  status: z.enum(['running', 'complete', 'failed']).optional(),
  identity: z.record(z.string(), z.unknown()).optional(),
  rows: z.number().optional(),
  of: z.number().optional(),
});

export type StoredSidecar = z.output<typeof storedSidecarSchema>;

/**
 * Keys whose values differ. `partial`: only the keys of `want` count (a spec identity checked before the models
 * are open); otherwise a key present on one side only differs too.
 */
export function identityDifferences(have: Record<string, unknown>, want: Record<string, unknown>, partial = false): IdentityDifference[] {
  const keys = partial ? Object.keys(want) : Object.keys({ ...have, ...want });
  return keys.filter((k) => JSON.stringify(have[k]) !== JSON.stringify(want[k])).map((key) => ({ key, before: have[key], after: want[key] }));
}

/** What an earlier run left at an output path. */
export type PriorRun =
  | { readonly kind: 'none' }
  | { readonly kind: 'partial' | 'complete'; readonly rows: readonly CertifyRow[]; readonly sidecar: StoredSidecar };

/**
 * The resume check: nothing at `out`, or a densepure run written with the same identity (all of `identity`'s
 * keys when `partial`, else exactly it). A file without a sidecar, an unreadable sidecar, a malformed TSV or a
 * different identity is an error naming the file.
 */
export function inspectPriorRun(out: string, identity: Record<string, unknown>, partial = false): E.Either<RunError, PriorRun> {
  if (!existsSync(out)) return E.right({ kind: 'none' });
  const sidecar = sidecarPath(out);
  if (!existsSync(sidecar)) {
    return E.left({ kind: 'not-a-run', path: out, sidecar, message: `${out} exists but has no sidecar ${sidecar}: it is not a densepure run to resume; move it away` });
  }
  const text = readText(sidecar);
  if (E.isLeft(text)) return text;
  let stored: StoredSidecar;
  try {
    stored = storedSidecarSchema.parse(JSON.parse(text.right));
  } catch {
    return E.left({ kind: 'bad-sidecar', path: out, sidecar, message: `sidecar ${sidecar} is not valid JSON of a densepure run; move it and ${out} away to start over` });
  }
  const tsv = readText(out);
  if (E.isLeft(tsv)) return tsv;
  const parsed = parseCohenTsv(tsv.right, out);
  const differences = identityDifferences(stored.identity ?? {}, identity, partial);
  // A run that failed before its first row holds no result: any configuration may start over in its place.
  const emptyFailure = stored.status === 'failed' && E.isRight(parsed) && parsed.right.rows.length === 0;
  if (differences.length > 0 && !emptyFailure) {
    return E.left({ kind: 'identity-mismatch', path: out, differences, message: `${out} was written with another configuration (${formatDifferences(differences)})` });
  }
  if (E.isLeft(parsed)) return parsed;
  const { rows } = parsed.right;
  const complete = stored.status === 'complete' && stored.of !== undefined && rows.length >= stored.of;
  return E.right({ kind: complete ? 'complete' : 'partial', rows, sidecar: stored });
}

// What a certify worker may open, whatever a run's record in Redis names: the models it was started with (found
// for a run by their sha256, never by the run's paths) and the datasets it was started with. Whoever can write to
// Redis can name any path in a run's spec; a worker opens none of them.
import { readdir, realpath, stat } from 'node:fs/promises';
import { extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { either as E, taskEither as TE } from 'fp-ts';
import { readModelManifest } from '@densepure/backend';
import type { Catalog, ModelRole } from '@densepure/runner';
import type { QueueError } from '../errors.js';
import type { RunRecord } from '../registry.js';

/** A model this worker may load: where its manifest is, and the sha256 of the model file and of the manifest. */
export interface AllowedModel {
  readonly path: string;
  readonly kind: ModelRole;
  readonly sha256: string;
  readonly manifestSha256: string;
}

export interface WorkerAllowance {
  readonly models: readonly AllowedModel[];
  /** Real paths of the dataset files and folders this worker may read (and below them). */
  readonly data: readonly string[];
  /** Whether the catalog's 'default' dataset may be read (a worker with a catalog: the shipped one). */
  readonly defaultData: boolean;
}

export interface AllowanceOptions {
  /** Model manifests or model files (the manifest beside them), or folders holding manifests. */
  readonly models?: readonly string[];
  /** Dataset files or folders; a run's dataset must be one of them or lie below one. */
  readonly data?: readonly string[];
  /** The catalog's 'default' models and dataset are allowed too. */
  readonly catalog?: Catalog;
}

const badSetting = (setting: 'models' | 'data', message: string): QueueError => ({ kind: 'queue-bad-setting', setting, message });

const isFolder = async (path: string): Promise<boolean | null> =>
  stat(path).then(
    (s) => s.isDirectory(),
    () => null,
  );

/**
 * Reads what the worker may open: each model's manifest (not the model file: its sha256 as recorded), the real
 * paths of the data. A model path or data path that does not exist, or a named file that is no model manifest,
 * is a `queue-bad-setting` error; in a folder, JSON files that are no model manifest are passed over.
 */
export function allowanceOf(o: AllowanceOptions): TE.TaskEither<QueueError, WorkerAllowance> {
  return async () => {
    const models: AllowedModel[] = [];
    const add = async (path: string, explicit: boolean): Promise<QueueError | null> => {
      const read = await readModelManifest(path)();
      if (E.isLeft(read)) return explicit ? badSetting('models', `cannot use ${path} as a model this worker may load: ${read.left.message}`) : null;
      const { manifest, manifestPath, manifestSha256 } = read.right;
      models.push({ path: manifestPath, kind: manifest.kind, sha256: manifest.sha256, manifestSha256 });
      return null;
    };
    for (const path of o.models ?? []) {
      const folder = await isFolder(path);
      if (folder === null) return E.left(badSetting('models', `the model path ${path} does not exist; name model manifests, model files or folders holding manifests`));
      if (!folder) {
        const problem = await add(path, true);
        if (problem !== null) return E.left(problem);
        continue;
      }
      for (const name of (await readdir(path)).filter((n) => extname(n) === '.json').sort()) await add(join(path, name), false);
    }
    if (o.catalog !== undefined) {
      for (const role of ['denoiser', 'classifier'] as const) {
        const shipped = o.catalog.model(role, 'default');
        if (shipped !== 'default') await add(shipped, false);
      }
    }
    const data: string[] = [];
    for (const path of o.data ?? []) {
      const real = await realpath(path).catch(() => null);
      if (real === null) return E.left(badSetting('data', `the data path ${path} does not exist; name dataset files or the folders that hold them`));
      data.push(real);
    }
    return E.right({ models, data, defaultData: o.catalog !== undefined });
  };
}

/** The string values of an identity's `field` (one method: `field`; several: `<slug>.field`). */
const valuesOf = (identity: Readonly<Record<string, unknown>>, field: string): unknown[] =>
  Object.entries(identity)
    .filter(([k]) => k === field || k.endsWith(`.${field}`))
    .map(([, v]) => v);

const short = (sha: string): string => `${sha.slice(0, 12)}…`;

/**
 * This worker's own files for the models a run's identity names by sha256: the one with the same model and
 * manifest, else one with the same model (its other manifest then shows as an identity difference). Left: why
 * there is none. A run without a denoiser (plain smoothing) gets 'none'.
 */
export function localModels(run: RunRecord, allowance: WorkerAllowance): E.Either<string, { readonly denoiser: string; readonly classifier: string }> {
  const pick = (role: ModelRole): E.Either<string, string | null> => {
    const wanted = valuesOf(run.identity, `${role}Sha256`).filter((v): v is string => typeof v === 'string');
    if (wanted.length === 0) return E.right(null);
    if (new Set(wanted).size > 1) return E.left(`the run names ${wanted.length} different ${role} models`);
    const manifests = new Set(valuesOf(run.identity, `${role}ManifestSha256`));
    const candidates = allowance.models.filter((m) => m.kind === role && m.sha256 === wanted[0]);
    const found = candidates.find((m) => manifests.has(m.manifestSha256)) ?? candidates[0];
    return found === undefined ? E.left(`this worker has no ${role} model with sha256 ${short(wanted[0]!)} among the models it was started to allow`) : E.right(found.path);
  };
  const classifier = pick('classifier');
  if (E.isLeft(classifier)) return classifier;
  if (classifier.right === null) return E.left('the run names no classifier model');
  const denoiser = pick('denoiser');
  if (E.isLeft(denoiser)) return denoiser;
  return E.right({ classifier: classifier.right, denoiser: denoiser.right ?? 'none' });
}

/** Null when this worker may read the run's dataset spec; else why not (the spec is not opened to find out). */
export async function datasetRefusal(spec: string, allowance: WorkerAllowance): Promise<string | null> {
  if (spec === 'default') return allowance.defaultData ? null : "this worker has no 'default' dataset";
  const path = spec.replace(/^(cifar10|folder|dpds):/, '');
  const real = await realpath(resolve(path)).catch(() => null);
  const inside = (root: string): boolean => {
    if (real === null) return false;
    const rel = relative(root, real);
    return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
  };
  return allowance.data.some(inside) ? null : `the run's dataset ${JSON.stringify(spec)} is not among the datasets this worker was started to allow`;
}

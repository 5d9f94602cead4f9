import { either as E } from 'fp-ts';
import {
  type Classifier,
  type Denoiser,
  type LoadOptions,
  getBackend,
  loadClassifier,
  loadDenoiser,
  registeredBackends,
} from '@densepure/backend';
import { type ImageClassifier, wrapClassifier } from '@densepure/classifiers';
import { type Dataset, openDataset } from '@densepure/datasets';
import { type BaseClassifier, type Method, type MethodGroup, type VarianceMode, makeMethodGroup } from '@densepure/voting';
import * as zoo from '@densepure/zoo-mnist';
import { CliError, fromBackendError, usageError } from './errors.js';

/** Imports every backend package that is installed; they register themselves. Missing ones are noted, not fatal. */
export async function registerInstalledBackends(): Promise<{ name: string; note: string }[]> {
  const notes: { name: string; note: string }[] = [];
  await import('@densepure/backend-onnx');
  try {
    await import('@densepure/backend-tfjs' as string);
  } catch (cause) {
    notes.push({ name: 'tfjs', note: `@densepure/backend-tfjs not loadable: ${cause instanceof Error ? cause.message.split('\n')[0] : String(cause)}` });
  }
  return notes;
}

export interface ModelFlags {
  readonly denoiser: string;
  readonly classifier: string;
  readonly dataset: string;
  readonly backend?: string;
  readonly device?: string;
  readonly workers: number;
  readonly threads?: number;
}

export interface MethodFlags {
  readonly sigma: number;
  readonly K: number;
  readonly steps: string;
  readonly oneShot: boolean;
  readonly seed: number;
  readonly batch: number;
  readonly variance?: string;
  /** Respaced timesteps: improved-diffusion's 'uniform' (default) or DensePure's own 'densepure' spacing. */
  readonly spacing?: string;
}

/** 'default' names resolve to the shipped MNIST zoo; 'none' as the denoiser means plain Gaussian smoothing. */
export const resolveDefault = (value: string, fallback: string): string => (value === 'default' ? fallback : value);

export function methodFromFlags(flags: MethodFlags, hasDenoiser: boolean): Method {
  if (!hasDenoiser) {
    if (flags.oneShot) throw usageError('--one-shot needs a denoiser; drop --denoiser none');
    if (flags.K !== 1) throw usageError('--K > 1 needs a denoiser (plain smoothing has nothing to vote over)');
    return { kind: 'smoothing' };
  }
  if (flags.oneShot) {
    if (flags.K !== 1) throw usageError('--one-shot is deterministic given the noise: every vote would agree, so use --K 1');
    return { kind: 'dds' };
  }
  let steps: 'full' | number;
  if (flags.steps === 'full') steps = 'full';
  else {
    steps = Number(flags.steps);
    if (!Number.isInteger(steps) || steps < 1) throw usageError(`--steps must be 'full' or a whole number >= 1, got '${flags.steps}'`);
  }
  if (flags.spacing !== undefined && flags.spacing !== 'uniform' && flags.spacing !== 'densepure') {
    throw usageError(`--spacing must be 'uniform' or 'densepure', got '${flags.spacing}'`);
  }
  return { kind: 'densepure', votes: flags.K, steps, ...(flags.spacing === 'densepure' ? { spacing: 'densepure' as const } : {}) };
}

export const describeMethod = (m: Method): string =>
  m.kind === 'smoothing'
    ? 'plain Gaussian smoothing (Cohen et al. 2019)'
    : m.kind === 'dds'
      ? 'diffusion denoised smoothing: one-shot denoise (Carlini et al. 2023)'
      : `DensePure: K=${m.votes} reverse runs, ${m.steps === 'full' ? 'full DDPM chain' : `${m.steps} respaced steps${m.spacing === 'densepure' ? " (DensePure's spacing)" : ''}`} (Xiao et al. 2023)`;

/** File and identity name of a method; `-dp` marks DensePure's own timestep spacing. */
export const methodSlug = (m: Method): string =>
  m.kind === 'densepure' ? `densepure-K${m.votes}-${m.steps === 'full' ? 'full' : `b${m.steps}`}${m.spacing === 'densepure' ? '-dp' : ''}` : m.kind;

export interface Pipeline {
  readonly dataset: Dataset;
  readonly denoiser: Denoiser | null;
  readonly classifier: Classifier;
  readonly imageClassifier: ImageClassifier;
  readonly base: BaseClassifier;
  readonly method: Method;
  dispose(): Promise<void>;
}

const loadOptions = (flags: ModelFlags): LoadOptions & { backend?: string } => ({
  ...(flags.backend === undefined ? {} : { backend: flags.backend }),
  ...(flags.device === undefined ? {} : { device: flags.device }),
  ...(flags.threads === undefined ? {} : { threads: flags.threads }),
  workers: flags.workers,
});

export interface GroupPipeline extends Omit<Pipeline, 'base' | 'method'> {
  /** One base classifier per requested method, sharing noise draws (see makeMethodGroup). */
  readonly group: MethodGroup;
  readonly methods: readonly Method[];
}

/**
 * Opens the dataset and models once and builds base classifiers for several methods that share the noise draws;
 * every failure is a CliError saying what to fix. `methods[i]` follows `methodFlags[i]`; the denoiser is loaded
 * when any of them needs it (`hasDenoiser[i]` false means plain smoothing for that one).
 */
export async function buildGroupPipeline(modelFlags: ModelFlags, methodFlags: readonly MethodFlags[], hasDenoiser: readonly boolean[]): Promise<GroupPipeline> {
  await registerInstalledBackends();
  if (modelFlags.backend !== undefined && getBackend(modelFlags.backend) === undefined) {
    throw usageError(`unknown --backend '${modelFlags.backend}': registered backends are ${registeredBackends().map((b) => b.name).join(', ')}`);
  }
  const denoiserSpec = resolveDefault(modelFlags.denoiser, zoo.denoiserPath);
  const classifierSpec = resolveDefault(modelFlags.classifier, zoo.classifierPath);
  const datasetSpec = resolveDefault(modelFlags.dataset, zoo.testSetPath);
  const methods = methodFlags.map((f, i) => methodFromFlags(f, hasDenoiser[i]! && denoiserSpec !== 'none'));
  const first = methodFlags[0]!;
  const loadsDenoiser = methods.some((m) => m.kind !== 'smoothing');

  const dataset = await openDataset(datasetSpec, modelFlags.dataset === 'default' ? zoo.classNames : undefined);
  if (E.isLeft(dataset)) throw new CliError(`dataset: ${dataset.left.message}`);
  const options = loadOptions(modelFlags);
  const classifier = await loadClassifier(classifierSpec, options)();
  if (E.isLeft(classifier)) throw fromBackendError('classifier', classifier.left);
  let denoiser: Denoiser | null = null;
  const dispose = async (): Promise<void> => {
    await classifier.right.dispose();
    await denoiser?.dispose();
  };
  try {
    if (loadsDenoiser) {
      const loaded = await loadDenoiser(denoiserSpec, options)();
      if (E.isLeft(loaded)) throw fromBackendError('denoiser', loaded.left);
      denoiser = loaded.right;
    }
    const wrapped = wrapClassifier(classifier.right, dataset.right.shape);
    if (E.isLeft(wrapped)) throw fromBackendError('classifier', wrapped.left);
    if (wrapped.right.metadata.numClasses !== dataset.right.numClasses) {
      throw new CliError(
        `the classifier has ${wrapped.right.metadata.numClasses} classes but the dataset has ${dataset.right.numClasses}; use a classifier for this dataset`,
      );
    }
    const group = makeMethodGroup(denoiser, wrapped.right, {
      sigma: first.sigma,
      seed: first.seed,
      methods,
      batchSize: first.batch,
      concurrency: Math.max(1, modelFlags.workers),
      ...(first.variance === undefined ? {} : { variance: first.variance as VarianceMode }),
    });
    if (E.isLeft(group)) throw usageError(group.left.message);
    return { dataset: dataset.right, denoiser, classifier: classifier.right, imageClassifier: wrapped.right, group: group.right, methods, dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}

/** Opens the dataset and models and builds the base classifier; every failure is a CliError saying what to fix. */
export async function buildPipeline(modelFlags: ModelFlags, methodFlags: MethodFlags): Promise<Pipeline> {
  const { group, methods, ...rest } = await buildGroupPipeline(modelFlags, [methodFlags], [resolveDefault(modelFlags.denoiser, zoo.denoiserPath) !== 'none']);
  return { ...rest, base: group.members[0]!, method: methods[0]! };
}

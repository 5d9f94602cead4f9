// Opens what a run needs — dataset and models, through the catalog and the registered backends — and builds the
// base classifiers of its methods.
import { either as E, taskEither as TE } from 'fp-ts';
import { type BackendError, type Classifier, type Denoiser, type LoadOptions, formatBackendError, getBackend, loadClassifier, loadDenoiser, registeredBackends } from '@densepure/backend';
import { type ImageClassifier, wrapClassifier } from '@densepure/classifiers';
import { type Dataset, type DatasetError, selectIndices } from '@densepure/datasets';
import type { TimestepRule } from '@densepure/core';
import { type MethodGroup, type MethodGroupConfig, type VarianceMode, makeMethodGroup } from '@densepure/voting';
import { type Catalog, pathCatalog } from './catalog.js';
import type { RunError } from './errors.js';
import type { ModelCache } from './model-cache.js';
import { type Method, needsDenoiser } from './method.js';
import type { ModelsSpec, SliceSpec } from './spec.js';

/** Opens a dataset spec through the catalog. */
export const openDatasetSpec = (spec: string, catalog: Catalog = pathCatalog): TE.TaskEither<RunError, Dataset> => TE.mapLeft(datasetError)(catalog.dataset(spec));

/** The dataset indices of a slice, as Cohen et al.'s certify.py visits them. */
export const sliceIndices = (dataset: Dataset, slice: SliceSpec): E.Either<RunError, number[]> =>
  E.mapLeft(datasetError)(selectIndices(dataset.size, slice.skip, slice.max));

const datasetError = (error: DatasetError): RunError => ({ kind: 'dataset', error, message: `dataset: ${error.message}` });

/** The open dataset and models of a run, with one base classifier per method sharing the noise draws. */
export interface Pipeline {
  readonly dataset: Dataset;
  readonly denoiser: Denoiser | null;
  readonly classifier: Classifier;
  readonly imageClassifier: ImageClassifier;
  /** `group.members[i]` is the base classifier of `methods[i]`. */
  readonly group: MethodGroup;
  /** What `group` was built with: another group on the same models (merged calls) uses it to count the same. */
  readonly groupConfig: MethodGroupConfig;
  readonly methods: readonly Method[];
  dispose(): Promise<void>;
}

export interface PipelineSpec {
  readonly models: ModelsSpec;
  readonly dataset: Pick<SliceSpec, 'spec'>;
  readonly methods: readonly Method[];
  readonly sigma: number;
  readonly seed: number;
  readonly batch: number;
  readonly variance?: VarianceMode;
  readonly timestepRule?: TimestepRule;
}

const loadOptions = (m: ModelsSpec): LoadOptions & { backend?: string } => ({
  ...(m.backend === undefined ? {} : { backend: m.backend }),
  ...(m.device === undefined ? {} : { device: m.device }),
  ...(m.threads === undefined ? {} : { threads: m.threads }),
  workers: m.workers,
});

/** Where a pipeline's models and dataset come from: the catalog (default: specs are paths) and a cache to share them. */
export interface PipelineSources {
  readonly catalog?: Catalog;
  readonly cache?: ModelCache;
}

/**
 * Opens the dataset and models once and builds the methods' base classifiers (the denoiser is loaded only when
 * a method needs it). Every failure is a RunError saying what to fix; what was opened is closed again. With a
 * `cache`, models and dataset come from it and stay open when the pipeline is disposed.
 */
export function openPipeline(spec: PipelineSpec, sources: PipelineSources = {}): TE.TaskEither<RunError, Pipeline> {
  return async () => {
    const { models } = spec;
    const { cache, catalog = pathCatalog } = sources;
    if (models.backend !== undefined && getBackend(models.backend) === undefined) {
      const registered = registeredBackends().map((b) => b.name);
      return E.left({ kind: 'unknown-backend', name: models.backend, registered, message: `unknown backend '${models.backend}': registered backends are ${registered.join(', ')}` });
    }
    const openData = openDatasetSpec(spec.dataset.spec, catalog);
    const dataset = await (cache === undefined ? openData : cache.dataset(spec.dataset.spec, openData))();
    if (E.isLeft(dataset)) return dataset;
    const options = loadOptions(models);
    const classifierPath = catalog.model('classifier', models.classifier);
    const classifier = await (cache === undefined ? loadClassifier(classifierPath, options) : cache.classifier(classifierPath, options))();
    if (E.isLeft(classifier)) return E.left(modelLoad('classifier', classifier.left));
    let denoiser: Denoiser | null = null;
    const dispose = async (): Promise<void> => {
      if (cache !== undefined) return;
      await classifier.right.dispose();
      await denoiser?.dispose();
    };
    const built = await (async (): Promise<E.Either<RunError, Pipeline>> => {
      if (spec.methods.some(needsDenoiser)) {
        const denoiserPath = catalog.model('denoiser', models.denoiser);
        const loaded = await (cache === undefined ? loadDenoiser(denoiserPath, options) : cache.denoiser(denoiserPath, options))();
        if (E.isLeft(loaded)) return E.left(modelLoad('denoiser', loaded.left));
        denoiser = loaded.right;
      }
      const wrapped = wrapClassifier(classifier.right, dataset.right.shape);
      if (E.isLeft(wrapped)) return E.left(modelLoad('classifier', wrapped.left));
      const classes = wrapped.right.metadata.numClasses;
      if (classes !== dataset.right.numClasses) {
        return E.left({
          kind: 'class-mismatch',
          classifierClasses: classes,
          datasetClasses: dataset.right.numClasses,
          message: `the classifier has ${classes} classes but the dataset has ${dataset.right.numClasses}; use a classifier for this dataset`,
        });
      }
      const groupConfig: MethodGroupConfig = {
        sigma: spec.sigma,
        seed: spec.seed,
        methods: spec.methods,
        batchSize: spec.batch,
        concurrency: Math.max(1, models.workers),
        ...(spec.variance === undefined ? {} : { variance: spec.variance }),
        ...(spec.timestepRule === undefined ? {} : { timestepRule: spec.timestepRule }),
      };
      const group = makeMethodGroup(denoiser, wrapped.right, groupConfig);
      if (E.isLeft(group)) return E.left({ kind: 'method-config', error: group.left, message: group.left.message });
      return E.right({ dataset: dataset.right, denoiser, classifier: classifier.right, imageClassifier: wrapped.right, group: group.right, groupConfig, methods: spec.methods, dispose });
    })();
    if (E.isLeft(built)) await dispose();
    return built;
  };
}

const modelLoad = (role: 'denoiser' | 'classifier', error: BackendError): RunError => ({
  kind: 'model-load',
  role,
  error,
  message: `${role}: ${formatBackendError(error)}`,
});

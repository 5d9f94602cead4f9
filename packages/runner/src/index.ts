// @densepure/runner: the run engine the apps drive. It loads no backend and knows no shipped model: the apps'
// composition root registers backends and passes a Catalog. See README.md.
export { type CertifyHooks, type RunOptions, type RunResult, type RunStart, runCertify } from './run.js';
export { type ImageResult, type ImageSettings, type ImageTask, certifyImage, certifyImageCosted } from './image.js';
export { type CertifyPending, type ImageScheduler, type PendingImage, type SchedulerContext, concurrently, inTurn, localScheduler } from './schedule.js';
export {
  type CountedParts,
  type DrawRange,
  type DrawsPart,
  type DrawsResult,
  type PartsError,
  type PhaseCounts,
  certifyFromCounts,
  countDrawRanges,
  imageFromParts,
  mergeDraws,
  parseDrawsResult,
  planDraws,
} from './modes/fixed-parts.js';
export { type CascadeMode, type CertifyMode, type Mode, type ModeEntry, type SequentialMode, DEFAULT_GROUP, DEFAULT_P0, cascadeIdentity, modeOf, sequentialIdentity } from './modes/index.js';
export { type CascadeCost, type CascadeStageCost, type CostSummary, type RowCost, CostLog, costPath, parseCosts, parseRowCost, readCosts, summarizeCosts } from './accounting.js';
export { type Coalescing, coalescedClassifier, coalescedDenoiser } from './coalesce.js';
export { type SequentialEvent, type SequentialImageSettings, type SequentialOutcome, certifyImageSequential, coalescedGroup } from './modes/index.js';
export { type IdentityDifference, type RunError, type Setting, formatDifferences, invalidSetting, isSpecError, modelRunError, runErrorMessage } from './errors.js';
export { type Catalog, type ModelRole, pathCatalog } from './catalog.js';
export { NAME_MAX, RowLog, ensureWritable, makeParents, readText, sidecarPath, tempPathFor, writeFileAtomic, writeJsonAtomic } from './files.js';
export { type LockOwner, type OutputLock, acquireOutputLock, acquireOutputLocks, lockPath, takeoverNotes } from './lock.js';
export {
  type PriorRun,
  type RunIdentity,
  type SpecIdentity,
  type StoredSidecar,
  identityDifferences,
  identitySchema,
  inspectPriorRun,
  runIdentity,
  specIdentity,
  storedSidecarSchema,
} from './identity.js';
export * from './method.js';
export { type ModelCache, createModelCache } from './model-cache.js';
export { type Pipeline, type PipelineSources, type PipelineSpec, openDatasetSpec, openPipeline, sliceIndices } from './pipeline.js';
export { PREDICT_HEADER, type PredictHooks, type PredictResult, type PredictRow, runPredict } from './predict.js';
export { type ModelsSpec, type PredictSpec, type Provenance, type RunSpec, type RunTarget, type SliceSpec, checkPredictSpec, cascadeRadiiUpTo, checkRunSpec, drawsPerBatch, radiiUpTo } from './spec.js';
export * from './tsv.js';
export { VERSION } from './version.js';

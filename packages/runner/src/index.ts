// @densepure/runner: the run engine both apps drive. See README.md.
export {
  type CertifyHooks,
  type ImageScheduler,
  type ImageSettings,
  type PendingImage,
  type RunResult,
  type RunStart,
  type SchedulerContext,
  certifyImage,
  certifyImageCosted,
  type ImageResult,
  runCertify,
} from './certify.js';
export { type CostSummary, type RowCost, CostLog, costPath, parseCosts, parseRowCost, readCosts, summarizeCosts } from './accounting.js';
export { type Coalescing, coalescedClassifier, coalescedDenoiser } from './coalesce.js';
export { type SequentialImageSettings, type SequentialOutcome, certifyImageSequential, coalescedGroup } from './sequential.js';
export {
  type Failure,
  type IdentityDifference,
  type RunError,
  type Setting,
  describeRunError,
  isFailure,
  orFail,
  exitCodeOf,
  reportFailure,
  formatDifferences,
  invalidSetting,
  unexpectedFailure,
} from './errors.js';
export { NAME_MAX, RowLog, ensureWritable, makeParents, readText, sidecarPath, tempPathFor, writeFileAtomic, writeJsonAtomic } from './files.js';
export { type LockOwner, type OutputLock, acquireOutputLock, acquireOutputLocks, exitOnSignals, lockPath, takeoverNotes } from './lock.js';
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
export { type BackendNote, type Pipeline, type PipelineSpec, openDatasetSpec, openPipeline, registerInstalledBackends, resolveModelSpec, sliceIndices } from './pipeline.js';
export { PREDICT_HEADER, type PredictHooks, type PredictResult, type PredictRow, runPredict } from './predict.js';
export { type CertifyMode, DEFAULT_GROUP, radiiUpTo, sequentialIdentity } from './spec.js';
export { type ModelsSpec, type PredictSpec, type Provenance, type RunSpec, type RunTarget, type SliceSpec, checkPredictSpec, checkRunSpec, drawsPerBatch } from './spec.js';
export * from './tsv.js';
export { VERSION } from './version.js';

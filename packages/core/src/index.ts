/**
 * @densepure/core: the pure math of DensePure (Xiao et al., ICLR 2023) on top of randomized smoothing
 * (Cohen et al., 2019): diffusion schedules and respacing, t* from sigma, the reverse process on
 * Float32Array batches, Clopper-Pearson / binomial statistics, CERTIFY / PREDICT, and a counter-based RNG.
 * No I/O. Expected failures (a sampler's) are fp-ts Either values; {@link DensePureMathError} is thrown only
 * for a broken contract (invalid arguments, malformed sampler output).
 */
export { DensePureMathError, isDensePureMathError, type DensePureMathErrorCode, type ScheduleError } from './errors.js';
export {
  linearBetaSchedule,
  cosineBetaSchedule,
  betaSchedule,
  diffusionConstants,
  spaceTimesteps,
  respacedBetas,
  sigmaToTimestep,
  checkedSigmaToTimestep,
  maxSupportedSigma,
  roundHalfEven,
  type BetaRange,
  type DiffusionConstants,
  type ScheduleSpec,
  type SigmaTimestep,
} from './schedule.js';
export {
  clopperPearson,
  clopperPearsonLower,
  clopperPearsonUpper,
  normalQuantile,
  normalCdf,
  binomialTestTwoSided,
  type ConfidenceInterval,
} from './stats.js';
export {
  argmax,
  certify,
  predict,
  type DrawRequest,
  type Sampler,
  type BatchProgress,
  type CertifyOptions,
  type CertifyCounts,
  type CertifyResult,
  type CertifyAbstainReason,
  type PredictOptions,
  type PredictResult,
  type PredictAbstainReason,
} from './certify.js';
export {
  philox4x32_10,
  noiseAddress,
  withDrawIndex,
  gaussianFill,
  uniformFill,
  gaussianFillStreams,
  gaussianFillDraws,
  STEP_TAG_SMOOTHING,
  MAX_REVERSE_STEP_TAG,
  type NoiseAddress,
  type NoiseAddressFields,
} from './rng.js';
export {
  planReverse,
  checkedPlanReverse,
  reverseStep,
  toModelScale,
  fromModelScale,
  type ReverseMode,
  type ReversePlan,
  type ReverseStepPlan,
  type ReverseStepOptions,
  type VarianceKind,
} from './reverse.js';
export {
  TIMESTEP_RULES,
  densepureCosineT,
  densepureCosineTimestep,
  ddsTimestep,
  sigmaTimestepAt,
  timestepForSigma,
  checkedTimestepForSigma,
  type TimestepRule,
  type ScheduleForRule,
} from './timestep-rules.js';
export * from './sequential-api.js';
export { bernoulliKl, oracleFixedDraws, waldDrawsBound } from './draw-floors.js';
export {
  CASCADE_ALPHA_SPLIT,
  cascadeLevels,
  cascadeRadius,
  cascadeResult,
  cascadeRule,
  certifyCascade,
  certifyCascadeStage,
  classUpperBounds,
  decideStage,
  fixedStage,
  offClassCap,
  validateCascadeSettings,
  type CascadeAbstainReason,
  type CascadeCertifyOptions,
  type CascadeDecision,
  type CascadeResult,
  type CascadeRule,
  type CascadeSettings,
  type CascadeSettingsError,
  type CascadeStage,
  type CascadeStageLevels,
  type CascadeStopReason,
} from './cascade.js';
export {
  cascadeLook,
  cascadeSequentialRule,
  certifyCascadeSequential,
  checkCascadeRadii,
  closeSequentialStage,
  stageCap,
  stageSelectionLooks,
  stageSelectionPick,
  type CascadeLook,
  type CascadeRadiiError,
  type CascadeSequentialOptions,
  type CascadeSequentialRule,
} from './cascade-sequential.js';

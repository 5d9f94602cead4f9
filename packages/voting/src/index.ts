export { majorityVote, voteHistogram, votesStillNeeded, votesToDecide } from './vote.js';
export type { BaseClassifier, BaseClassifierConfig, EvaluationTally, Evaluations, MethodGroup, MethodGroupConfig, VarianceMode } from './types.js';
export type { Aggregation, ChainSpec, MethodDefinition, MethodEntry, MethodIdentity, MethodReads, MethodShape, Purification } from './methods/entry.js';
export { defineMethod } from './methods/entry.js';
export { MAJORITY_VOTE } from './methods/majority.js';
export type { SmoothingMethod } from './methods/smoothing.js';
export type { DdsMethod } from './methods/dds.js';
export type { DensePureMethod } from './methods/densepure.js';
export type { DiffSmoothMethod } from './methods/diffsmooth.js';
export {
  type DuplicateMethod,
  type Method,
  type MethodKind,
  type MethodSetting,
  type MethodSettingsError,
  type MethodSlugError,
  METHOD_ENTRIES,
  METHOD_KINDS,
  METHOD_SETTINGS,
  METHOD_TABLE,
  describeMethod,
  isMethodKind,
  makeMethodTable,
  methodEntry,
  methodIdentity,
  methodLabel,
  methodOrder,
  methodReads,
  methodSlug,
  needsDenoiser,
  parseMethodSettings,
  parseMethodSlug,
  votesOf,
} from './methods/table.js';
export type { ConfigError, Setting } from './errors.js';
export { inBatches, type Batching } from './batching.js';
export { type ChainFamily, type LocalFamily, type ClassifierShape, type DenoiserShape, type GroupPlan, type MemberPlan, type MemberSource, chainEvaluations, planGroup } from './plan.js';
export { makeBaseClassifier, makeMethodGroup } from './base-classifier.js';

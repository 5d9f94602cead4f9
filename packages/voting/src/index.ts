export { majorityVote, voteHistogram, votesStillNeeded, votesToDecide } from './vote.js';
export type { BaseClassifier, BaseClassifierConfig, EvaluationTally, Evaluations, Method, MethodGroup, MethodGroupConfig, VarianceMode } from './types.js';
export { BackendFailure, type ConfigError, type Setting } from './errors.js';
export { inBatches, type Batching } from './batching.js';
export { type ChainFamily, type GroupPlan, type MemberPlan, planGroup } from './plan.js';
export { makeBaseClassifier, makeMethodGroup } from './base-classifier.js';

export { majorityVote, voteHistogram, votesStillNeeded, votesToDecide } from './vote.js';
export type { BaseClassifier, BaseClassifierConfig, EvaluationTally, Evaluations, Method, MethodGroup, MethodGroupConfig, VarianceMode } from './types.js';
export type { ConfigError, Setting } from './errors.js';
export { inBatches, type Batching } from './batching.js';
export { type ChainFamily, type ClassifierShape, type DenoiserShape, type GroupPlan, type MemberPlan, type MemberSource, chainEvaluations, planGroup } from './plan.js';
export { makeBaseClassifier, makeMethodGroup } from './base-classifier.js';

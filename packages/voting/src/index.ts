export { majorityVote, voteHistogram } from './vote.js';
export {
  type BaseClassifier,
  type BaseClassifierConfig,
  type ConfigError,
  type Method,
  type VarianceMode,
  BackendFailure,
  type MethodGroup,
  type MethodGroupConfig,
  makeBaseClassifier,
  makeMethodGroup,
} from './base-classifier.js';

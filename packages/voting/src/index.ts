export { majorityVote, voteHistogram } from './vote.js';
export {
  type BaseClassifier,
  type BaseClassifierConfig,
  type ConfigError,
  type Method,
  type VarianceMode,
  BackendFailure,
  makeBaseClassifier,
} from './base-classifier.js';

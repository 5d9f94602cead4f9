export { type QueueError } from './errors.js';
export { type QueueConnection, parseQueueUrl, probeRedis, redisOptions } from './connection.js';
export { type IdentityDifference, canonicalJson, describeDifferences, identityDifferences, identitySha, runIdOf } from './identity.js';
export { DEFAULT_TUNING, type JobData, type PartResult, type QueueTuning } from './jobs.js';
export { type ClusterProgress, type WorkerThroughput, ClusterMeter, formatClusterProgress } from './progress.js';
export { type RunRecord } from './registry.js';
export { type CollectOptions, type CollectSummary, type QueueItem, collect } from './coordinator.js';
export { type ServeOptions, type ServeSummary, type WorkFailure, type WorkHandler, type WorkRefusal, type WorkerEvent, serve } from './worker.js';
export * from './certify/index.js';

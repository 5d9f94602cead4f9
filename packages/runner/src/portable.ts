// The runner without node: what certifies one image in memory, for a browser or a Web Worker (no files, no
// locks, no TSV on disk). The node entry (index.ts) re-exports all of it.
export { type SequentialEvent, type SequentialImageSettings, type SequentialOutcome, certifyImageSequential, sequentialIdentity } from './modes/sequential.js';
export { drawsPerBatch } from './batch.js';
export { radiiUpTo } from './spec.js';
export * from './method.js';

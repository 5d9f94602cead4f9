import { type Method, votesOf } from './method.js';

/**
 * Draws per CERTIFY/PREDICT batch: `batch` counts images per model call, and a DensePure draw runs K reverse
 * chains, so floor(batch / K) draws fill one call; with workers, that many calls go out at once.
 */
export const drawsPerBatch = (batch: number, methods: readonly Method[], workers: number): number =>
  Math.max(1, Math.floor(batch / Math.max(1, ...methods.map(votesOf)))) * Math.max(1, workers);

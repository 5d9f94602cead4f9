// A classifier's output as probabilities (for soft voting), read the way its manifest's `output` says: logits
// go through softmax, probabilities are used as they are (after checking they are), scores have none.
import { either as E } from 'fp-ts';
import { type BackendError, modelContract } from './errors.js';
import type { ClassifierMetadata } from './types.js';

/** Softmax of each row (numerically stable). */
export function softmaxRows(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) {
    let max = -Infinity;
    for (let c = 0; c < cols; c++) max = Math.max(max, values[r * cols + c]!);
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += out[r * cols + c] = Math.exp(values[r * cols + c]! - max);
    for (let c = 0; c < cols; c++) out[r * cols + c] = out[r * cols + c]! / sum;
  }
  return out;
}

type OutputMetadata = Pick<ClassifierMetadata, 'name' | 'manifestPath' | 'numClasses' | 'output'>;

/** A float32 softmax over many classes still sums to 1 within a few 1e-7; a model that does not is mis-declared. */
const ROW_SUM_TOLERANCE = 1e-3;

/** The classifier's output has no probabilities (manifest `output: 'scores'`). */
export const noProbabilities = (meta: Pick<ClassifierMetadata, 'name' | 'manifestPath'>): BackendError => ({
  kind: 'no-probabilities',
  path: meta.manifestPath,
  message: `classifier ${meta.name} gives scores, not probabilities (its manifest ${meta.manifestPath} says output: 'scores'): only its labels (argmax) mean something. Use it with majority voting, or pick a classifier whose manifest says output 'logits' or 'probabilities'`,
});

/** Whether `probabilities` can be asked of this classifier at all (checked before running it). */
export const givesProbabilities = (meta: Pick<ClassifierMetadata, 'name' | 'manifestPath' | 'output'>): E.Either<BackendError, void> =>
  meta.output === 'scores' ? E.left(noProbabilities(meta)) : E.right(undefined);

/** Checks that every row of a model's 'probabilities' output is a distribution: in [0, 1], summing to 1. */
function checkDistribution(meta: OutputMetadata, values: Float32Array, batch: number): E.Either<BackendError, Float32Array> {
  const k = meta.numClasses;
  for (let b = 0; b < batch; b++) {
    let sum = 0;
    for (let c = 0; c < k; c++) {
      const p = values[b * k + c]!;
      if (!(p >= 0 && p <= 1 + ROW_SUM_TOLERANCE)) {
        return E.left(modelContract(meta.manifestPath, `the manifest says output: 'probabilities' but image ${b} has ${p} for class ${c}; if the model outputs logits, remove output (or set it to 'logits')`));
      }
      sum += p;
    }
    if (Math.abs(sum - 1) > ROW_SUM_TOLERANCE) {
      return E.left(modelContract(meta.manifestPath, `the manifest says output: 'probabilities' but image ${b}'s row sums to ${sum}; if the model outputs logits, remove output (or set it to 'logits')`));
    }
  }
  return E.right(values);
}

/**
 * B x numClasses probabilities, each row summing to 1, from a classifier's output for `batch` images: softmax of
 * logits, probabilities as they are (checked), and a `no-probabilities` error for scores.
 */
export function classifierProbabilities(meta: OutputMetadata, output: Float32Array, batch: number): E.Either<BackendError, Float32Array> {
  switch (meta.output) {
    case 'logits':
      return E.right(softmaxRows(output, batch, meta.numClasses));
    case 'probabilities':
      return checkDistribution(meta, output, batch);
    case 'scores':
      return E.left(noProbabilities(meta));
  }
}

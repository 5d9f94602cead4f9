import { either as E } from 'fp-ts';
import { DensePureMathError, assertInteger } from './errors.js';
import { binomialTestTwoSided, clopperPearsonLower, normalQuantile } from './stats.js';

/**
 * A contiguous range of Monte-Carlo draws, by absolute draw index, so a counter-based RNG can address
 * the noise of draw i the same way whatever the batching: draws firstDraw .. firstDraw + count - 1.
 */
export type DrawRequest = { readonly firstDraw: number; readonly count: number };

/**
 * Evaluates the base (denoise + classify) classifier on the requested draws and returns per-class vote
 * counts: length numClasses, non-negative integers summing to exactly `count` (one label per draw), or the
 * expected failure `Err` that stopped it (a model that could not run). A sampler that cannot fail has
 * `Err = never`. Counts of the wrong shape break the contract: CERTIFY throws `sampler-contract` for them.
 */
export type Sampler<Err = never> = (req: DrawRequest) => Promise<E.Either<Err, ArrayLike<number>>>;

/** Progress report passed to `onBatch` after each sampler call. */
export interface BatchProgress {
  readonly phase: 'selection' | 'estimation';
  readonly firstDraw: number;
  readonly count: number;
  /** Draws finished in this phase so far (including this batch). */
  readonly doneInPhase: number;
  /** Draws in this phase (n0 or n). */
  readonly totalInPhase: number;
}

/** Options of {@link certify}. */
export interface CertifyOptions {
  /** Smoothing noise std in [0, 1] pixel units (> 0). */
  readonly sigma: number;
  /** Selection draws (>= 1). */
  readonly n0: number;
  /** Estimation draws (>= 1). */
  readonly n: number;
  /** Failure probability, 0 < alpha < 1. */
  readonly alpha: number;
  /** Largest draw count per sampler call (>= 1). */
  readonly batchSize: number;
  /** Number of classes (>= 2). */
  readonly numClasses: number;
  readonly onBatch?: (p: BatchProgress) => void;
}

/** Vote counts of both CERTIFY phases. */
export interface CertifyCounts {
  readonly selection: number[];
  readonly estimation: number[];
}

/** Why CERTIFY abstained. */
export type CertifyAbstainReason = 'pA<=0.5';

/** Result of {@link certify}: certified with an L2 radius, or abstain. */
export type CertifyResult =
  | {
      readonly kind: 'certified';
      readonly label: number;
      /** sigma * Phi^{-1}(pA), > 0. */
      readonly radius: number;
      /** One-sided (1 - alpha) Clopper-Pearson lower bound on P(f(x + noise) = label). */
      readonly pA: number;
      /** Estimation count of `label`. */
      readonly nA: number;
      readonly counts: CertifyCounts;
    }
  | {
      readonly kind: 'abstain';
      readonly reason: CertifyAbstainReason;
      /** The selection phase's guess (what would have been certified). */
      readonly label: number;
      readonly pA: number;
      readonly nA: number;
      readonly counts: CertifyCounts;
    };

/** Options of {@link predict}. */
export interface PredictOptions {
  readonly n: number;
  readonly alpha: number;
  readonly batchSize: number;
  readonly numClasses: number;
  readonly onBatch?: (p: BatchProgress) => void;
}

/** Why PREDICT abstained. */
export type PredictAbstainReason = 'pValue>alpha';

/** Result of {@link predict}. */
export type PredictResult =
  | { readonly kind: 'predicted'; readonly label: number; readonly pValue: number; readonly counts: number[] }
  | {
      readonly kind: 'abstain';
      readonly reason: PredictAbstainReason;
      /** The top-count label (ties to the smallest label). */
      readonly label: number;
      readonly pValue: number;
      readonly counts: number[];
    };

function assertAlpha(alpha: number): void {
  if (typeof alpha !== 'number' || !(alpha > 0 && alpha < 1)) {
    throw new DensePureMathError('invalid-argument', `alpha must be in (0, 1) (e.g. 0.001), got ${String(alpha)}`);
  }
}

function assertCommon(o: { batchSize: number; numClasses: number; alpha: number }): void {
  assertInteger('batchSize', o.batchSize, 1);
  assertInteger('numClasses', o.numClasses, 2);
  assertAlpha(o.alpha);
}

/**
 * Calls the sampler on draws [first, first + total) in chunks of at most batchSize, checks each answer against the
 * Sampler contract and adds it into `counts`; stops at the sampler's first failure and returns it. Shared by
 * fixed-N and sequential CERTIFY.
 */
export async function sampleInto<Err>(
  sampler: Sampler<Err>,
  counts: number[],
  phase: BatchProgress['phase'],
  first: number,
  total: number,
  batchSize: number,
  onBatch: ((p: BatchProgress) => void) | undefined,
  progress: { readonly doneBefore: number; readonly totalInPhase: number } = { doneBefore: 0, totalInPhase: total },
): Promise<E.Either<Err, void>> {
  const numClasses = counts.length;
  let done = 0;
  while (done < total) {
    const count = Math.min(batchSize, total - done);
    const req: DrawRequest = { firstDraw: first + done, count };
    const answer = await sampler(req);
    if (E.isLeft(answer)) return answer;
    const got = answer.right;
    const range = `${req.firstDraw}..${req.firstDraw + count - 1}`;
    if (got == null || got.length !== numClasses) {
      throw new DensePureMathError(
        'sampler-contract',
        `sampler returned ${got == null ? String(got) : `${got.length} counts`} for draws ${range}; ` +
          `it must return numClasses = ${numClasses} counts`,
      );
    }
    let sum = 0;
    for (let c = 0; c < numClasses; c++) {
      const v = got[c]!;
      if (!Number.isInteger(v) || v < 0) {
        throw new DensePureMathError(
          'sampler-contract',
          `sampler returned count ${String(v)} for class ${c}; counts must be non-negative integers`,
        );
      }
      sum += v;
    }
    if (sum !== count) {
      throw new DensePureMathError(
        'sampler-contract',
        `sampler returned counts summing to ${sum} for ${count} draws (${range}); each draw must contribute exactly one vote`,
      );
    }
    for (let c = 0; c < numClasses; c++) counts[c]! += got[c]!;
    done += count;
    onBatch?.({ phase, firstDraw: req.firstDraw, count, doneInPhase: progress.doneBefore + done, totalInPhase: progress.totalInPhase });
  }
  return E.right(undefined);
}

async function sampleCounts<Err>(
  sampler: Sampler<Err>,
  phase: BatchProgress['phase'],
  first: number,
  total: number,
  batchSize: number,
  numClasses: number,
  onBatch: ((p: BatchProgress) => void) | undefined,
): Promise<E.Either<Err, number[]>> {
  const counts = new Array<number>(numClasses).fill(0);
  const sampled = await sampleInto(sampler, counts, phase, first, total, batchSize, onBatch);
  return E.isLeft(sampled) ? sampled : E.right(counts);
}

/** Index of the largest count; ties go to the smallest label (numpy argmax semantics). */
export function argmax(counts: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < counts.length; i++) if (counts[i]! > counts[best]!) best = i;
  return best;
}

/**
 * CERTIFY of Cohen, Rosenfeld & Kolter (2019), as locuslab/smoothing `Smooth.certify`.
 *
 * Selection: draws [0, n0) -> cAHat = argmax of the counts (ties: smallest label, as numpy's argmax).
 * Estimation: draws [n0, n0 + n) -> nA = count of cAHat, pA = clopperPearsonLower(nA, n, alpha).
 * Certified with radius sigma * Phi^{-1}(pA) when pA > 0.5, else abstain (the paper's rule; the reference
 * code abstains only when pA < 0.5, which differs only at pA = 0.5 exactly, where the radius would be 0).
 * The sampler is called sequentially with at most `batchSize` draws per call; its first failure is returned as
 * is (Left), with no further calls. Throws `invalid-argument` for bad options and `sampler-contract` for
 * malformed sampler output (both programmer errors: check settings first, return well-formed counts).
 */
export async function certify<Err>(sampler: Sampler<Err>, options: CertifyOptions): Promise<E.Either<Err, CertifyResult>> {
  const { sigma, n0, n, alpha, batchSize, numClasses, onBatch } = options;
  if (typeof sigma !== 'number' || !(sigma > 0) || !Number.isFinite(sigma)) {
    throw new DensePureMathError('invalid-argument', `sigma must be a finite number > 0, got ${String(sigma)}`);
  }
  assertInteger('n0 (selection draws)', n0, 1);
  assertInteger('n (estimation draws)', n, 1);
  assertCommon({ batchSize, numClasses, alpha });
  if (n0 + n > 2 ** 32) {
    throw new DensePureMathError('invalid-argument', `n0 + n = ${n0 + n} exceeds 2^32 draws (the RNG's draw index range)`);
  }
  const selection = await sampleCounts(sampler, 'selection', 0, n0, batchSize, numClasses, onBatch);
  if (E.isLeft(selection)) return selection;
  const label = argmax(selection.right);
  const estimation = await sampleCounts(sampler, 'estimation', n0, n, batchSize, numClasses, onBatch);
  if (E.isLeft(estimation)) return estimation;
  const nA = estimation.right[label]!;
  const pA = clopperPearsonLower(nA, n, alpha);
  const counts = { selection: selection.right, estimation: estimation.right };
  if (!(pA > 0.5)) return E.right({ kind: 'abstain', reason: 'pA<=0.5', label, pA, nA, counts });
  return E.right({ kind: 'certified', label, radius: sigma * normalQuantile(pA), pA, nA, counts });
}

/**
 * PREDICT of Cohen et al. (2019), as locuslab/smoothing `Smooth.predict`: draws [0, n); take the two
 * largest counts nA >= nB (ties: smaller label ranks first) and predict the top label unless
 * binomialTestTwoSided(nA, nA + nB, 0.5) > alpha, in which case abstain. Failures and throws as {@link certify}.
 */
export async function predict<Err>(sampler: Sampler<Err>, options: PredictOptions): Promise<E.Either<Err, PredictResult>> {
  const { n, alpha, batchSize, numClasses, onBatch } = options;
  assertInteger('n (draws)', n, 1);
  assertCommon({ batchSize, numClasses, alpha });
  const sampled = await sampleCounts(sampler, 'estimation', 0, n, batchSize, numClasses, onBatch);
  if (E.isLeft(sampled)) return sampled;
  const counts = sampled.right;
  const order = counts.map((_, i) => i).sort((a, b) => counts[b]! - counts[a]! || a - b);
  const label = order[0]!;
  const nA = counts[label]!;
  const nB = counts[order[1]!]!;
  const pValue = binomialTestTwoSided(nA, nA + nB, 0.5);
  if (pValue > alpha) return E.right({ kind: 'abstain', reason: 'pValue>alpha', label, pValue, counts });
  return E.right({ kind: 'predicted', label, pValue, counts });
}

// Fixed N in parts: an image's N0 + N draws counted in separate jobs (queue workers) and added up. Exact, because
// every draw is addressed (seed, image, draw) and the counts over disjoint draw ranges add up to the counts over
// their union; the decision is core's certify reading the merged counts back.
import { either as E, function as F } from 'fp-ts';
import type { BackendError } from '@densepure/backend';
import { type CertifyResult, type Sampler, certify } from '@densepure/core';
import type { EvaluationTally } from '@densepure/voting';
import type { RowCost } from '../accounting.js';
import { drawsPerBatch } from '../batch.js';
import type { ImageResult, ImageSettings } from '../image.js';
import type { Pipeline } from '../pipeline.js';
import { certifyRow } from '../tsv.js';
import { countInto } from './counting.js';

/** Draws first .. first + count - 1 of one image (absolute draw indices, as the counter-based RNG addresses them). */
export interface DrawRange {
  readonly first: number;
  readonly count: number;
}

/** One certify job: some draw ranges of one image; the worker returns per-class vote counts for each range. */
export interface DrawsPart {
  readonly ranges: readonly DrawRange[];
}

/** A worker's answer to a DrawsPart: counts[r][c] = votes for class c over ranges[r]. */
export interface DrawsResult {
  readonly counts: readonly (readonly number[])[];
}

/** Per-class vote counts of both CERTIFY phases of one image. */
export interface PhaseCounts {
  readonly selection: number[];
  readonly estimation: number[];
}

function chunks(first: number, count: number, size: number): DrawRange[] {
  const out: DrawRange[] = [];
  for (let d = 0; d < count; d += size) out.push({ first: first + d, count: Math.min(size, count - d) });
  return out;
}

/**
 * How an image's CERTIFY draws are split into jobs: one job with both phases (selection [0, n0), estimation
 * [n0, n0 + n)) when they fit in `maxDrawsPerJob` (or no maximum is given), else each phase in chunks of at most
 * `maxDrawsPerJob` draws, one chunk per job. Chunks never straddle the phase boundary, and together they cover
 * every draw exactly once, so summing their counts gives exactly the single-process counts.
 */
export function planDraws(n0: number, n: number, maxDrawsPerJob?: number): DrawsPart[] {
  if (maxDrawsPerJob === undefined || n0 + n <= maxDrawsPerJob) return [{ ranges: [{ first: 0, count: n0 }, { first: n0, count: n }] }];
  return [...chunks(0, n0, maxDrawsPerJob), ...chunks(n0, n, maxDrawsPerJob)].map((range) => ({ ranges: [range] }));
}

/** Checks a worker's value against the part it answers (shape, whole non-negative counts, one vote per draw). */
export function parseDrawsResult(value: unknown, part: DrawsPart, numClasses: number): DrawsResult | null {
  if (value === null || typeof value !== 'object' || !Array.isArray((value as DrawsResult).counts)) return null;
  const counts = (value as DrawsResult).counts;
  if (counts.length !== part.ranges.length) return null;
  for (const [r, row] of counts.entries()) {
    if (!Array.isArray(row) || row.length !== numClasses) return null;
    let sum = 0;
    for (const v of row) {
      if (!Number.isInteger(v) || v < 0) return null;
      sum += v;
    }
    if (sum !== part.ranges[r]!.count) return null;
  }
  return { counts };
}

/** An image's parts that do not add up to its draws (a worker or a queue broke the protocol). */
export interface PartsError {
  readonly kind: 'parts-do-not-tile';
  readonly message: string;
}

const partsError = (message: string): PartsError => ({ kind: 'parts-do-not-tile', message });

/**
 * Adds up the counts of an image's parts into the two CERTIFY phases. Exact: counts over disjoint addressed
 * draw ranges add up to the counts over their union. Left when the ranges do not tile [0, n0 + n) exactly.
 */
export function mergeDraws(parts: readonly DrawsPart[], results: readonly DrawsResult[], n0: number, n: number, numClasses: number): E.Either<PartsError, PhaseCounts> {
  const selection = new Array<number>(numClasses).fill(0);
  const estimation = new Array<number>(numClasses).fill(0);
  const covered: DrawRange[] = [];
  for (const [p, part] of parts.entries()) {
    for (const [r, range] of part.ranges.entries()) {
      const into = range.first + range.count <= n0 ? selection : range.first >= n0 ? estimation : null;
      if (into === null) return E.left(partsError(`draw range ${range.first}..${range.first + range.count - 1} straddles the selection/estimation boundary at ${n0}`));
      const counts = results[p]?.counts[r];
      if (counts === undefined) return E.left(partsError(`no counts for draw range ${range.first}..${range.first + range.count - 1}`));
      for (let c = 0; c < numClasses; c++) into[c]! += counts[c]!;
      covered.push(range);
    }
  }
  covered.sort((a, b) => a.first - b.first);
  let next = 0;
  for (const r of covered) {
    if (r.first !== next) return E.left(partsError(`draw ranges do not tile 0..${n0 + n - 1}: expected draw ${next} next, got ${r.first}`));
    next += r.count;
  }
  if (next !== n0 + n) return E.left(partsError(`draw ranges cover ${next} draws, not n0 + n = ${n0 + n}`));
  return E.right({ selection, estimation });
}

/**
 * CERTIFY's decision from merged counts, by core's own `certify` reading them back (batch = a whole phase), so
 * the label, pA and radius are exactly those of a single-process run that drew the same counts.
 */
export async function certifyFromCounts(counts: PhaseCounts, o: { readonly sigma: number; readonly alpha: number; readonly n0: number; readonly n: number }): Promise<CertifyResult> {
  // Replaying counts cannot fail: the sampler's error type is never.
  const replay: Sampler = async (req) =>
    E.right(req.firstDraw === 0 && req.count === o.n0 ? counts.selection : req.firstDraw === o.n0 && req.count === o.n ? counts.estimation : []);
  const certified = await certify(replay, { sigma: o.sigma, alpha: o.alpha, n0: o.n0, n: o.n, batchSize: Math.max(o.n0, o.n), numClasses: counts.selection.length });
  return F.pipe(certified, E.getOrElse<never, CertifyResult>(F.absurd));
}

/** What counting some draw ranges of an image cost and found: per wanted method, per range, per class votes. */
export interface CountedParts {
  readonly counts: readonly DrawsResult[];
  readonly evaluations: EvaluationTally;
}

/** Counts of every wanted method over each range, the methods' samplers called side by side as certify calls them. */
export async function countDrawRanges(
  pipeline: Pipeline,
  settings: Pick<ImageSettings, 'batch' | 'models'>,
  idx: number,
  wanted: readonly number[],
  ranges: readonly DrawRange[],
): Promise<E.Either<BackendError, CountedParts>> {
  const { image } = pipeline.dataset.get(idx);
  const tally: EvaluationTally = { denoiser: 0, classifier: 0 };
  const site = { group: pipeline.group, image, idx, chunk: drawsPerBatch(settings.batch, pipeline.methods, settings.models.workers), tally };
  const numClasses = pipeline.group.members[0]!.numClasses;
  const counts = wanted.map(() => [] as number[][]);
  for (const range of ranges) {
    const sums = wanted.map(() => new Array<number>(numClasses).fill(0));
    const counted = await countInto(site, wanted, range.first, range.count, sums);
    if (E.isLeft(counted)) return counted;
    for (const [w, sum] of sums.entries()) counts[w]!.push(sum);
  }
  return E.right({ counts: counts.map((c) => ({ counts: c })), evaluations: { ...tally } });
}

/**
 * An image's rows and costs from the counts of its parts (`answers[p]` counts `parts[p]`), exactly those of a
 * single process: the merged counts decide, and the parts' evaluations add up (each draw was evaluated once).
 */
export async function imageFromParts(
  settings: Pick<ImageSettings, 'sigma' | 'alpha' | 'n0' | 'n'>,
  sample: { readonly label: number },
  idx: number,
  numClasses: number,
  parts: readonly DrawsPart[],
  answers: readonly CountedParts[],
  seconds: number,
): Promise<E.Either<PartsError, ImageResult>> {
  const evaluations = { denoiser: 0, classifier: 0 };
  for (const a of answers) {
    evaluations.denoiser += a.evaluations.denoiser;
    evaluations.classifier += a.evaluations.classifier;
  }
  const methods = answers[0]?.counts.length ?? 0;
  const rows = [];
  for (let w = 0; w < methods; w++) {
    const merged = mergeDraws(parts, answers.map((a) => a.counts[w]!), settings.n0, settings.n, numClasses);
    if (E.isLeft(merged)) return E.left(partsError(`image ${idx}: ${merged.left.message}`));
    const result = await certifyFromCounts(merged.right, settings);
    rows.push(certifyRow(sample, idx, result.label, result.kind === 'certified' ? result.radius : null, seconds));
  }
  const costs: RowCost[] = rows.map(() => ({ idx, draws: { selection: settings.n0, estimation: settings.n }, evaluations: { ...evaluations } }));
  return E.right({ rows, costs });
}

import { either as E, function as F } from 'fp-ts';
import { type CertifyResult, type Sampler, certify } from '@densepure/core';

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

/**
 * Adds up the counts of an image's parts into the two CERTIFY phases. Exact: counts over disjoint addressed
 * draw ranges add up to the counts over their union. Left when the ranges do not tile [0, n0 + n) exactly.
 */
export function mergeDraws(parts: readonly DrawsPart[], results: readonly DrawsResult[], n0: number, n: number, numClasses: number): E.Either<string, PhaseCounts> {
  const selection = new Array<number>(numClasses).fill(0);
  const estimation = new Array<number>(numClasses).fill(0);
  const covered: DrawRange[] = [];
  for (const [p, part] of parts.entries()) {
    for (const [r, range] of part.ranges.entries()) {
      const into = range.first + range.count <= n0 ? selection : range.first >= n0 ? estimation : null;
      if (into === null) return E.left(`draw range ${range.first}..${range.first + range.count - 1} straddles the selection/estimation boundary at ${n0}`);
      const counts = results[p]?.counts[r];
      if (counts === undefined) return E.left(`no counts for draw range ${range.first}..${range.first + range.count - 1}`);
      for (let c = 0; c < numClasses; c++) into[c]! += counts[c]!;
      covered.push(range);
    }
  }
  covered.sort((a, b) => a.first - b.first);
  let next = 0;
  for (const r of covered) {
    if (r.first !== next) return E.left(`draw ranges do not tile 0..${n0 + n - 1}: expected draw ${next} next, got ${r.first}`);
    next += r.count;
  }
  if (next !== n0 + n) return E.left(`draw ranges cover ${next} draws, not n0 + n = ${n0 + n}`);
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

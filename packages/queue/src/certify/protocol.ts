// What travels through the queue for a certify run: the spec a worker opens its pipeline from, the run identity
// it must match, one job per image (or per image and draw range) and the worker's answer.
import { type CertifyRow, type CountedParts, type DrawRange, type Method, type RowCost, type RunIdentity, type RunSpec, parseDrawsResult, parseRowCost } from '@densepure/runner';

/** The run as a worker needs it: the RunSpec without output paths and provenance, the methods in run order. */
export type WorkerSpec = Omit<RunSpec, 'runs' | 'provenance'> & { readonly methods: readonly Method[] };

export const workerSpecOf = (spec: RunSpec): WorkerSpec => {
  const { runs, provenance: _provenance, ...rest } = spec;
  return { ...rest, methods: runs.map((r) => r.method) };
};

/**
 * One identity for the queue from the identities of a run's methods (one, or several on shared draws): the
 * identity itself for one method, else each method's fields under `<slug>.`, so a refusal names the field.
 */
export function queueIdentity(identities: readonly RunIdentity[]): Record<string, unknown> {
  if (identities.length === 1) return { ...identities[0]! };
  return Object.fromEntries(identities.flatMap((id) => Object.entries(id).map(([k, v]) => [`${id.method}.${k}`, v])));
}

/** A job: the runs (methods) that still lack this image, and the draw ranges to count (none: the whole image). */
export interface CertifyPart {
  readonly wanted: readonly number[];
  readonly ranges?: readonly DrawRange[];
}

/** A whole image: its rows and their costs, one each per wanted method (the runner's certifyImageCosted). */
export interface ImageAnswer {
  readonly rows: readonly CertifyRow[];
  readonly costs: readonly RowCost[];
}

/** Some draw ranges of an image: per wanted method, per range, per class vote counts; and what they cost (the runner's countDrawRanges). */
export type DrawsAnswer = CountedParts;

export type CertifyAnswer = ImageAnswer | DrawsAnswer;

const isRow = (r: unknown, idx: number): r is CertifyRow => {
  if (r === null || typeof r !== 'object') return false;
  const row = r as Record<string, unknown>;
  return row.idx === idx && Number.isInteger(row.label) && Number.isInteger(row.predict) && typeof row.radius === 'number' && (row.correct === 0 || row.correct === 1) && typeof row.seconds === 'number';
};

/** Checks a worker's answer to `part` of image `idx`; null when it does not fit. */
export function parseCertifyAnswer(value: unknown, idx: number, part: CertifyPart, numClasses: number): CertifyAnswer | null {
  if (value === null || typeof value !== 'object') return null;
  if (part.ranges === undefined) {
    const { rows, costs } = value as ImageAnswer;
    if (!Array.isArray(rows) || rows.length !== part.wanted.length || !rows.every((r) => isRow(r, idx))) return null;
    if (!Array.isArray(costs) || costs.length !== part.wanted.length) return null;
    const parsedCosts = costs.map(parseRowCost);
    return parsedCosts.every((c) => c !== null && c.idx === idx) ? { rows, costs: parsedCosts as RowCost[] } : null;
  }
  const { counts, evaluations } = value as DrawsAnswer;
  if (!Array.isArray(counts) || counts.length !== part.wanted.length || !isEvaluations(evaluations)) return null;
  const parsed = counts.map((c) => parseDrawsResult(c, { ranges: part.ranges! }, numClasses));
  return parsed.every((c) => c !== null) ? { counts: parsed as CountedParts['counts'], evaluations: { denoiser: evaluations.denoiser, classifier: evaluations.classifier } } : null;
}

const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;
const isEvaluations = (e: unknown): e is CountedParts['evaluations'] =>
  e !== null && typeof e === 'object' && isCount((e as CountedParts['evaluations']).denoiser) && isCount((e as CountedParts['evaluations']).classifier);

/** What a job of a run may ask for: images of its slice, draws below N0 + N, methods of the run. */
export interface PartLimits {
  readonly images: ReadonlySet<number>;
  /** N0 + N. */
  readonly draws: number;
  readonly methods: number;
  /** Whether an image's draws may come in ranges (fixed N; a sequential image decides after each round: one job). */
  readonly splittable: boolean;
}

const isWhole = (v: unknown, min: number): v is number => Number.isInteger(v) && (v as number) >= min;

/**
 * Why a job's part does not fit its run (null: it does). A worker checks each job before computing it: a job
 * edited in Redis could otherwise ask for any image or any number of draws.
 */
export function partProblem(idx: number, part: unknown, limits: PartLimits): string | null {
  if (!limits.images.has(idx)) return `image ${idx} is not in the run's slice of the dataset`;
  if (part === null || typeof part !== 'object') return 'it has no part';
  const { wanted, ranges } = part as Partial<CertifyPart>;
  if (!Array.isArray(wanted) || wanted.length === 0) return 'it names no methods (wanted)';
  if (!wanted.every((w) => isWhole(w, 0) && w < limits.methods) || new Set(wanted).size !== wanted.length) {
    return `its methods (wanted ${JSON.stringify(wanted).slice(0, 80)}) are not distinct indices below the run's ${limits.methods}`;
  }
  if (ranges === undefined) return null;
  if (!limits.splittable) return "it splits an image's draws, which this run's mode decides after each round";
  if (!Array.isArray(ranges) || ranges.length === 0) return 'its draw ranges are not a list';
  let total = 0;
  for (const r of ranges as unknown[]) {
    const { first, count } = (r ?? {}) as { first?: unknown; count?: unknown };
    if (!isWhole(first, 0) || !isWhole(count, 1) || first + count > limits.draws) return `a draw range is not within the run's N0 + N = ${limits.draws} draws`;
    total += count;
  }
  return total > limits.draws ? `its draw ranges ask for ${total} draws, more than the run's N0 + N = ${limits.draws}` : null;
}

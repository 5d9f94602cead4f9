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

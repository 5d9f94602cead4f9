import { createHash } from 'node:crypto';
import { canonicalJson } from './identity.js';
/** The data of one BullMQ job: one part of one item (an image, or a draw range of it) of one run. */
export interface JobData<P> {
  readonly runId: string;
  /** The run identity's sha256: a worker serves a job only when it equals the identity it checked. */
  readonly identitySha: string;
  readonly idx: number;
  readonly part: number;
  readonly parts: number;
  readonly payload: P;
}

/** What a worker returns for a job: the handler's value and who computed it how fast. */
export interface PartResult<R> {
  readonly value: R;
  readonly worker: string;
  /** Compute time of the part on the worker, seconds. */
  readonly seconds: number;
}

/**
 * Deterministic job ids make enqueueing idempotent: re-adding a part that exists (waiting, active, done) is a
 * no-op. The id carries a hash of the part's payload, so a coordinator restarted with another split (or a part
 * whose payload changed) never takes an old job's result for a new part.
 */
export const jobIdOf = (idx: number, part: number, payload: unknown): string =>
  `i${idx}p${part}-${createHash('sha256').update(canonicalJson(payload ?? null)).digest('hex').slice(0, 12)}`;

export function parseJobId(id: string): { readonly idx: number; readonly part: number } | null {
  const m = /^i(\d+)p(\d+)-[0-9a-f]{12}$/.exec(id);
  return m === null ? null : { idx: Number(m[1]), part: Number(m[2]) };
}

/** Checks the envelope of a returned value (the caller checks the value itself). */
export function asPartResult(raw: unknown): PartResult<unknown> | null {
  const v = typeof raw === 'string' ? safeParse(raw) : raw;
  if (v === null || typeof v !== 'object') return null;
  const r = v as Record<string, unknown>;
  if (typeof r.worker !== 'string' || typeof r.seconds !== 'number' || !('value' in r)) return null;
  return { value: r.value, worker: r.worker, seconds: r.seconds };
}

const safeParse = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
};

/** Timings of the queue layer. The defaults suit long jobs (minutes); tests shorten them. */
export interface QueueTuning {
  /** Tries per job when the compute throws (a stall is counted separately). */
  readonly attempts: number;
  /** How long a worker's lock on a job lasts without renewal (renewed every half of it while alive), ms. */
  readonly lockMs: number;
  /** How often workers look for jobs whose worker died (lock expired), ms. */
  readonly stalledCheckMs: number;
  /** How often one job may be recovered from a dead worker before it counts as failed. */
  readonly maxStalled: number;
  /** How often the coordinator checks every outstanding job (results missed as events, jobs lost with Redis), ms. */
  readonly sweepMs: number;
  /** How often a worker looks for runs to serve, ms. */
  readonly pollMs: number;
  /** How long Redis may stay away during a run before the coordinator gives up (resumable), ms. */
  readonly outageMs: number;
  /** How long the first connection may take before Redis counts as unreachable, ms. */
  readonly connectTimeoutMs: number;
  /** Lifetime of the coordinator's lease on a run (renewed every third of it), ms. */
  readonly leaseMs: number;
  /** How long a worker keeps to its refusal of a run before it checks the run again (its machine may be fixed meanwhile), ms. */
  readonly refusalRetryMs: number;
  /**
   * How long workers keep computing a run whose coordinator is gone (killed, stopped, or the run finished another
   * way), ms: long enough for a restarted coordinator to take over, after which they leave the run until one does.
   */
  readonly orphanMs: number;
  /** How long a stopped worker lets its job in progress run on before it gives the job up (for another worker), ms. */
  readonly stopGraceMs: number;
}

export const DEFAULT_TUNING: QueueTuning = {
  attempts: 3,
  lockMs: 30_000,
  stalledCheckMs: 15_000,
  maxStalled: 5,
  sweepMs: 2_000,
  pollMs: 1_000,
  outageMs: 300_000,
  connectTimeoutMs: 3_000,
  leaseMs: 10_000,
  refusalRetryMs: 60_000,
  orphanMs: 60_000,
  stopGraceMs: 10_000,
};

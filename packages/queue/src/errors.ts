/**
 * What can go wrong in the queue layer, as data (the house convention: tagged unions through Either/TaskEither,
 * messages that name what is wrong and what to do, never a CLI flag). The apps turn these into text and exit codes.
 */
export type QueueError =
  | { readonly kind: 'queue-url-invalid'; readonly message: string; readonly url: string }
  | { readonly kind: 'queue-unreachable'; readonly message: string; readonly url: string }
  /** Redis went away during a run and did not come back within the outage limit. */
  | { readonly kind: 'queue-lost'; readonly message: string; readonly url: string }
  /** Another coordinator holds this run (the same identity) and kept holding it. */
  | { readonly kind: 'queue-run-busy'; readonly message: string; readonly holder: string }
  /** A job failed on every attempt (or stalled too often); the run stops, rows written so far stay. */
  | { readonly kind: 'queue-job-failed'; readonly message: string; readonly idx: number; readonly part: number; readonly reason: string }
  /** A worker returned something that is not a result of this run's kind. */
  | { readonly kind: 'queue-bad-result'; readonly message: string; readonly idx: number; readonly part: number }
  /** The coordinator was stopped (a signal) before the last item; what was written stays, a rerun resumes. */
  | { readonly kind: 'queue-interrupted'; readonly message: string; readonly done: number; readonly of: number }
  /** A setting the queue cannot honour for this run (named as the library names it; the apps translate). */
  | { readonly kind: 'queue-bad-setting'; readonly message: string; readonly setting: string }
  /** The caller's handler for an ordered item failed (e.g. writing a row). */
  | { readonly kind: 'queue-consumer-failed'; readonly message: string; readonly idx: number; readonly cause: unknown };

export const describeCause = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause));

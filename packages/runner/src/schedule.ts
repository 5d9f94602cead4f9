// Where the pending images of a certify run get certified. The run loop around a scheduler (identity, resume,
// TSVs, sidecars: run.ts) stays the same, so any scheduler writes exactly what a local run writes.
import { either as E } from 'fp-ts';
import type { RowCost } from './accounting.js';
import type { RunError } from './errors.js';
import type { RunIdentity } from './identity.js';
import type { ImageResult } from './image.js';
import { modeOf } from './modes/index.js';
import type { Pipeline } from './pipeline.js';
import type { RunSpec } from './spec.js';
import type { CertifyRow } from './tsv.js';

/** An image some runs still lack: `wanted` indexes `spec.runs` (and `pipeline.methods`). */
export interface PendingImage {
  readonly idx: number;
  readonly wanted: readonly number[];
}

/** What a scheduler gets: the open pipeline, every run's identity, the pending images in index order. */
export interface SchedulerContext {
  readonly spec: RunSpec;
  readonly pipeline: Pipeline;
  /** `identities[i]` is the identity of `spec.runs[i]`. */
  readonly identities: readonly RunIdentity[];
  readonly pending: readonly PendingImage[];
  /** Images of the slice every run already has. */
  readonly resumedImages: number;
  readonly onDraws?: (done: number) => void;
  /** Hands over an image's rows (one per wanted run, in `wanted` order); call it once per pending image, in order. */
  readonly emit: (idx: number, rows: readonly CertifyRow[], costs?: readonly RowCost[]) => void;
}

/**
 * Certifies the pending images and emits their rows in order. Default: in this process, as the run's mode
 * schedules them ({@link localScheduler}); @densepure/queue spreads them over workers.
 */
export type ImageScheduler<L> = (context: SchedulerContext) => Promise<E.Either<RunError | L, void>>;

/** In this process, as the run's mode schedules its images (fixed N one after the other, sequential grouped). */
export const localScheduler: ImageScheduler<never> = (context) => modeOf(context.spec.mode).certifyLocally(context);

/** Certifies one pending image. */
export type CertifyPending = (image: PendingImage) => Promise<E.Either<RunError, ImageResult>>;

/** One image after the other, each emitted as soon as it is done. */
export async function inTurn(context: SchedulerContext, certifyOne: CertifyPending): Promise<E.Either<RunError, void>> {
  for (const image of context.pending) {
    const result = await certifyOne(image);
    if (E.isLeft(result)) return result;
    context.emit(image.idx, result.right.rows, result.right.costs);
  }
  return E.right(undefined);
}

/**
 * Wall time shared out among the images in flight: while n images are in flight, each is charged 1/n of the time
 * that passes. An image's charge is its share of the run's time, and the charges add up to the wall time the
 * images took together (an image's own start-to-stop time would count the same seconds once per image in flight).
 */
export class SharedClock {
  private last = performance.now();
  private readonly charged = new Map<number, number>();

  private advance(): void {
    const now = performance.now();
    const share = (now - this.last) / 1000 / Math.max(1, this.charged.size);
    for (const [id, seconds] of this.charged) this.charged.set(id, seconds + share);
    this.last = now;
  }

  start(id: number): void {
    this.advance();
    this.charged.set(id, 0);
  }

  /** The seconds charged to `id` since its start. */
  stop(id: number): number {
    this.advance();
    const seconds = this.charged.get(id) ?? 0;
    this.charged.delete(id);
    return seconds;
  }
}

/**
 * Up to `size` images in flight: when one finishes the next starts, so the models stay busy. Rows are still
 * emitted in index order, each as soon as every earlier image is emitted; a failure lets the images in flight
 * finish and emits what precedes it. A row's time is its image's share of the wall time ({@link SharedClock}),
 * so the rows' times add up to the time the run took, as they do for images certified one after the other.
 */
export async function concurrently(context: SchedulerContext, size: number, certifyOne: CertifyPending): Promise<E.Either<RunError, void>> {
  const { pending } = context;
  const results = new Map<number, ImageResult>();
  const clock = new SharedClock();
  let next = 0;
  let written = 0;
  let failure: RunError | null = null;
  const worker = async (): Promise<void> => {
    while (failure === null && next < pending.length) {
      const at = next++;
      clock.start(at);
      const result = await certifyOne(pending[at]!);
      const seconds = clock.stop(at);
      if (E.isLeft(result)) {
        failure ??= result.left;
        return;
      }
      results.set(at, { ...result.right, rows: result.right.rows.map((row) => ({ ...row, seconds })) });
      for (let done = results.get(written); done !== undefined; done = results.get(written)) {
        results.delete(written);
        context.emit(pending[written]!.idx, done.rows, done.costs);
        written += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(size, pending.length) }, worker));
  return failure === null ? E.right(undefined) : E.left(failure);
}

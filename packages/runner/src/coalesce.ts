// Model calls of several images merged into full batches. Sequential CERTIFY spends few draws per image per
// round, so one image's model calls are small; with several images in flight, their calls that are pending at the
// same moment go to the model as one call of up to `batchSize` rows, at most `concurrency` calls at once (one per
// worker). Every row's output depends on that row's input only (the models are row-independent and every random
// number is addressed by seed, image, draw, vote and step), so the grouping changes speed, never a result.
import { either as E, taskEither as TE } from 'fp-ts';
import type { BackendError, Classifier, Denoiser, DenoiserOutput } from '@densepure/backend';

export interface Coalescing {
  /** Most rows per merged model call. */
  readonly batchSize: number;
  /** Merged calls in flight at once. */
  readonly concurrency: number;
}

interface Request<I, O> {
  readonly input: I;
  readonly rows: number;
  readonly done: (out: E.Either<BackendError, O>) => void;
}

/**
 * A queue that merges requests of `rows` rows into calls of at most `batchSize` rows. Requests wait until the
 * event loop has run every continuation that is ready (setImmediate), so the images whose last call just came
 * back have queued their next one; a call goes out as soon as a worker is free.
 */
function mergingQueue<I, O>(options: Coalescing, call: (parts: readonly Request<I, O>[]) => Promise<E.Either<BackendError, O[]>>) {
  const pending: Request<I, O>[] = [];
  let pendingRows = 0;
  let inFlight = 0;
  let scheduled = false;
  const dispatch = (): void => {
    while (inFlight < options.concurrency && pending.length > 0) {
      const parts: Request<I, O>[] = [];
      let rows = 0;
      while (pending.length > 0 && (parts.length === 0 || rows + pending[0]!.rows <= options.batchSize)) {
        const next = pending.shift()!;
        rows += next.rows;
        parts.push(next);
      }
      pendingRows -= rows;
      inFlight += 1;
      void call(parts)
        .then(
          (out) => parts.forEach((p, i) => p.done(E.isLeft(out) ? out : E.right(out.right[i]!))),
          (cause: unknown) => parts.forEach((p) => p.done(E.left({ kind: 'runtime-failure', message: cause instanceof Error ? cause.message : String(cause) }))),
        )
        .finally(() => {
          inFlight -= 1;
          schedule();
        });
    }
  };
  const schedule = (): void => {
    if (scheduled || pending.length === 0) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      dispatch();
    });
  };
  return (input: I, rows: number): Promise<E.Either<BackendError, O>> =>
    new Promise((resolve) => {
      pending.push({ input, rows, done: resolve });
      pendingRows += rows;
      // A full batch need not wait for more.
      if (pendingRows >= options.batchSize) dispatch();
      schedule();
    });
}

function concat(parts: readonly Float32Array[]): Float32Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Row blocks of `whole` cut back into the parts' shares (views, no copy). */
function split(whole: Float32Array, rows: readonly number[]): Float32Array[] {
  const total = rows.reduce((n, r) => n + r, 0);
  const width = total === 0 ? 0 : whole.length / total;
  let o = 0;
  return rows.map((r) => {
    const part = whole.subarray(o * width, (o + r) * width);
    o += r;
    return part;
  });
}

/** The denoiser with its calls merged across concurrent callers. */
export function coalescedDenoiser(denoiser: Denoiser, options: Coalescing): Denoiser {
  const pixels = denoiser.metadata.inputShape.reduce((n, d) => n * d, 1);
  const enqueue = mergingQueue<{ x: Float32Array; t: ArrayLike<number> }, DenoiserOutput>(options, async (parts) => {
    const rows = parts.map((p) => p.rows);
    const timesteps = new Int32Array(rows.reduce((n, r) => n + r, 0));
    let o = 0;
    for (const p of parts) {
      timesteps.set(Array.from(p.input.t), o);
      o += p.rows;
    }
    const out = await denoiser.run(concat(parts.map((p) => p.input.x)), timesteps)();
    if (E.isLeft(out)) return out;
    const eps = split(out.right.eps, rows);
    const v = out.right.v === null ? null : split(out.right.v, rows);
    return E.right(rows.map((_, i) => ({ eps: eps[i]!, v: v === null ? null : v[i]! })));
  });
  return {
    metadata: denoiser.metadata,
    run: (x, timesteps) => () => enqueue({ x, t: timesteps }, x.length / pixels),
    dispose: () => Promise.resolve(),
  };
}

/** The classifier with its calls merged across concurrent callers. */
export function coalescedClassifier(classifier: Classifier, options: Coalescing): Classifier {
  const enqueue = mergingQueue<Float32Array, Float32Array>(options, async (parts) => {
    const rows = parts.map((p) => p.rows);
    const total = rows.reduce((n, r) => n + r, 0);
    const out = await classifier.run(concat(parts.map((p) => p.input)), total)();
    return E.isLeft(out) ? out : E.right(split(out.right, rows));
  });
  return {
    metadata: classifier.metadata,
    run: (x, batch): TE.TaskEither<BackendError, Float32Array> => () => enqueue(x, batch),
    dispose: () => Promise.resolve(),
  };
}

import { either as E, type taskEither as TE } from 'fp-ts';

/** How model calls are cut: at most `batchSize` rows per call, at most `concurrency` calls in flight. */
export interface Batching {
  readonly batchSize: number;
  readonly concurrency: number;
}

/** One output of a model call, a row-major block of `rows * (length / rows)` values (or absent). */
export type Column = Float32Array | Int32Array | null;

/**
 * Runs `tasks` with at most `limit` in flight, keeping results in order. After a task fails no new one starts;
 * the first failure comes back once the calls in flight have returned.
 */
async function inPool<Err, A>(tasks: readonly TE.TaskEither<Err, A>[], limit: number): Promise<E.Either<Err, A[]>> {
  const results = new Array<A>(tasks.length);
  let failure: E.Left<Err> | null = null;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (failure === null && next < tasks.length) {
      const i = next++;
      const result = await tasks[i]!();
      if (E.isLeft(result)) failure ??= result;
      else results[i] = result.right;
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return failure ?? E.right(results);
}

/** Row ranges [first, first + count) of at most `batchSize` rows covering 0 .. rows - 1. */
export function chunks(rows: number, batchSize: number): [number, number][] {
  const out: [number, number][] = [];
  for (let r = 0; r < rows; r += batchSize) out.push([r, Math.min(batchSize, rows - r)]);
  return out;
}

/** Joins the same column of every part, in order (a single part is returned as is, without a copy). */
function concatenate<C extends Column>(parts: readonly C[]): C {
  const first = parts[0]!;
  if (parts.length === 1 || first === null) return first;
  let length = 0;
  for (const p of parts) length += p!.length;
  const out = first instanceof Float32Array ? new Float32Array(length) : new Int32Array(length);
  let o = 0;
  for (const p of parts) {
    out.set(p!, o);
    o += p!.length;
  }
  return out as C;
}

/**
 * Runs a model on `rows` inputs: `call(first, count)` evaluates rows [first, first + count) and returns its
 * output columns; the calls are cut and pooled by `batching`, and each column comes back whole, in row order.
 * The first failed call's error comes back instead (no call starts after it).
 * The one batching path of the package: the denoiser (eps, v) and the classifier (labels) both use it.
 */
export function inBatches<Err, Cs extends readonly Column[]>(
  rows: number,
  batching: Batching,
  call: (first: number, count: number) => TE.TaskEither<Err, Cs>,
): TE.TaskEither<Err, Cs> {
  return async () => {
    const done = await inPool(
      chunks(rows, batching.batchSize).map(([first, count]): TE.TaskEither<Err, Cs> => () => call(first, count)()),
      batching.concurrency,
    );
    if (E.isLeft(done)) return done;
    const parts = done.right;
    if (parts.length === 1) return E.right(parts[0]!);
    return E.right(parts[0]!.map((_, column) => concatenate(parts.map((p) => p[column] as Column))) as unknown as Cs);
  };
}

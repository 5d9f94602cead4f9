/** How model calls are cut: at most `batchSize` rows per call, at most `concurrency` calls in flight. */
export interface Batching {
  readonly batchSize: number;
  readonly concurrency: number;
}

/** One output of a model call, a row-major block of `rows * (length / rows)` values (or absent). */
export type Column = Float32Array | Int32Array | null;

/** Runs `tasks` with at most `limit` in flight, keeping results in order. */
async function inPool<A>(tasks: readonly (() => Promise<A>)[], limit: number): Promise<A[]> {
  const results = new Array<A>(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
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
 * The one batching path of the package: the denoiser (eps, v) and the classifier (labels) both use it.
 */
export async function inBatches<Cs extends readonly Column[]>(rows: number, batching: Batching, call: (first: number, count: number) => Promise<Cs>): Promise<Cs> {
  const parts = await inPool(
    chunks(rows, batching.batchSize).map(([first, count]) => () => call(first, count)),
    batching.concurrency,
  );
  if (parts.length === 1) return parts[0]!;
  return parts[0]!.map((_, column) => concatenate(parts.map((p) => p[column] as Column))) as unknown as Cs;
}

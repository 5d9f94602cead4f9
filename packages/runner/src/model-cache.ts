// Models and datasets opened once and shared by the runs of one process (an eval grid, a benchmark, a queue
// worker): opening the shipped UNet's session costs about 0.5 s here, a dataset parse ~70 ms, which a run of a few
// hundred draws would otherwise pay each time.
import { either as E, taskEither as TE } from 'fp-ts';
import { type BackendError, type Classifier, type Denoiser, type LoadOptions, loadClassifier, loadDenoiser } from '@densepure/backend';
import type { Dataset } from '@densepure/datasets';
import type { RunError } from './errors.js';

interface Entry<T> {
  readonly value: T;
  readonly close: () => Promise<void>;
}

/**
 * Loads a model or dataset the first time a run names it (by path or spec and load options) and hands the same
 * open one to every later run; `dispose` closes them all. A failed load is not kept (the next run tries again).
 * Files are read when first opened: a model file replaced mid-process is not seen until a new cache.
 * Runs given a cache leave its models open; a run without one opens and closes its own.
 */
export interface ModelCache {
  denoiser(path: string, options: LoadOptions & { readonly backend?: string }): TE.TaskEither<BackendError, Denoiser>;
  classifier(path: string, options: LoadOptions & { readonly backend?: string }): TE.TaskEither<BackendError, Classifier>;
  dataset(spec: string, open: () => Promise<E.Either<RunError, Dataset>>): TE.TaskEither<RunError, Dataset>;
  /** How many models and datasets are open (for tests and logs). */
  readonly size: number;
  dispose(): Promise<void>;
}

export function createModelCache(): ModelCache {
  const entries = new Map<string, Promise<E.Either<unknown, Entry<unknown>>>>();
  let disposed = false;
  const keyOf = (kind: string, what: string, options?: object): string => JSON.stringify([kind, what, options ?? null]);
  const cached =
    <L, T>(key: string, open: () => Promise<E.Either<L, T>>, close: (t: T) => Promise<void>): TE.TaskEither<L, T> =>
    async () => {
      if (disposed) throw new Error('ModelCache used after dispose()');
      let entry = entries.get(key) as Promise<E.Either<L, Entry<T>>> | undefined;
      if (entry === undefined) {
        entry = open().then(E.map((value: T): Entry<T> => ({ value, close: () => close(value) })));
        entries.set(key, entry);
      }
      const result = await entry;
      if (E.isLeft(result)) {
        // Keep no failure: only the first caller's open is shared while it is pending.
        if (entries.get(key) === entry) entries.delete(key);
        return result;
      }
      return E.right(result.right.value);
    };
  return {
    denoiser: (path, options) => cached(keyOf('denoiser', path, options), () => loadDenoiser(path, options)(), (d) => d.dispose()),
    classifier: (path, options) => cached(keyOf('classifier', path, options), () => loadClassifier(path, options)(), (c) => c.dispose()),
    dataset: (spec, open) => cached(keyOf('dataset', spec), open, async () => undefined),
    get size() {
      return entries.size;
    },
    async dispose() {
      disposed = true;
      const open = [...entries.values()];
      entries.clear();
      for (const entry of open) {
        const result = await entry;
        if (E.isRight(result)) await result.right.close();
      }
    },
  };
}

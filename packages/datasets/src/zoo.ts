import type { either as E } from 'fp-ts';
import type { Dataset, DatasetError } from './types.js';

/** The files a model zoo ships: what its `default` names. */
export interface ZooFiles {
  readonly denoiserPath: string;
  readonly classifierPath: string;
  /** The held-out split (any spec `openDataset` reads; the zoos ship DPDS). */
  readonly testSetPath: string;
  readonly classNames: readonly string[];
}

/** A catalog as @densepure/runner takes it (its `Catalog`): what 'default' names; every other spec is a path. */
export interface ZooCatalog {
  readonly model: (role: 'denoiser' | 'classifier', spec: string) => string;
  readonly dataset: (spec: string) => () => Promise<E.Either<DatasetError, Dataset>>;
}

type Open = (spec: string, classNames?: readonly string[]) => Promise<E.Either<DatasetError, Dataset>>;

/** The catalog of one zoo's files, opening datasets with `open` (index.ts passes `openDataset`). */
export function catalogOf(files: ZooFiles, open: Open): ZooCatalog {
  return {
    model: (role, spec) => (spec === 'default' ? (role === 'denoiser' ? files.denoiserPath : files.classifierPath) : spec),
    dataset: (spec) => () => (spec === 'default' ? open(files.testSetPath, files.classNames) : open(spec)),
  };
}

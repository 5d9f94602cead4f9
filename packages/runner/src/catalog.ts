// Where model and dataset specs lead. The runner knows no shipped model: an app's composition root hands it a
// catalog that maps names such as 'default' to its models and data; without one, specs are paths.
import { taskEither as TE } from 'fp-ts';
import { type Dataset, type DatasetError, openDataset } from '@densepure/datasets';

export type ModelRole = 'denoiser' | 'classifier';

export interface Catalog {
  /** The model file or manifest a spec names ('backend:path' specs keep their prefix). */
  readonly model: (role: ModelRole, spec: string) => string;
  /** Opens the dataset a spec names. */
  readonly dataset: (spec: string) => TE.TaskEither<DatasetError, Dataset>;
}

/** Specs are what the user typed: model paths and dataset specs as @densepure/datasets reads them. */
export const pathCatalog: Catalog = {
  model: (_role, spec) => spec,
  dataset: (spec) => () => openDataset(spec),
};

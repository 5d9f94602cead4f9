// What 'default' names in the apps: the shipped MNIST zoo. Every other spec is a path.
import { openDataset } from '@densepure/datasets';
import type { Catalog } from '@densepure/runner';
import * as zoo from '@densepure/zoo-mnist';

/** 'default' is the shipped MNIST diffusion model, classifier and held-out test split; anything else is a path. */
export const shippedCatalog: Catalog = {
  model: (role, spec) => (spec === 'default' ? (role === 'denoiser' ? zoo.denoiserPath : zoo.classifierPath) : spec),
  dataset: (spec) => () => (spec === 'default' ? openDataset(zoo.testSetPath, zoo.classNames) : openDataset(spec)),
};

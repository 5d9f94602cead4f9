// What 'default' names in the apps: the shipped MNIST zoo. Every other spec is a path.
import type { Catalog } from '@densepure/runner';
import { catalog as mnist } from '@densepure/zoo-mnist';

/** 'default' is the shipped MNIST diffusion model, classifier and held-out test split; anything else is a path. */
export const shippedCatalog: Catalog = mnist;

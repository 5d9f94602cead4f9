// What the shipped names mean in the apps: each names a zoo (its models and held-out split); every other spec is a
// path. 'mnist-ddpm-small@1' keeps today's MNIST models reachable after 'mnist' moves to a better-trained one.
import { type Catalog, pathCatalog } from '@densepure/runner';
import { catalog as fashion } from '@densepure/zoo-fashion';
import { catalog as mnist } from '@densepure/zoo-mnist';

/** The shipped zoos by name; 'default' is one of them. */
export const shippedZoos: Readonly<Record<string, Catalog>> = {
  default: mnist,
  mnist,
  'mnist-ddpm-small@1': mnist,
  fashion,
};

/** The catalog to ask and what to ask it: a zoo's name becomes that zoo's 'default', anything else stays a path. */
const resolve = (spec: string): readonly [Catalog, string] =>
  Object.hasOwn(shippedZoos, spec) ? [shippedZoos[spec] as Catalog, 'default'] : [pathCatalog, spec];

export const shippedCatalog: Catalog = {
  model: (role, spec) => {
    const [zoo, name] = resolve(spec);
    return zoo.model(role, name);
  },
  dataset: (spec) => {
    const [zoo, name] = resolve(spec);
    return zoo.dataset(name);
  },
};

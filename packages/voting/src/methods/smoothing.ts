// Plain Gaussian smoothing (Cohen et al. 2019): classify x + sigma * noise; no diffusion model.
import { z } from 'zod';
import { defineMethod } from './entry.js';

export type SmoothingMethod = { readonly kind: 'smoothing' };

const NO_SETTINGS = z.strictObject({});

export const SMOOTHING = defineMethod<SmoothingMethod, typeof NO_SETTINGS>({
  kind: 'smoothing',
  settings: NO_SETTINGS,
  fromSettings: (): SmoothingMethod => ({ kind: 'smoothing' }),
  needsDenoiser: false,
  slug: () => 'smoothing',
  parseSlug: (slug) => (slug === 'smoothing' ? { kind: 'smoothing' } : null),
  slugPattern: 'smoothing',
  label: () => 'Gaussian smoothing',
  describe: () => 'plain Gaussian smoothing (Cohen et al. 2019)',
  order: () => [],
  votes: () => 1,
  identity: () => ({ K: 1, steps: null }),
  plan: () => ({ from: 'noisy' }),
  examples: [{ kind: 'smoothing' }],
});

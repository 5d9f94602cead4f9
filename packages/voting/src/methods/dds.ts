// Diffusion denoised smoothing (Carlini et al. 2023): one-shot denoise x0 from x_t*, then classify it.
import { z } from 'zod';
import { defineMethod } from './entry.js';

export type DdsMethod = { readonly kind: 'dds' };

const NO_SETTINGS = z.strictObject({});

export const DDS = defineMethod<DdsMethod, typeof NO_SETTINGS>({
  kind: 'dds',
  settings: NO_SETTINGS,
  fromSettings: (): DdsMethod => ({ kind: 'dds' }),
  needsDenoiser: true,
  slug: () => 'dds',
  parseSlug: (slug) => (slug === 'dds' ? { kind: 'dds' } : null),
  slugPattern: 'dds',
  label: () => 'DDS (one-shot)',
  describe: () => 'diffusion denoised smoothing: one-shot denoise (Carlini et al. 2023)',
  order: () => [],
  votes: () => 1,
  identity: () => ({ K: 1, steps: null }),
  plan: () => ({ from: 'one-shot' }),
  examples: [{ kind: 'dds' }],
});

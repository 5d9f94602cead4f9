// DensePure (Xiao et al. 2023): K reverse-diffusion runs from x_t* (the full chain or b respaced steps), each
// classified, majority-voted into the draw's label.
import { z } from 'zod';
import { defineMethod } from './entry.js';
import { MAJORITY_VOTE } from './majority.js';

export type DensePureMethod = {
  readonly kind: 'densepure';
  /** K: reverse runs (votes) per noise draw. */
  readonly votes: number;
  readonly steps: 'full' | number;
  /** Absent: 'uniform'. */
  readonly spacing?: 'uniform' | 'densepure';
};

const whole = (min: number) => {
  const error = `must be a whole number >= ${min}`;
  return z.number({ error }).int({ error }).min(min, { error });
};

const SLUG = /^densepure-K([1-9]\d*)-(full|b([1-9]\d*))(-dp)?$/;

const chainText = (m: DensePureMethod, full: string, respaced: string, dp: string): string =>
  m.steps === 'full' ? full : `${m.steps} ${respaced}${m.spacing === 'densepure' ? dp : ''}`;

/** How a respaced chain's timesteps are spaced; one setting for every method that runs reverse chains. */
export const SPACING_SETTING = z
  .enum(['uniform', 'densepure'], { error: "must be 'uniform' or 'densepure'" })
  .default('uniform')
  .describe("respaced timesteps: improved-diffusion's 'uniform', or DensePure's own 'densepure' (t*, t* - t*/b, ...)");

/** DensePure's settings, as users write them. */
const SETTINGS = z.strictObject({
  K: whole(1).default(1).describe('reverse runs (votes) per noise draw, majority-voted'),
  steps: z
    .union([z.literal('full'), whole(1)], { error: "must be 'full' or a whole number >= 1" })
    .default(10)
    .describe("reverse chain: 'full' (every step t*..0) or b for a respaced chain of b steps"),
  spacing: SPACING_SETTING,
});

export const DENSEPURE = defineMethod<DensePureMethod, typeof SETTINGS>({
  kind: 'densepure',
  settings: SETTINGS,
  // A uniform spacing is the default and stays implicit (no `-dp` in the slug, no key in the method).
  fromSettings: (s): DensePureMethod => ({ kind: 'densepure', votes: s.K, steps: s.steps, ...(s.spacing === 'densepure' ? { spacing: 'densepure' as const } : {}) }),
  needsDenoiser: true,
  slug: (m) => `densepure-K${m.votes}-${m.steps === 'full' ? 'full' : `b${m.steps}`}${m.spacing === 'densepure' ? '-dp' : ''}`,
  parseSlug: (slug) => {
    const m = SLUG.exec(slug);
    if (m === null) return null;
    return { kind: 'densepure', votes: Number(m[1]), steps: m[2] === 'full' ? 'full' : Number(m[3]), ...(m[4] === undefined ? {} : { spacing: 'densepure' as const }) };
  },
  slugPattern: 'densepure-K<votes>-<b<steps>|full>[-dp]',
  label: (m) => `DensePure K=${m.votes}, ${chainText(m, 'full chain', 'steps', ' (DensePure spacing)')}`,
  describe: (m) => `DensePure: K=${m.votes} reverse runs, ${chainText(m, 'full DDPM chain', 'respaced steps', " (DensePure's spacing)")} (Xiao et al. 2023)`,
  // By K, then steps (the full chain last), then spacing.
  order: (m) => [m.votes, m.steps === 'full' ? Infinity : m.steps, m.spacing === 'densepure' ? 'dp' : ''],
  votes: (m) => m.votes,
  identity: (m) => ({ K: m.votes, steps: m.steps }),
  plan: (m) => ({ from: 'chains', chain: { steps: m.steps, spacing: m.spacing ?? 'uniform' }, votes: m.votes, aggregation: MAJORITY_VOTE }),
  examples: [
    { kind: 'densepure', votes: 5, steps: 5 },
    { kind: 'densepure', votes: 1, steps: 'full' },
    { kind: 'densepure', votes: 10, steps: 2, spacing: 'densepure' },
  ],
});

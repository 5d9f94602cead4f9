// DiffSmooth (Zhang et al., USENIX Security 2023): purify the noisy input with the diffusion model (the one-shot
// x0 from x_t*, as DDS, or a reverse chain's sample), then smooth locally: classify m copies of the purified image,
// each with extra Gaussian noise of standard deviation sigma_l, and take their majority (or, as the reference
// code's forward does, the class of largest mean probability). That is the base classifier of Cohen's smoothing.
import { z } from 'zod';
import { SOFT_VOTE } from './densepure-soft.js';
import { SPACING_SETTING } from './densepure.js';
import { type MethodReads, defineMethod } from './entry.js';
import { MAJORITY_VOTE } from './majority.js';

export type DiffSmoothMethod = {
  readonly kind: 'diffsmooth';
  /** The purified image: the one-shot x0, b respaced reverse steps, or the full chain (its first vote). */
  readonly purification: 'one-shot' | 'full' | number;
  /** Absent: 'uniform' (as DensePure's). */
  readonly spacing?: 'densepure';
  /** Local votes per noise draw. */
  readonly m: number;
  /** The local noise's standard deviation, in [0, 1] pixel units. */
  readonly sigmaL: number;
  /** Absent: majority vote. */
  readonly localVote?: 'soft';
};

/** Local vote j of a draw takes vote index j + 1 of the noise address (voting's `localNoiseAddress`), below 2^16. */
const MAX_M = 0xffff;

const wholeFrom = (min: number, max?: number) => {
  const error = max === undefined ? `must be a whole number >= ${min}` : `must be a whole number from ${min} to ${max}`;
  const n = z.number({ error }).int({ error }).min(min, { error });
  return max === undefined ? n : n.max(max, { error });
};

/**
 * DiffSmooth's settings, as users write them (m and sigma_l as the reference code's `--m`, `--local_noise_sd`,
 * with its defaults). sigma_l = 0 is allowed with m = 1 alone: the copy is then the purified image itself, so the
 * method is DDS (one-shot) or DensePure K = 1 on the same chain, with the same counts; m > 1 identical copies
 * would only repeat one classifier call.
 */
const SETTINGS = z
  .strictObject({
    purification: z
      .union([z.literal('one-shot'), z.literal('full'), wholeFrom(1)], { error: "must be 'one-shot', 'full' or a whole number >= 1" })
      .default('one-shot')
      .describe("DiffSmooth's purification: 'one-shot' (DDS's x0 from x_t*), b for a respaced reverse chain of b steps, or 'full' (every step t*..0)"),
    spacing: SPACING_SETTING,
    m: wholeFrom(1, MAX_M).default(5).describe('local smoothing: noisy copies of each purified image, classified and voted'),
    sigmaL: z
      .number({ error: 'must be a number > 0 (or 0 with m = 1)' })
      .min(0, { error: 'must be a number > 0 (or 0 with m = 1)' })
      .default(0.25)
      .describe('local smoothing: standard deviation of the noise added to each copy, in [0, 1] pixel units'),
    localVote: z
      .enum(['majority', 'soft'], { error: "must be 'majority' or 'soft'" })
      .default('majority')
      .describe("local smoothing: 'majority' vote of the copies' labels, or 'soft' (the class of largest mean probability)"),
  })
  .superRefine((s, ctx) => {
    if (s.sigmaL === 0 && s.m > 1) ctx.addIssue({ code: 'custom', path: ['sigmaL'], message: `must be > 0 with m > 1 (0 only with m = 1, where DiffSmooth is its purification alone)` });
    if (s.spacing === 'densepure' && typeof s.purification !== 'number') {
      ctx.addIssue({ code: 'custom', path: ['spacing'], message: `'densepure' spaces respaced steps only: give purification as a number of steps, or leave spacing 'uniform'` });
    }
  });

const NUMBER = String.raw`\d+(?:\.\d+)?(?:e[+-]?\d+)?`;
const SLUG = new RegExp(`^diffsmooth-(one-shot|full|b([1-9]\\d*)(-dp)?)-m([1-9]\\d*)-sl(${NUMBER})(-soft)?$`);

const purificationSlug = (m: DiffSmoothMethod): string =>
  m.purification === 'one-shot' || m.purification === 'full' ? m.purification : `b${m.purification}${m.spacing === 'densepure' ? '-dp' : ''}`;

const purificationText = (m: DiffSmoothMethod, oneShot: string, full: string, steps: string, dp: string): string =>
  m.purification === 'one-shot' ? oneShot : m.purification === 'full' ? full : `${m.purification} ${steps}${m.spacing === 'densepure' ? dp : ''}`;

const fromSettings = (s: z.output<typeof SETTINGS>): DiffSmoothMethod => ({
  kind: 'diffsmooth',
  purification: s.purification,
  // DensePure's spacing and the majority vote are the defaults and stay implicit (no slug part, no key).
  ...(s.spacing === 'densepure' ? { spacing: 'densepure' as const } : {}),
  m: s.m,
  sigmaL: s.sigmaL,
  ...(s.localVote === 'soft' ? { localVote: 'soft' as const } : {}),
});

function plan(m: DiffSmoothMethod): MethodReads {
  return {
    from: 'local',
    purified: m.purification === 'one-shot' ? { from: 'one-shot' } : { from: 'chain', chain: { steps: m.purification, spacing: m.spacing ?? 'uniform' } },
    votes: m.m,
    sigma: m.sigmaL,
    aggregation: m.localVote === 'soft' ? SOFT_VOTE : MAJORITY_VOTE,
  };
}

export const DIFFSMOOTH = defineMethod<DiffSmoothMethod, typeof SETTINGS>({
  kind: 'diffsmooth',
  settings: SETTINGS,
  fromSettings,
  needsDenoiser: true,
  // sigma_l as JavaScript writes the number (0.25, 0.12, 1e-7): one slug per value, read back exactly.
  slug: (m) => `diffsmooth-${purificationSlug(m)}-m${m.m}-sl${String(m.sigmaL)}${m.localVote === 'soft' ? '-soft' : ''}`,
  parseSlug: (slug) => {
    const x = SLUG.exec(slug);
    if (x === null || String(Number(x[5])) !== x[5]) return null;
    const purification = x[1] === 'one-shot' || x[1] === 'full' ? x[1] : Number(x[2]);
    const settings = SETTINGS.safeParse({
      purification,
      spacing: x[3] === undefined ? 'uniform' : 'densepure',
      m: Number(x[4]),
      sigmaL: Number(x[5]),
      localVote: x[6] === undefined ? 'majority' : 'soft',
    });
    return settings.success ? fromSettings(settings.data) : null;
  },
  slugPattern: 'diffsmooth-<one-shot|full|b<steps>[-dp]>-m<copies>-sl<sigma_l>[-soft]',
  label: (m) =>
    `DiffSmooth ${purificationText(m, 'one-shot', 'full chain', 'steps', ' (DensePure spacing)')}, m=${m.m}, sigma_l=${m.sigmaL}${m.localVote === 'soft' ? ', soft vote' : ''}`,
  describe: (m) =>
    `DiffSmooth: ${purificationText(m, 'one-shot', 'full DDPM chain', 'respaced reverse steps', " (DensePure's spacing)")} purification, then local smoothing: ${m.localVote === 'soft' ? 'the mean class probabilities' : 'the majority'} of m=${m.m} copies with extra noise sigma_l=${m.sigmaL} (Zhang et al. 2023)`,
  // By purification (one-shot, then more steps, the full chain last), spacing, m, sigma_l, then the vote.
  order: (m) => [m.purification === 'one-shot' ? 0 : m.purification === 'full' ? Infinity : m.purification, m.spacing === 'densepure' ? 'dp' : '', m.m, m.sigmaL, m.localVote ?? ''],
  votes: (m) => m.m,
  identity: (m) => ({ K: m.m, steps: m.purification === 'one-shot' ? null : m.purification }),
  plan,
  examples: [
    { kind: 'diffsmooth', purification: 'one-shot', m: 5, sigmaL: 0.25 },
    { kind: 'diffsmooth', purification: 2, spacing: 'densepure', m: 3, sigmaL: 0.12, localVote: 'soft' },
    { kind: 'diffsmooth', purification: 'full', m: 1, sigmaL: 0 },
  ],
});

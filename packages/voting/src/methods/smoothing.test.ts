import { either as E } from 'fp-ts';
import { describe, expect, it } from 'vitest';
import { SMOOTHING } from './smoothing.js';
import { parseMethodSettings } from './table.js';

describe('smoothing entry', () => {
  const m = { kind: 'smoothing' } as const;

  it('is named smoothing everywhere, its slug read back', () => {
    expect(SMOOTHING.slug(m)).toBe('smoothing');
    expect(SMOOTHING.parseSlug('smoothing')).toEqual(m);
    expect(SMOOTHING.parseSlug('smoothing-K2')).toBeNull();
    expect(SMOOTHING.label(m)).toBe('Gaussian smoothing');
    expect(SMOOTHING.describe(m)).toBe('plain Gaussian smoothing (Cohen et al. 2019)');
  });

  it('reads the noisy images: one classifier call per draw, no denoiser, identity K 1 and no steps', () => {
    expect(SMOOTHING.plan(m)).toEqual({ from: 'noisy' });
    expect(SMOOTHING.needsDenoiser).toBe(false);
    expect(SMOOTHING.votes(m)).toBe(1);
    expect(SMOOTHING.identity(m)).toEqual({ K: 1, steps: null });
  });

  it('takes no settings', () => {
    expect(parseMethodSettings('smoothing', {})).toEqual(E.right(m));
    const r = parseMethodSettings('smoothing', { K: 2 });
    expect(E.isLeft(r) && r.left).toMatchObject({ kind: 'invalid-method-setting', method: 'smoothing', setting: 'K', message: "smoothing takes no setting 'K'" });
  });
});

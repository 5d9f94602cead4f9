import { either as E } from 'fp-ts';
import { describe, expect, it } from 'vitest';
import { DDS } from './dds.js';
import { parseMethodSettings } from './table.js';

describe('dds entry', () => {
  const m = { kind: 'dds' } as const;

  it('is named dds everywhere, its slug read back', () => {
    expect(DDS.slug(m)).toBe('dds');
    expect(DDS.parseSlug('dds')).toEqual(m);
    expect(DDS.parseSlug('ddpm')).toBeNull();
    expect(DDS.label(m)).toBe('DDS (one-shot)');
    expect(DDS.describe(m)).toBe('diffusion denoised smoothing: one-shot denoise (Carlini et al. 2023)');
  });

  it('reads the one-shot x0: the denoiser once at t*, identity K 1 and no steps', () => {
    expect(DDS.plan(m)).toEqual({ from: 'one-shot' });
    expect(DDS.needsDenoiser).toBe(true);
    expect(DDS.votes(m)).toBe(1);
    expect(DDS.identity(m)).toEqual({ K: 1, steps: null });
  });

  it('takes no settings', () => {
    expect(parseMethodSettings('dds')).toEqual(E.right(m));
    const r = parseMethodSettings('dds', { steps: 5 });
    expect(E.isLeft(r) && r.left).toMatchObject({ kind: 'invalid-method-setting', method: 'dds', setting: 'steps' });
  });
});

import { either as E } from 'fp-ts';
import { describe, expect, it } from 'vitest';
import { type DensePureMethod, DENSEPURE } from './densepure.js';
import { MAJORITY_VOTE } from './majority.js';
import { parseMethodSettings } from './table.js';

describe('densepure entry', () => {
  const k5: DensePureMethod = { kind: 'densepure', votes: 5, steps: 5 };
  const full: DensePureMethod = { kind: 'densepure', votes: 1, steps: 'full' };
  const dp: DensePureMethod = { kind: 'densepure', votes: 10, steps: 2, spacing: 'densepure' };

  it('slugs name K, the chain and DensePure spacing (-dp), and read back', () => {
    expect([k5, full, dp].map(DENSEPURE.slug)).toEqual(['densepure-K5-b5', 'densepure-K1-full', 'densepure-K10-b2-dp']);
    for (const m of [k5, full, dp]) expect(DENSEPURE.parseSlug(DENSEPURE.slug(m))).toEqual(m);
    // A uniform spacing is the default and has no suffix.
    expect(DENSEPURE.slug({ kind: 'densepure', votes: 2, steps: 3, spacing: 'uniform' })).toBe('densepure-K2-b3');
    for (const slug of ['densepure-K0-b2', 'densepure-K2', 'densepure-K2-b2-xx', 'densepure-K2-b0', 'densepure-K02-b2', 'dds']) expect(DENSEPURE.parseSlug(slug)).toBeNull();
  });

  it('labels and describes the chain', () => {
    expect([k5, full, dp].map(DENSEPURE.label)).toEqual(['DensePure K=5, 5 steps', 'DensePure K=1, full chain', 'DensePure K=10, 2 steps (DensePure spacing)']);
    expect(DENSEPURE.describe(dp)).toBe("DensePure: K=10 reverse runs, 2 respaced steps (DensePure's spacing) (Xiao et al. 2023)");
    expect(DENSEPURE.describe(full)).toBe('DensePure: K=1 reverse runs, full DDPM chain (Xiao et al. 2023)');
  });

  it('reads K majority-voted votes of its chain; K and steps go into the identity', () => {
    expect(DENSEPURE.plan(dp)).toEqual({ from: 'chains', chain: { steps: 2, spacing: 'densepure' }, votes: 10, aggregation: MAJORITY_VOTE });
    expect(DENSEPURE.plan(full)).toMatchObject({ chain: { steps: 'full', spacing: 'uniform' }, votes: 1 });
    expect(DENSEPURE.votes(dp)).toBe(10);
    expect(DENSEPURE.identity(k5)).toEqual({ K: 5, steps: 5 });
    expect(DENSEPURE.identity(full)).toEqual({ K: 1, steps: 'full' });
    expect(DENSEPURE.needsDenoiser).toBe(true);
  });

  it('sorts by K, then steps (the full chain last), then spacing', () => {
    expect(DENSEPURE.order(dp)).toEqual([10, 2, 'dp']);
    expect(DENSEPURE.order(full)).toEqual([1, Infinity, '']);
  });

  it('settings: K, steps and spacing with defaults 1, 10 and uniform', () => {
    expect(parseMethodSettings('densepure', {})).toEqual(E.right({ kind: 'densepure', votes: 1, steps: 10 }));
    expect(parseMethodSettings('densepure', { K: 10, steps: 2, spacing: 'densepure' })).toEqual(E.right(dp));
    expect(parseMethodSettings('densepure', { K: 1, steps: 'full', spacing: 'uniform' })).toEqual(E.right(full));
    expect(Object.keys(DENSEPURE.settings.shape)).toEqual(['K', 'steps', 'spacing']);
    for (const s of Object.values(DENSEPURE.settings.shape)) expect(s.description).toMatch(/\w/);
  });

  it('refuses bad settings, naming the setting', () => {
    const refused = (raw: Record<string, unknown>) => {
      const r = parseMethodSettings('densepure', raw);
      if (E.isRight(r) || r.left.kind !== 'invalid-method-setting') throw new Error('expected a refused setting');
      return r.left;
    };
    expect(refused({ K: 0 })).toMatchObject({ setting: 'K', message: 'densepure: K must be a whole number >= 1, got 0' });
    expect(refused({ K: 2.5 }).setting).toBe('K');
    expect(refused({ steps: 'half' })).toMatchObject({ setting: 'steps', message: "densepure: steps must be 'full' or a whole number >= 1, got \"half\"" });
    expect(refused({ steps: 0 }).setting).toBe('steps');
    expect(refused({ spacing: 'even' }).message).toBe("densepure: spacing must be 'uniform' or 'densepure', got \"even\"");
    expect(refused({ votes: 3 }).message).toBe("densepure takes no setting 'votes'; its settings: K, steps, spacing");
  });
});

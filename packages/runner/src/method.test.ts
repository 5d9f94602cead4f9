import { either as E } from 'fp-ts';
import { describe, expect, it } from 'vitest';
import { type Method, describeMethod, methodLabel, methodSlug, parseMethodSlug } from './method.js';

describe('method slugs', () => {
  const methods: Method[] = [
    { kind: 'smoothing' },
    { kind: 'dds' },
    { kind: 'densepure', votes: 5, steps: 5 },
    { kind: 'densepure', votes: 1, steps: 'full' },
    { kind: 'densepure', votes: 10, steps: 2, spacing: 'densepure' },
  ];

  it('formats and parses back every method', () => {
    expect(methods.map(methodSlug)).toEqual(['smoothing', 'dds', 'densepure-K5-b5', 'densepure-K1-full', 'densepure-K10-b2-dp']);
    for (const m of methods) expect(parseMethodSlug(methodSlug(m))).toEqual(E.right(m));
  });

  it('a uniform spacing is the default and has no suffix', () => {
    expect(methodSlug({ kind: 'densepure', votes: 2, steps: 3, spacing: 'uniform' })).toBe('densepure-K2-b3');
  });

  it('refuses what no method is called', () => {
    for (const slug of ['ddpm', 'densepure-K0-b2', 'densepure-K2', 'densepure-K2-b2-xx', 'cohen_sigma0.25']) {
      const r = parseMethodSlug(slug);
      expect(E.isLeft(r) && r.left.kind).toBe('unknown-method-slug');
    }
  });

  it('describes methods for sidecars and legends', () => {
    expect(describeMethod(methods[4]!)).toBe("DensePure: K=10 reverse runs, 2 respaced steps (DensePure's spacing) (Xiao et al. 2023)");
    expect(methods.map(methodLabel)).toEqual(['Gaussian smoothing', 'DDS (one-shot)', 'DensePure K=5, 5 steps', 'DensePure K=1, full chain', 'DensePure K=10, 2 steps (DensePure spacing)']);
  });
});

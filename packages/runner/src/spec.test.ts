// radiiUpTo: what --max-radius (or an experiment's maxRadius) stands for, checked against what a run can certify
// before the list is built.
import { either as E } from 'fp-ts';
import { describe, expect, it } from 'vitest';
import { radiiUpTo, runErrorMessage } from './index.js';

const reach = { sigma: 0.5, n0: 100, n: 100_000, alpha: 0.001 };
const kebab = (s: string): string => `--${s.replace(/([a-z])([A-Z])/g, (_, a: string, b: string) => `${a}-${b.toLowerCase()}`)}`;

describe('radiiUpTo', () => {
  it('lists 0.25, 0.5, ... below the radius, then the radius', () => {
    expect(radiiUpTo(1, reach)).toEqual(E.right([0.25, 0.5, 0.75, 1]));
    expect(radiiUpTo(0.6, reach)).toEqual(E.right([0.25, 0.5, 0.6]));
    expect(radiiUpTo(0.1, reach)).toEqual(E.right([0.1]));
  });

  it('refuses a radius out of reach before listing anything (1e9 would be four billion radii), naming maxRadius', () => {
    const started = performance.now();
    for (const max of [1e9, Number.MAX_VALUE, 50]) {
      const r = radiiUpTo(max, reach);
      expect(E.isLeft(r) && r.left).toMatchObject({ kind: 'sequential-setting', setting: 'maxRadius', error: { kind: 'radius-unreachable' } });
      const message = E.isLeft(r) ? runErrorMessage(r.left, kebab) : '';
      expect(message).toMatch(/^--max-radius: radius \S+ cannot be certified at sigma 0\.5 .*ask for a smaller --max-radius$/);
      expect(message).not.toMatch(/--radii/);
    }
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('names the N that would reach a radius just out of reach', () => {
    const r = radiiUpTo(2, { ...reach, n: 1000 });
    expect(E.isLeft(r) ? runErrorMessage(r.left, kebab) : '').toMatch(/^--max-radius: radius 2 cannot be certified .* needs --N >= \d+, or ask for a smaller --max-radius$/);
  });

  it('refuses a radius that is not a positive number', () => {
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) expect(E.isLeft(radiiUpTo(bad, reach))).toBe(true);
  });
});

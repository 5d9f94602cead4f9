import { readFileSync } from 'node:fs';
import { either as E } from 'fp-ts';
import { describe, expect, it } from 'vitest';
import { DensePureMathError } from './errors.js';
import { cosineBetaSchedule, diffusionConstants, linearBetaSchedule, sigmaToTimestep } from './schedule.js';
import { TIMESTEP_RULES, checkedTimestepForSigma, ddsTimestep, densepureCosineT, densepureCosineTimestep, sigmaTimestepAt, timestepForSigma } from './timestep-rules.js';

interface Case {
  schedule: 'linear' | 'cosine';
  T: number;
  sigma: number;
  dds: number;
  nearest: number;
  densepureFloat?: number;
  densepure?: number;
}
// Written by tools/reference/core/timestep_rules.py (numpy, the papers' formulas and loops).
const REF = JSON.parse(readFileSync(new URL('../../../tools/reference/core/timestep-rules.json', import.meta.url), 'utf8')) as { cases: Case[] };

const alphas = (schedule: 'linear' | 'cosine', T: number): Float64Array =>
  diffusionConstants(schedule === 'linear' ? linearBetaSchedule(T) : cosineBetaSchedule(T)).alphasCumprod;

describe("DensePure's cosine closed form", () => {
  it('gives round(T (1 - 2 1.008 asin(sin(pi/2.016)/sqrt(1+4 sigma^2))/pi)) on cosine T = 4000', () => {
    // The issue quotes 1158 for sigma 0.25, but its own formula is 1158.513... before rounding: 1159. DensePure's
    // respaced chain starts at round(t) = 1159; only its full chain (range(round(t))[::-1]) starts one lower.
    expect([0.25, 0.5, 1.0].map((s) => densepureCosineTimestep(s, 4000))).toEqual([1159, 1984, 2810]);
    expect(densepureCosineT(0.25, 4000)).toBeCloseTo(1158.5131579884119, 9);
    // where the nearest-ratio rule differs by one step
    expect(sigmaToTimestep(0.5, alphas('cosine', 4000)).t).toBe(1983);
  });

  it('is 0 at sigma 0 and refuses sigmas beyond the schedule', () => {
    expect(densepureCosineTimestep(0, 4000)).toBe(0);
    expect(() => densepureCosineTimestep(1e6, 4000)).toThrow(DensePureMathError);
    expect(() => densepureCosineTimestep(-0.1, 4000)).toThrow(/sigma must be >= 0/);
  });
});

describe("Carlini et al.'s rule (first t >= 1 with sqrt((1 - abar)/abar) >= 2 sigma)", () => {
  it('matches the reference loop', () => {
    const ac = alphas('linear', 1000);
    expect(ddsTimestep(0.5, ac)).toBe(259);
    const r = sigmaTimestepAt(259, 0.5, ac);
    expect(Math.sqrt(1 - ac[259]!) / Math.sqrt(ac[259]!)).toBeGreaterThanOrEqual(1);
    expect(Math.sqrt(1 - ac[258]!) / Math.sqrt(ac[258]!)).toBeLessThan(1);
    expect(r.residual).toBeGreaterThanOrEqual(0);
    expect(ddsTimestep(0, ac)).toBe(0);
  });

  it('throws sigma-out-of-range past the last step', () => {
    try {
      ddsTimestep(1000, alphas('linear', 1000));
      expect.unreachable();
    } catch (e) {
      expect((e as DensePureMathError).code).toBe('sigma-out-of-range');
    }
  });
});

describe('timestepForSigma against the numpy reference', () => {
  for (const c of REF.cases) {
    it(`${c.schedule} T=${c.T} sigma=${c.sigma}`, () => {
      const ac = alphas(c.schedule, c.T);
      const sched = { schedule: c.schedule, alphasCumprod: ac };
      expect(timestepForSigma('nearest', c.sigma, sched).t).toBe(c.nearest);
      expect(timestepForSigma('dds', c.sigma, sched).t).toBe(c.dds);
      // DensePure: the closed form on cosine, the nearest ratio on linear (its guided-diffusion runner)
      expect(timestepForSigma('densepure', c.sigma, sched).t).toBe(c.schedule === 'cosine' ? c.densepure : c.nearest);
      if (c.densepureFloat !== undefined) expect(densepureCosineT(c.sigma, c.T)).toBeCloseTo(c.densepureFloat, 8);
      const r = timestepForSigma('dds', c.sigma, sched);
      expect(r.scale).toBeCloseTo(Math.sqrt(ac[r.t]!), 15);
      expect(r.exactScale).toBeCloseTo(1 / Math.sqrt(1 + 4 * c.sigma * c.sigma), 15);
    });
  }
});

describe('checkedTimestepForSigma', () => {
  it("returns timestepForSigma's t*, or the sigma-out-of-range error it throws as a value", () => {
    let outOfRange = 0;
    for (const schedule of ['linear', 'cosine'] as const) {
      const sched = { schedule, alphasCumprod: alphas(schedule, schedule === 'linear' ? 1000 : 4000) };
      for (const rule of TIMESTEP_RULES) {
        for (const sigma of [0.5, 100, 1e5]) {
          let expected: E.Either<{ kind: string; message: string }, unknown>;
          try {
            expected = E.right(timestepForSigma(rule, sigma, sched));
          } catch (e) {
            expected = E.left({ kind: (e as DensePureMathError).code, message: (e as Error).message });
            outOfRange++;
          }
          expect(checkedTimestepForSigma(rule, sigma, sched), `${schedule} ${rule} ${sigma}`).toEqual(expected);
          if (E.isLeft(expected)) expect(expected.left.kind).toBe('sigma-out-of-range');
        }
      }
    }
    // Beyond the end by every rule: 100 and 1e5 on the linear schedule (largest sigma ~79), 1e5 on the cosine one (~40,600).
    expect(outOfRange).toBe(9);
    // A negative sigma is the caller's mistake (settings are checked first), not the schedule's limit.
    expect(() => checkedTimestepForSigma('nearest', -1, { schedule: 'linear', alphasCumprod: alphas('linear', 1000) })).toThrow(/sigma must be >= 0/);
  });
});

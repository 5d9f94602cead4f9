import { describe, expect, it } from 'vitest';
import {
  betaSchedule,
  cosineBetaSchedule,
  diffusionConstants,
  linearBetaSchedule,
  linspace,
  maxSupportedSigma,
  respacedBetas,
  roundHalfEven,
  sigmaToTimestep,
  spaceTimesteps,
  type DiffusionConstants,
} from './schedule.js';
import { DensePureMathError } from './errors.js';
import { REF, expectClose, type Json } from './test-util/reference.js';

const schedule = (name: string, T: number): Float64Array =>
  name === 'linear' ? linearBetaSchedule(T) : cosineBetaSchedule(T);

function thrown(f: () => unknown): DensePureMathError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DensePureMathError);
    return e as DensePureMathError;
  }
  throw new Error('expected a DensePureMathError');
}

describe('beta schedules and diffusionConstants (improved-diffusion)', () => {
  for (const s of REF.schedules as Json[]) {
    it(`${s.schedule} T=${s.T}`, () => {
      // linear with T <= 20 has betas >= 1: improved-diffusion's assert fails later, linearBetaSchedule throws
      // at once; the numpy linspace arithmetic is still compared through linspace itself.
      const betas = s.constantsError ? linspace((1000 / s.T) * 0.0001, (1000 / s.T) * 0.02, s.T) : schedule(s.schedule, s.T);
      expect(betas.length).toBe(s.T);
      if (s.constantsError) {
        expect(thrown(() => schedule(s.schedule, s.T)).code).toBe('invalid-betas');
        expect(thrown(() => diffusionConstants(betas)).code).toBe('invalid-betas');
      }
      const c: Json = s.constantsError ? { betas } : diffusionConstants(betas);
      for (const [field, values] of Object.entries(s.fields as Record<string, (number | string)[]>)) {
        const arr = c[field] as Float64Array;
        expect(arr, field).toBeInstanceOf(Float64Array);
        (s.indices as number[]).forEach((ix, i) => {
          // Cosine schedules go through Math.cos (V8) vs math.cos (glibc); they agree to ~1e-15 relative
          // after the cumulative product (observed <= 8.7e-16), so 1e-12 holds for every field.
          expectClose(arr[ix]!, values[i]!, 1e-12, 0, `${s.schedule} T=${s.T} ${field}[${ix}]`);
        });
      }
    });
  }

  it('T = 1: posteriorLogVarianceClipped is -Infinity (improved-diffusion would raise IndexError)', () => {
    const c = diffusionConstants(linearBetaSchedule(1));
    expect(c.numTimesteps).toBe(1);
    expect(c.posteriorVariance[0]).toBe(0);
    expect(c.posteriorLogVarianceClipped[0]).toBe(-Infinity);
    expect(c.alphasCumprodNext[0]).toBe(0);
  });

  it('rejects bad T and bad betas', () => {
    expect(thrown(() => linearBetaSchedule(0)).code).toBe('invalid-argument');
    expect(thrown(() => cosineBetaSchedule(2.5)).code).toBe('invalid-argument');
    expect(thrown(() => diffusionConstants([])).code).toBe('invalid-betas');
    expect(thrown(() => diffusionConstants([0.1, 0])).code).toBe('invalid-betas');
    expect(thrown(() => diffusionConstants([0.1, Number.NaN])).code).toBe('invalid-betas');
    expect(diffusionConstants([1]).alphasCumprod[0]).toBe(0);
  });
});

describe('beta schedules from a manifest (issue 12 item 3)', () => {
  it('linearBetaSchedule(10) is an error, not betas up to 2', () => {
    const e = thrown(() => linearBetaSchedule(10));
    expect(e.code).toBe('invalid-betas');
    expect(e.message).toContain('T = 10');
    expect(e.message).toContain('(0, 1)');
    expect(linearBetaSchedule(21)[20]).toBeLessThan(1);
  });
  it("honours betaStart and betaEnd with T (diffusers' linspace(betaStart, betaEnd, T), no 1000 / T scaling)", () => {
    const b = betaSchedule({ schedule: 'linear', T: 100, betaStart: 0.001, betaEnd: 0.05 });
    expect(b.length).toBe(100);
    expect(b[0]).toBe(0.001);
    expect(b[99]).toBe(0.05);
    expect(b[50]).toBeCloseTo(0.001 + (50 * 0.049) / 99, 15);
    expect(betaSchedule({ schedule: 'linear', T: 10, betaStart: 0.01, betaEnd: 0.2 })[9]).toBe(0.2);
  });
  it("the shipped model's betas (linear, T 1000, 0.0001..0.02) are bit-identical to the default schedule", () => {
    const given = betaSchedule({ schedule: 'linear', T: 1000, betaStart: 0.0001, betaEnd: 0.02 });
    const defaults = linearBetaSchedule(1000);
    expect(Array.from(given)).toEqual(Array.from(defaults));
    expect(Array.from(betaSchedule({ schedule: 'linear', T: 1000 }))).toEqual(Array.from(defaults));
    expect(Array.from(betaSchedule({ schedule: 'cosine', T: 1000 }))).toEqual(Array.from(cosineBetaSchedule(1000)));
  });
  it('refuses betas outside (0, 1), half a range, and a range on the cosine schedule', () => {
    expect(thrown(() => betaSchedule({ schedule: 'linear', T: 100, betaStart: 0.001, betaEnd: 1 })).code).toBe('invalid-betas');
    expect(thrown(() => betaSchedule({ schedule: 'linear', T: 100, betaStart: 0, betaEnd: 0.02 })).code).toBe('invalid-betas');
    expect(thrown(() => betaSchedule({ schedule: 'linear', T: 100, betaStart: 0.001 })).code).toBe('invalid-argument');
    expect(thrown(() => betaSchedule({ schedule: 'cosine', T: 100, betaStart: 0.001, betaEnd: 0.02 })).code).toBe('invalid-argument');
  });
});

describe('spaceTimesteps (respace.space_timesteps)', () => {
  for (const r of REF.spaceTimesteps as Json[]) {
    it(`T=${r.T} "${r.spec}"${r.error ? ' -> error' : ''}`, () => {
      if (r.error) {
        const e = thrown(() => spaceTimesteps(r.T, r.spec));
        expect(e.code).toBe('invalid-spacing');
        expect(e.message).toMatch(/cannot/);
      } else {
        expect(spaceTimesteps(r.T, r.spec)).toEqual(r.kept);
      }
    });
  }
  it('accepts an array of section counts and rejects garbage', () => {
    expect(spaceTimesteps(300, [10, 15, 20])).toEqual(spaceTimesteps(300, '10,15,20'));
    expect(thrown(() => spaceTimesteps(100, 'ddimx')).code).toBe('invalid-spacing');
    expect(thrown(() => spaceTimesteps(100, '10,a')).code).toBe('invalid-spacing');
    expect(thrown(() => spaceTimesteps(100, '-3')).code).toBe('invalid-spacing');
  });
  it('rounds half to even like Python', () => {
    expect([0.5, 1.5, 2.5, 4.5, 2.25, 2.75, 3].map(roundHalfEven)).toEqual([0, 2, 2, 4, 2, 3, 3]);
    // size 10, 5 steps: stride 2.25 -> 0, 2.25, 4.5 -> 4 (not 5), 6.75, 9
    expect(spaceTimesteps(10, '5')).toEqual([0, 2, 4, 7, 9]);
  });
});

describe('respacedBetas (SpacedDiffusion)', () => {
  for (const r of REF.respacedBetas as Json[]) {
    it(`${r.schedule} T=${r.T} "${r.spec}"`, () => {
      const ac = diffusionConstants(schedule(r.schedule, r.T)).alphasCumprod;
      const b = respacedBetas(ac, r.kept as number[]);
      expect(b.length).toBe(r.betas.length);
      // observed <= 6e-14 relative (cosine: 1 - a/b cancellation on ulp-level libm differences)
      (r.betas as number[]).forEach((v, i) => expectClose(b[i]!, v, 1e-12, 0, `beta[${i}]`));
    });
  }
  it('full kept set gives back the original betas (up to rounding) and validates indices', () => {
    const c = diffusionConstants(linearBetaSchedule(1000));
    const all = Array.from({ length: 1000 }, (_, i) => i);
    const b = respacedBetas(c.alphasCumprod, all);
    for (let i = 0; i < 1000; i += 97) expectClose(b[i]!, c.betas[i]!, 1e-9);
    expect(thrown(() => respacedBetas(c.alphasCumprod, [1000])).code).toBe('invalid-argument');
    expect(thrown(() => respacedBetas(c.alphasCumprod, [])).code).toBe('invalid-spacing');
  });
});

describe('sigmaToTimestep (DensePure rule: closest sqrt(1/abar - 1) to 2 sigma)', () => {
  for (const g of REF.sigmaToTimestep as Json[]) {
    it(`${g.schedule} T=${g.T}`, () => {
      const ac = diffusionConstants(schedule(g.schedule, g.T)).alphasCumprod;
      // Cosine max sigma sits on 1/abar_{T-1} with abar ~ 1e-10: observed agreement ~1e-15 relative.
      expectClose(maxSupportedSigma(ac), g.maxSigma, 1e-12, 0, 'max sigma');
      for (const r of g.rows as Json[]) {
        if (r.error) {
          const e = thrown(() => sigmaToTimestep(r.sigma, ac));
          expect(e.code).toBe('sigma-out-of-range');
          expect(e.message).toContain(`sigma ${r.sigma}`);
          expect(e.message).toContain(`t=${g.T - 1}`);
          continue;
        }
        if (r.t === g.T - 1) {
          // the maximal sigma itself (use this side's maximum: the last cosine abar differs by ulps)
          expect(sigmaToTimestep(maxSupportedSigma(ac), ac).t).toBe(g.T - 1);
          continue;
        }
        const o = sigmaToTimestep(r.sigma, ac);
        expect(o.t, `sigma ${r.sigma}`).toBe(r.t);
        expectClose(o.scale, r.scale, 1e-12, 0, 'scale');
        expectClose(o.sigmaAtT, r.sigmaAtT, 1e-12, 0, 'sigmaAtT');
        // residual = sigmaAtT - sigma cancels: compare absolutely (observed 2.2e-16 for cosine 4000 at 0.12)
        expectClose(o.residual, r.residual, 0, 1e-14, 'residual');
        expect(o.exactScale).toBeCloseTo(1 / Math.sqrt(1 + 4 * r.sigma * r.sigma), 15);
      }
    });
  }

  it('sigma = 0 gives t = 0 with the first step as residual', () => {
    const c: DiffusionConstants = diffusionConstants(linearBetaSchedule(1000));
    const o = sigmaToTimestep(0, c.alphasCumprod);
    expect(o.t).toBe(0);
    expect(o.residual).toBeCloseTo(c.sqrtRecipm1AlphasCumprod[0]! / 2, 15);
  });

  it('ties go to the smaller t', () => {
    // s_0 = sqrt(1/0.8 - 1) = 0.5, s_1 = sqrt(1/0.5 - 1) = 1: 2 sigma = 0.75 is exactly between.
    expect(sigmaToTimestep(0.375, [0.8, 0.5]).t).toBe(0);
    expect(sigmaToTimestep(0.376, [0.8, 0.5]).t).toBe(1);
  });

  it('rejects NaN, negative, infinite sigma; explains out-of-range sigma', () => {
    const ac = diffusionConstants(linearBetaSchedule(1000)).alphasCumprod;
    for (const s of [Number.NaN, -0.1, Infinity]) expect(thrown(() => sigmaToTimestep(s, ac)).code).toBe('invalid-argument');
    const e = thrown(() => sigmaToTimestep(100, ac));
    expect(e.code).toBe('sigma-out-of-range');
    expect(e.message).toMatch(/largest sigma this schedule supports is 78\.70\d* \(t=999\)/);
  });
});

import { either as E } from 'fp-ts';
import { describe, expect, it } from 'vitest';
import { checkedPlanReverse, fromModelScale, planReverse, reverseStep, toModelScale, type ReverseStepPlan, type VarianceKind } from './reverse.js';
import { cosineBetaSchedule, diffusionConstants, linearBetaSchedule, type DiffusionConstants } from './schedule.js';
import { DensePureMathError } from './errors.js';
import { REF, dec, expectClose, type Json } from './test-util/reference.js';

const constantsCache = new Map<string, DiffusionConstants>();
function consts(name: string, T: number): DiffusionConstants {
  const key = `${name}:${T}`;
  let c = constantsCache.get(key);
  if (!c) {
    c = diffusionConstants(name === 'linear' ? linearBetaSchedule(T) : cosineBetaSchedule(T));
    constantsCache.set(key, c);
  }
  return c;
}
const f32 = (a: (number | string)[]): Float32Array => Float32Array.from(a.map(dec));

/** Float32 output vs a float64 reference: float32 rounding (2^-24 relative) plus float64 op-order slack. */
function expectF32(actual: Float32Array, expected: (number | string)[], what: string): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => expectClose(actual[i]!, e, 2 ** -23, 1e-12, `${what}[${i}]`));
}

const COEFFS = [
  'posteriorMeanCoef1',
  'posteriorMeanCoef2',
  'posteriorVariance',
  'posteriorLogVarianceClipped',
  'logBeta',
  'fixedLargeLogVariance',
  'sqrtRecipAlphasCumprod',
  'sqrtRecipm1AlphasCumprod',
] as const;

function expectCoefficients(s: ReverseStepPlan, ref: Json, what: string): void {
  for (const k of COEFFS) expectClose(s[k], ref[k], 1e-12, 0, `${what} ${k}`);
}

describe('reverseStep = improved-diffusion p_sample (eps model, clip_denoised)', () => {
  for (const r of REF.reverseStep as Json[]) {
    it(`${r.schedule} T=${r.T} t=${r.t}`, () => {
      const c = consts(r.schedule, r.T);
      const plan = planReverse(c, r.T - 1, { kind: 'full' });
      const stepIndex = r.T - 1 - r.t;
      const s = plan.steps[stepIndex]!;
      expect(s.modelTimestep).toBe(r.t);
      expect(s.addsNoise).toBe(r.t > 0);
      expectCoefficients(s, r.coefficients, `t=${r.t}`);
      const xt = f32(r.xt);
      const eps = f32(r.eps);
      const v = f32(r.v);
      const noise = f32(r.noise);
      for (const variance of ['learned-range', 'fixed-small', 'fixed-large'] as VarianceKind[]) {
        const out = new Float32Array(xt.length);
        const x0 = new Float32Array(xt.length);
        reverseStep(plan, stepIndex, xt, eps, v, noise, out, { variance, x0Out: x0 });
        expectF32(out, r[variance], variance);
        expectF32(x0, r.x0, 'x0');
        // in place gives the same numbers
        const inPlace = xt.slice();
        reverseStep(plan, stepIndex, inPlace, eps, v, noise, inPlace, { variance });
        expect([...inPlace]).toEqual([...out]);
      }
    });
  }

  it('one-shot (Carlini): x0 = clip(sqrt(1/abar) x_t - sqrt(1/abar - 1) eps)', () => {
    const r = REF.oneShot as Json;
    const plan = planReverse(consts(r.schedule, r.T), r.t, { kind: 'one-shot' });
    expect(plan.modelTimesteps).toEqual([r.t]);
    expect(plan.steps[0]!.addsNoise).toBe(false);
    const out = new Float32Array(r.xt.length);
    reverseStep(plan, 0, f32(r.xt), f32(r.eps), null, null, out, { variance: 'learned-range' });
    expectF32(out, r.x0, 'x0');
  });

  it('the last step (t = 0) adds no noise and needs neither noise nor v', () => {
    const plan = planReverse(consts('linear', 1000), 3, { kind: 'full' });
    expect(plan.modelTimesteps).toEqual([3, 2, 1, 0]);
    const x = Float32Array.from([0.3, -2, 0.9]);
    const eps = Float32Array.from([0.1, 0.2, -0.3]);
    const a = new Float32Array(3);
    reverseStep(plan, 3, x, eps, null, null, a, { variance: 'learned-range' });
    const b = new Float32Array(3);
    reverseStep(plan, 3, x, eps, Float32Array.from([1, 1, 1]), Float32Array.from([9, 9, 9]), b, { variance: 'fixed-large' });
    expect([...a]).toEqual([...b]);
  });

  it('clipX0: false skips the clip', () => {
    const plan = planReverse(consts('linear', 1000), 500, { kind: 'one-shot' });
    const x = Float32Array.from([3]);
    const eps = Float32Array.from([0]);
    const out = new Float32Array(1);
    reverseStep(plan, 0, x, eps, null, null, out, { variance: 'fixed-small', clipX0: false });
    expect(out[0]).toBeGreaterThan(1);
    reverseStep(plan, 0, x, eps, null, null, out, { variance: 'fixed-small' });
    expect(out[0]).toBe(1);
  });

  it('validates inputs', () => {
    const plan = planReverse(consts('linear', 1000), 10, { kind: 'full' });
    const z = new Float32Array(4);
    const code = (f: () => void): string => {
      try {
        f();
      } catch (e) {
        return (e as DensePureMathError).code;
      }
      return 'none';
    };
    expect(code(() => reverseStep(plan, 0, z, z, null, z, z, { variance: 'learned-range' }))).toBe('invalid-argument');
    expect(code(() => reverseStep(plan, 0, z, z, z, null, z, { variance: 'fixed-small' }))).toBe('invalid-argument');
    expect(code(() => reverseStep(plan, 0, z, new Float32Array(3), z, z, z, { variance: 'fixed-small' }))).toBe('invalid-argument');
    expect(code(() => reverseStep(plan, 11, z, z, z, z, z, { variance: 'fixed-small' }))).toBe('invalid-argument');
    expect(code(() => reverseStep(plan, 0, z, z, z, z, z, { variance: 'bogus' as VarianceKind }))).toBe('invalid-argument');
    expect(code(() => reverseStep(plan, 0, z, z, z, z, z, { variance: 'fixed-small' }))).toBe('none');
  });
});

describe('planReverse respaced', () => {
  for (const r of REF.respacedPlans as Json[]) {
    it(`${r.schedule} T=${r.T} t*=${r.tStar} steps=${r.steps}: uniform (SpacedDiffusion) and densepure`, () => {
      const c = consts(r.schedule, r.T);
      const u = planReverse(c, r.tStar, { kind: 'respaced', steps: r.steps });
      expect(u.modelTimesteps).toEqual((r.uniform as Json[]).map((s) => s.modelTimestep));
      expect(u.modelTimesteps[0]).toBe(r.tStar);
      expect(u.modelTimesteps.at(-1)).toBe(0);
      (r.uniform as Json[]).forEach((ref, i) => {
        expect(u.steps[i]!.respacedIndex).toBe(ref.respacedIndex);
        expect(u.steps[i]!.addsNoise).toBe(ref.respacedIndex > 0);
        expectCoefficients(u.steps[i]!, ref, `uniform step ${i}`);
      });
      const d = planReverse(c, r.tStar, { kind: 'respaced', steps: r.steps, spacing: 'densepure' });
      expect(d.modelTimesteps).toEqual((r.densepure as Json[]).map((s) => s.modelTimestep));
      (r.densepure as Json[]).forEach((ref, i) => {
        expect(d.steps[i]!.respacedIndex).toBe(ref.respacedIndex);
        expectCoefficients(d.steps[i]!, ref, `densepure step ${i}`);
      });
      expect(d.steps.at(-1)!.addsNoise).toBe(false);
    });
  }

  it('steps = t* + 1 keeps every timestep with the original coefficients; steps = 1 is one step at t*', () => {
    const c = consts('linear', 1000);
    const all = planReverse(c, 20, { kind: 'respaced', steps: 21 });
    const full = planReverse(c, 20, { kind: 'full' });
    expect(all.modelTimesteps).toEqual(full.modelTimesteps);
    all.steps.forEach((s, i) => {
      expectClose(s.posteriorMeanCoef1, full.steps[i]!.posteriorMeanCoef1, 1e-9);
      expectClose(s.logBeta, full.steps[i]!.logBeta, 1e-9);
    });
    const one = planReverse(c, 300, { kind: 'respaced', steps: 1 });
    expect(one.modelTimesteps).toEqual([300]);
    expectClose(one.steps[0]!.posteriorMeanCoef1, 1, 1e-12);
    expect(one.steps[0]!.posteriorMeanCoef2).toBe(0);
  });

  it('explains impossible respacings and bad t*', () => {
    const c = consts('linear', 1000);
    expect(() => planReverse(c, 5, { kind: 'respaced', steps: 7 })).toThrow(/at most 6 steps/);
    expect(() => planReverse(c, 4, { kind: 'respaced', steps: 10, spacing: 'densepure' })).toThrow(/repeats timestep/);
    expect(() => planReverse(c, 1000, { kind: 'full' })).toThrow(DensePureMathError);
    expect(() => planReverse(c, 10, { kind: 'respaced', steps: 0 })).toThrow(DensePureMathError);
  });

  it('checkedPlanReverse returns what planReverse throws for steps it cannot space, and its plans otherwise', () => {
    const c = consts('linear', 1000);
    const spacingError = (f: () => unknown): { kind: string; message: string } => {
      try {
        f();
      } catch (e) {
        return { kind: (e as DensePureMathError).code, message: (e as Error).message };
      }
      throw new Error('expected a throw');
    };
    for (const mode of [{ kind: 'respaced', steps: 7 }, { kind: 'respaced', steps: 10, spacing: 'densepure' }] as const) {
      const tStar = mode.steps === 7 ? 5 : 4;
      expect(checkedPlanReverse(c, tStar, mode)).toEqual(E.left(spacingError(() => planReverse(c, tStar, mode))));
    }
    expect(checkedPlanReverse(c, 10, { kind: 'respaced', steps: 0 })).toEqual(E.left({ kind: 'invalid-spacing', message: 'respaced steps must be an integer >= 1, got 0' }));
    for (const mode of [{ kind: 'full' }, { kind: 'one-shot' }, { kind: 'respaced', steps: 4 }, { kind: 'respaced', steps: 3, spacing: 'densepure' }] as const) {
      expect(checkedPlanReverse(c, 300, mode)).toEqual(E.right(planReverse(c, 300, mode)));
    }
    // A t* outside the schedule is the caller's mistake, not the schedule's limit.
    expect(() => checkedPlanReverse(c, 1000, { kind: 'full' })).toThrow(DensePureMathError);
  });
});

describe('toModelScale / fromModelScale', () => {
  it('x_t* = scale (2x - 1 + 2 sigma noise), image broadcast over the batch', () => {
    const x = Float32Array.from([0, 0.5, 1]);
    const noise = Float32Array.from([1, 0, -1, 0.5, 0.5, 0.5]);
    const out = new Float32Array(6);
    toModelScale(x, 0.25, noise, 0.8, out);
    const want = [0.8 * (-1 + 0.5), 0, 0.8 * (1 - 0.5), 0.8 * (-1 + 0.25), 0.8 * 0.25, 0.8 * (1 + 0.25)];
    want.forEach((w, i) => expect(out[i]).toBeCloseTo(w, 6));
    expect(() => toModelScale(x, 0.25, new Float32Array(4), 1, new Float32Array(4))).toThrow(DensePureMathError);
    expect(() => toModelScale(x, 0.25, noise, 1, new Float32Array(3))).toThrow(DensePureMathError);
  });
  it('(x + 1) / 2 clipped to [0, 1], in place allowed', () => {
    const x = Float32Array.from([-3, -1, 0, 0.5, 1, 2]);
    fromModelScale(x, x);
    expect([...x]).toEqual([0, 0, 0.5, 0.75, 1, 1]);
  });
});

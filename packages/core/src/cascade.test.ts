import { either as E } from 'fp-ts';
import { describe, expect, it } from 'vitest';
import { type CascadeRule, cascadeLevels, cascadeRadius, cascadeResult, cascadeRule, certifyCascade, fixedStage, offClassCap, validateCascadeSettings } from './cascade.js';
import { certifyCascadeSequential } from './cascade-sequential.js';
import { type Sampler, certify } from './certify.js';
import { certifySequential } from './sequential.js';
import { right } from './test-util/either.js';
import { addressedSampler } from './test-util/simulate.js';

/** A sampler that answers whole phases with fixed counts: selection draws [0, n0), estimation after. */
const scripted =
  (n0: number, selection: number[], estimation: number[]): Sampler =>
  async ({ firstDraw }) =>
    E.right(firstDraw < n0 ? selection : estimation);

const close = (actual: number, expected: number, rel = 1e-9): void => expect(Math.abs(actual - expected)).toBeLessThanOrEqual(rel * Math.abs(expected));

describe('cascade settings', () => {
  const ok = { sigmas: [1, 0.5, 0.25], p0: 0.5, alpha: 0.001 };
  it('accepts decreasing sigmas and p0 in [1/2, 1)', () => {
    expect(E.isRight(validateCascadeSettings(ok))).toBe(true);
    expect(E.isRight(validateCascadeSettings({ ...ok, p0: 0.99 }))).toBe(true);
  });
  it.each([
    [{ sigmas: [] }, 'sigmas-empty'],
    [{ sigmas: [1, 0, 0.25] }, 'sigma-not-positive'],
    [{ sigmas: [1, Number.NaN] }, 'sigma-not-positive'],
    [{ sigmas: [0.25, 0.5, 1] }, 'sigmas-not-decreasing'],
    [{ sigmas: [1, 0.5, 0.5] }, 'sigmas-not-decreasing'],
    [{ p0: 0 }, 'p0-out-of-range'],
    [{ p0: 1 }, 'p0-out-of-range'],
    [{ p0: 1.5 }, 'p0-out-of-range'],
    [{ p0: Number.NaN }, 'p0-out-of-range'],
    [{ p0: 0.4 }, 'p0-below-half'],
    [{ alpha: 0 }, 'alpha-out-of-range'],
  ])('refuses %j (%s)', (change, kind) => {
    const checked = validateCascadeSettings({ ...ok, ...change });
    expect(E.isLeft(checked) && checked.left.kind).toBe(kind);
  });
  it('says which sigma breaks the order', () => {
    const checked = validateCascadeSettings({ ...ok, sigmas: [1, 0.25, 0.5] });
    expect(E.isLeft(checked) && checked.left.message).toMatch(/strictly decreasing .*0\.5 follows 0\.25/);
  });
});

describe('alpha split', () => {
  it('gives alpha/K to each stage, halved between lower and class upper bounds before the last', () => {
    expect(cascadeLevels(1, 0.001)).toEqual([{ lower: 0.001, upper: 0 }]);
    const levels = cascadeLevels(3, 0.003);
    expect(levels).toEqual([
      { lower: 0.0005, upper: 0.0005 },
      { lower: 0.0005, upper: 0.0005 },
      { lower: 0.001, upper: 0 },
    ]);
    close(
      levels.reduce((s, l) => s + l.lower + l.upper, 0),
      0.003,
      1e-12,
    );
  });
});

describe('radius rule (hand-computed)', () => {
  // Phi^{-1}(0.9) = 1.2815515655446004, Phi^{-1}(0.7) = 0.5244005127080407, Phi^{-1}(0.4) = -0.2533471031357997.
  const skipped = [{ sigma: 1.0, classUpper: [0.3, 0.2, 0.4] }];
  it('caps an answer by the skipped stages: sigma_j (Phi^{-1}(p0) - Phi^{-1}(max other upper))', () => {
    close(offClassCap(skipped, 0, 0.5), 0.2533471031357997);
    // The answer's own class does not count: for class 2 the largest other is 0.3.
    close(offClassCap(skipped, 2, 0.5), 0.5244005127080407);
    close(offClassCap(skipped, 0, 0.7), 0.5244005127080407 + 0.2533471031357997);
    expect(offClassCap([], 0, 0.5)).toBe(Number.POSITIVE_INFINITY);
  });
  it('takes the smaller of the answering stage radius and the cap', () => {
    // Stage sigma 0.5 answers with lower bound 0.9: own radius 0.5 Phi^{-1}(0.9) = 0.6407757827723002.
    close(cascadeRadius(0.5, 0.9, 0.5, offClassCap(skipped, 0, 0.5)), 0.2533471031357997);
    close(cascadeRadius(0.5, 0.9, 0.5, Number.POSITIVE_INFINITY), 0.6407757827723002);
    // p0 = 0.7: own radius 0.5 (1.2815515655446004 - 0.5244005127080407), cap 0.777747615843840.
    close(cascadeRadius(0.5, 0.9, 0.7, offClassCap(skipped, 0, 0.7)), 0.5 * (1.2815515655446004 - 0.5244005127080407));
  });
});

describe('fixed-N cascade against the reference formulas', () => {
  // Two stages sigma 1, 0.5, p0 = 1/2, alpha = 0.001, three classes, n = 100. Expected values from scipy:
  // lower = beta.ppf(a, k, n - k + 1), upper = beta.isf(a, k + 1, n - k) (statsmodels' proportion_confint
  // 'beta', the reference's bounds), at this split's levels: stage 0 a = alpha/4 for its top class and
  // alpha/12 per class; stage 1 a = alpha/2.
  const options = { sigmas: [1, 0.5], p0: 0.5, alpha: 0.001, n0: 10, n: 100, batchSize: 100, numClasses: 3 };
  const stage0 = scripted(10, [10, 0, 0], [20, 10, 70]);

  it('skips a stage whose top class is below p0 and certifies the next, capped by the skipped stage', async () => {
    const r = await right(certifyCascade([stage0, scripted(10, [0, 0, 10], [2, 3, 95])], options));
    expect(r.stages.map((s) => s.decision)).toEqual(['skip', 'answer']);
    close(r.stages[0]!.upper, 0.36592670017371526, 1e-7);
    const classUpper = r.stages[0]!.classUpper!;
    [0.38025352738042123, 0.2559852377006127, 0.85190428566796].forEach((u, c) => close(classUpper[c]!, u, 1e-7));
    close(r.stages[1]!.lower, 0.836385007472585, 1e-7);
    expect(r.kind).toBe('certified');
    if (r.kind !== 'certified') return;
    expect(r).toMatchObject({ label: 2, stage: 1, sigma: 0.5 });
    // min(0.5 Phi^{-1}(0.8364) = 0.48985, 1.0 (0 - Phi^{-1}(0.38025)) = 0.30482): the skipped stage binds.
    close(r.radius, 0.30481500230040315, 1e-7);
  });

  it("abstains when a skipped stage's bound on another class is not below p0 (the reference's negative radius)", async () => {
    const r = await right(certifyCascade([stage0, scripted(10, [10, 0, 0], [95, 3, 2])], options));
    expect(r).toMatchObject({ kind: 'abstain', reason: 'off-class-bound', label: 0, stage: 1 });
    // The reference's radius here: min(own, -max(off-class radii)) = min(0.49, -1.0446) < 0.
    close(offClassCap(r.stages.slice(0, 1), 0, 0.5), -1.0446355801288074, 1e-7);
  });

  it('stops undecided at a stage whose bounds straddle p0 (the reference returns -2 there)', async () => {
    let asked = false;
    const never: Sampler = async () => {
      asked = true;
      return E.right([0, 0, 0]);
    };
    const r = await right(certifyCascade([scripted(10, [10, 0, 0], [50, 25, 25]), never], options));
    expect(r).toMatchObject({ kind: 'abstain', reason: 'undecided', stage: 0 });
    close(r.stages[0]!.lower, 0.32691534512440457, 1e-7);
    close(r.stages[0]!.upper, 0.6730846548755954, 1e-7);
    expect(asked).toBe(false);
  });

  it('abstains when every stage is skipped', async () => {
    const r = await right(certifyCascade([stage0, scripted(10, [10, 0, 0], [20, 10, 70])], options));
    expect(r).toMatchObject({ kind: 'abstain', reason: 'all-skipped', stage: 1 });
  });

  it('answers at the first stage without a cap', async () => {
    const r = await right(certifyCascade([scripted(10, [0, 10, 0], [1, 98, 1]), scripted(10, [0, 0, 0], [0, 0, 0])], options));
    expect(r).toMatchObject({ kind: 'certified', label: 1, stage: 0, sigma: 1 });
  });

  it('with p0 = 0.7 the own radius shrinks by sigma Phi^{-1}(p0) and binds', async () => {
    const r = await right(certifyCascade([stage0, scripted(10, [0, 0, 10], [2, 3, 95])], { ...options, p0: 0.7 }));
    expect(r.kind === 'certified' && r.radius).toBeCloseTo(0.22765403828912167, 7);
  });

  it('the pure result follows the stages it is given', () => {
    const rule: CascadeRule = cascadeRule({ sigmas: [1, 0.5], p0: 0.5, alpha: 0.001, numClasses: 3 });
    const s0 = fixedStage(rule, 0, [10, 0, 0], [20, 10, 70], 100);
    const s1 = fixedStage(rule, 1, [0, 0, 10], [2, 3, 95], 100);
    expect(cascadeResult(rule, [s0, s1])).toMatchObject({ kind: 'certified', label: 2 });
    expect(() => cascadeResult(rule, [s0])).toThrow(/skipped but the cascade has 2 stages/);
  });
});

describe('one stage with p0 = 1/2 is plain CERTIFY', () => {
  it('fixed N: the same label, pA and radius, to the last bit, on the same draws', async () => {
    let certified = 0;
    for (const p of [0.3, 0.5, 0.52, 0.55, 0.7, 0.9, 0.99, 1]) {
      for (let seed = 1; seed <= 6; seed++) {
        const o = { sigma: 0.5, alpha: 0.001, n0: 20, n: 400, batchSize: 64, numClasses: 2 };
        const plain = await right(certify(addressedSampler(p, seed), o));
        const cascade = await right(certifyCascade([addressedSampler(p, seed)], { ...o, sigmas: [0.5], p0: 0.5 }));
        expect(cascade.kind).toBe(plain.kind);
        expect(cascade.label).toBe(plain.label);
        expect(cascade.stages[0]!.lower).toBe(plain.pA);
        if (plain.kind === 'certified' && cascade.kind === 'certified') {
          expect(cascade.radius).toBe(plain.radius);
          certified++;
        }
      }
    }
    expect(certified).toBeGreaterThan(10);
  });

  it('sequential: the same stop, draws and radius as sequential CERTIFY without its cap futility stop', async () => {
    for (const p of [0.4, 0.6, 0.8, 0.9, 0.97]) {
      for (let seed = 1; seed <= 4; seed++) {
        const o = { sigma: 0.5, alpha: 0.001, n0: 20, nMax: 4000, radii: [0.25, 0.5, 0.75], batchSize: 64, numClasses: 2 };
        const plain = await right(certifySequential(addressedSampler(p, seed), { ...o, capFutility: false }));
        const cascade = await right(certifyCascadeSequential([addressedSampler(p, seed)], { ...o, sigmas: [0.5], p0: 0.5 }));
        const stage = cascade.stages[0]!;
        expect(stage.estimation).toBe(plain.draws.estimation);
        expect(stage.rounds).toBe(plain.draws.rounds);
        expect(stage.lower).toBe(plain.pA);
        expect(cascade.kind).toBe(plain.kind);
        if (plain.kind === 'certified' && cascade.kind === 'certified') expect(cascade.radius).toBe(plain.radius);
        const stops: Record<string, string> = { 'pA-below-half': 'below-p0' };
        expect(stage.stop).toBe(stops[plain.stop] ?? plain.stop);
      }
    }
  });
});

describe('sequential cascade', () => {
  // Two classes and p0 = 0.7: a stage whose top class has probability 0.6 is skipped.
  const o = { sigmas: [1, 0.5], p0: 0.7, alpha: 0.001, n0: 20, nMax: 5000, radii: [0.25, 0.5, 1], batchSize: 1000, numClasses: 2 };
  it('skips a stage below p0 early and certifies at the next one, capped by the skipped stage', async () => {
    const r = await right(certifyCascadeSequential([addressedSampler(0.4, 1), addressedSampler(0.95, 2)], o));
    expect(r.stages.map((s) => s.decision)).toEqual(['skip', 'answer']);
    // Its cap on class 0 can pass radius 0.5 but never 1 (1.0 (Phi^{-1}(0.7) - Phi^{-1}(0.4)) = 0.78): it stops
    // drawing once the bounds show that.
    expect(r.stages[0]!.stop).toBe('skipped-cap-out-of-reach');
    expect(r.stages[0]!.estimation).toBeLessThan(o.nMax);
    expect(r).toMatchObject({ kind: 'certified', label: 0, stage: 1, sigma: 0.5 });
    // The cap is read from the skipped stage's bound on class 1 (probability 0.6 there): below sigma_0 (Phi^{-1}(0.7) - Phi^{-1}(0.6)).
    expect(r.kind === 'certified' && r.radius).toBeLessThan(0.5244005127080407 - 0.2533471031357997);
  });
  it('stops a stage once its radius reaches the cap of the skipped stages', async () => {
    const r = await right(certifyCascadeSequential([addressedSampler(0.35, 3), addressedSampler(0.999, 4)], { ...o, radii: [0.25, 0.5, 1, 2] }));
    expect(r.stages[1]!.stop).toBe('capped-by-skipped-stages');
    expect(r.kind === 'certified' && r.radius).toBe(offClassCap(r.stages.slice(0, 1), 0, 0.7));
  });
  it('runs a stage to the cap when its top class sits at p0, then abstains undecided', async () => {
    const r = await right(certifyCascadeSequential([addressedSampler(0.3, 5), addressedSampler(0.9, 6)], { ...o, nMax: 600 }));
    expect(r).toMatchObject({ kind: 'abstain', reason: 'undecided', stage: 0 });
    expect(r.stages[0]).toMatchObject({ stop: 'draw-cap', estimation: 600 });
  });
});

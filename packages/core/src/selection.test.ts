// Adaptive top-class selection: its looks, its stop, that the certificate never sees a selection draw (the
// property its validity rests on), and the one claim it makes of its own: it stops early on a class holding at
// most half of the votes with probability at most its level (simulation, with a power check).
import { either as E } from 'fp-ts';
import { describe, expect, it } from 'vitest';
import type { Sampler } from './certify.js';
import { betaMixtureBounds } from './confidence-sequence.js';
import { certifySequential, type SequentialCertifyOptions } from './sequential.js';
import { firstSelectionLook, selectionLooks, selectionPick } from './selection.js';
import { clopperPearsonLower } from './stats.js';
import { right } from './test-util/either.js';
import { addressedSampler, hashUniform, seededUniform } from './test-util/simulate.js';

const OPTIONS: SequentialCertifyOptions = { sigma: 0.5, n0: 100, nMax: 100_000, alpha: 0.001, radii: [0.25, 0.5], numClasses: 3, batchSize: 1000 };

/** Three classes: draw i votes 0 with probability p, else 1 or 2 by a second hash; `below`/`above` override draws. */
function threeClassSampler(p: number, seed: number, vote?: (i: number) => number | undefined): Sampler {
  return ({ firstDraw, count }) => {
    const counts = [0, 0, 0];
    for (let i = firstDraw; i < firstDraw + count; i++) {
      const forced = vote?.(i);
      counts[forced ?? (hashUniform(seed, i) < p ? 0 : hashUniform(seed + 1, i) < 0.5 ? 1 : 2)]! += 1;
    }
    return Promise.resolve(E.right(counts));
  };
}

describe('selection looks', () => {
  it('fixed looks once at n0; adaptive first where unanimous draws can stop, then grows by half up to n0', () => {
    expect(selectionLooks(100, { kind: 'fixed' }, 0.001)).toEqual([100]);
    const first = firstSelectionLook(0.001);
    expect(betaMixtureBounds(first, first, 0.001).lower).toBeGreaterThan(0.5);
    expect(betaMixtureBounds(first - 1, first - 1, 0.001).lower).toBeLessThanOrEqual(0.5);
    const looks = selectionLooks(100, { kind: 'adaptive' }, 0.001);
    expect(looks[0]).toBe(first);
    expect(looks.at(-1)).toBe(100);
    for (let i = 1; i < looks.length; i++) expect(looks[i]).toBe(Math.min(100, Math.ceil(1.5 * looks[i - 1]!)));
    expect(selectionLooks(100, { kind: 'adaptive', level: 0.1 }, 0.001)[0]).toBe(firstSelectionLook(0.1));
    expect(selectionLooks(5, { kind: 'adaptive' }, 0.001)).toEqual([5]);
  });

  it('picks early only a clear majority, and always at n0 (ties to the smallest label)', () => {
    const adaptive = { kind: 'adaptive' } as const;
    expect(selectionPick([11, 0, 0], 11, 100, adaptive, 0.001)).toBe(0);
    expect(selectionPick([10, 1, 0], 11, 100, adaptive, 0.001)).toBeNull();
    expect(selectionPick([0, 30, 0], 30, 100, { kind: 'fixed' }, 0.001)).toBeNull();
    expect(selectionPick([40, 40, 20], 100, 100, adaptive, 0.001)).toBe(0);
    expect(selectionPick([10, 45, 45], 100, 100, adaptive, 0.001)).toBe(1);
  });
});

describe('adaptive selection in certifySequential', () => {
  it('the label reads no draw from n0 on, and the estimation counts no draw below n0', async () => {
    const base = await right(certifySequential(threeClassSampler(0.9, 3), OPTIONS));
    expect(base.draws.selection).toBeLessThan(OPTIONS.n0);
    // Every draw from n0 on votes class 2: the label cannot change (it saw none of them).
    const late = await right(certifySequential(threeClassSampler(0.9, 3, (i) => (i >= OPTIONS.n0 ? 2 : undefined)), OPTIONS));
    expect(late.label).toBe(base.label);
    expect(late.counts.selection).toEqual(base.counts.selection);
    // Every draw below n0 votes class 0 (it was picked anyway): estimation is exactly as before.
    const early = await right(certifySequential(threeClassSampler(0.9, 3, (i) => (i < OPTIONS.n0 ? 0 : undefined)), OPTIONS));
    expect(early.counts.estimation).toEqual(base.counts.estimation);
    expect(early.pA).toBe(base.pA);
  });

  it('falls back to all n0 draws and the most voted class when no class is a clear majority', async () => {
    // Class 0 votes 40% of the time, classes 1 and 2 30% each.
    const r = await right(certifySequential(threeClassSampler(0.4, 9), { ...OPTIONS, radii: [0.25] }));
    expect(r.draws.selection).toBe(100);
    expect(r.counts.selection.reduce((a, b) => a + b)).toBe(100);
    expect(r.label).toBe(r.counts.selection.indexOf(Math.max(...r.counts.selection)));
  });

  it('uses fewer selection draws than n0 at a clear top class, on the fixed rule\'s label', async () => {
    for (let seed = 0; seed < 20; seed++) {
      const adaptive = await right(certifySequential(addressedSampler(0.95, seed), { ...OPTIONS, numClasses: 2 }));
      const fixed = await right(certifySequential(addressedSampler(0.95, seed), { ...OPTIONS, numClasses: 2, selection: { kind: 'fixed' } }));
      expect(adaptive.label).toBe(fixed.label);
      expect(adaptive.draws.selection).toBeLessThanOrEqual(40);
      expect(adaptive.draws.estimation).toBe(fixed.draws.estimation);
    }
  });
});

// The level claim by simulation: at a tie (two classes at 1/2, no class a majority) any early stop picks a class
// with at most half of the votes. Threshold: the 99% Clopper-Pearson lower bound of the early-stop rate must not
// exceed the level. Power: the same looks with a fixed-n Clopper-Pearson bound (not anytime valid) must fail it.
describe('adaptive selection stops early on a non-majority class at most `level` of the time', () => {
  const LEVEL = 0.1;
  const REPS = 4000;
  /** Fraction of runs, on fair coin votes, in which some look before n0 = 100 stops (picks a class early). */
  function earlyStopRate(lowerOf: (k: number, s: number) => number, seed: number): number {
    const looks = selectionLooks(100, { kind: 'adaptive', level: LEVEL }, LEVEL);
    let early = 0;
    const uniform = seededUniform(seed);
    for (let rep = 0; rep < REPS; rep++) {
      let k = 0;
      let s = 0;
      for (const look of looks.slice(0, -1)) {
        for (; s < look; s++) if (uniform() < 0.5) k++;
        if (lowerOf(Math.max(k, s - k), s) > 0.5) {
          early++;
          break;
        }
      }
    }
    return early / REPS;
  }
  const consistent = (rate: number): boolean => rate === 0 || clopperPearsonLower(Math.round(rate * REPS), REPS, 0.01) <= LEVEL;

  it('at a tie, with the mixture bound (the rule selectionPick applies)', () => {
    let picks = 0;
    const looks = selectionLooks(100, { kind: 'adaptive', level: LEVEL }, LEVEL);
    const uniform = seededUniform(5);
    for (let rep = 0; rep < REPS; rep++) {
      const counts = [0, 0];
      let s = 0;
      for (const look of looks.slice(0, -1)) {
        for (; s < look; s++) counts[uniform() < 0.5 ? 0 : 1]! += 1;
        if (selectionPick(counts, s, 100, { kind: 'adaptive', level: LEVEL }, 0.001) !== null) {
          picks++;
          break;
        }
      }
    }
    if (process.env['COVERAGE_LOG']) console.log(`early picks at a tie: ${picks}/${REPS}`);
    expect(consistent(picks / REPS), `${picks}/${REPS}`).toBe(true);
  });

  it('power: fixed-n Clopper-Pearson bounds at the same looks stop early too often', () => {
    const rate = earlyStopRate((k, s) => clopperPearsonLower(k, s, LEVEL), 7);
    if (process.env['COVERAGE_LOG']) console.log(`early picks at a tie, fixed-n bounds: ${rate}`);
    expect(consistent(rate)).toBe(false);
  });
});

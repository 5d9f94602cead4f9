import { either as E } from 'fp-ts';
import { describe, expect, it } from 'vitest';
import { certify, type DrawRequest, type Sampler } from './certify.js';
import {
  certifySequential,
  nextRoundSize,
  replayLooks,
  sequentialLook,
  sequentialRule,
  type SequentialCertifyOptions,
} from './sequential.js';
import { drawsToCertify, validateSequentialOptions, type SequentialOptionsError } from './sequential-options.js';
import { firstSelectionLook } from './selection.js';
import { betaMixtureBounds } from './confidence-sequence.js';
import { normalCdf, normalQuantile } from './stats.js';
import { isDensePureMathError } from './errors.js';
import { right } from './test-util/either.js';
import { addressedSampler, binomialSampler } from './test-util/simulate.js';

const BASE: SequentialCertifyOptions = {
  sigma: 0.5,
  n0: 100,
  nMax: 100_000,
  alpha: 0.001,
  radii: [0.25, 0.5, 0.75, 1],
  numClasses: 2,
  batchSize: 1000,
};

const allCorrect: Sampler = ({ count }) => Promise.resolve(E.right([count, 0]));

function leftOf(o: Partial<SequentialCertifyOptions>): SequentialOptionsError {
  const v = validateSequentialOptions({ ...BASE, ...o });
  if (E.isRight(v)) throw new Error('expected a validation error');
  return v.left;
}

describe('validateSequentialOptions', () => {
  it('accepts good options and returns them unchanged (a Right)', () => {
    const v = validateSequentialOptions(BASE);
    expect(v).toEqual(E.right(BASE));
  });

  it('reports radii that are empty, not positive or not increasing', () => {
    expect(leftOf({ radii: [] }).kind).toBe('radii-empty');
    expect(leftOf({ radii: [0, 0.5] })).toMatchObject({ kind: 'radius-not-positive', index: 0, radius: 0 });
    expect(leftOf({ radii: [0.25, -1] })).toMatchObject({ kind: 'radius-not-positive', index: 1 });
    expect(leftOf({ radii: [0.25, Number.NaN] }).kind).toBe('radius-not-positive');
    expect(leftOf({ radii: [0.5, 0.25] })).toMatchObject({ kind: 'radii-not-increasing', index: 1, previous: 0.5 });
    expect(leftOf({ radii: [0.5, 0.5] }).kind).toBe('radii-not-increasing');
  });

  it('reports alpha outside (0, 1) and malformed numbers', () => {
    for (const alpha of [0, 1, -0.1, Number.NaN]) {
      expect(leftOf({ alpha })).toMatchObject({ kind: 'alpha-out-of-range', option: 'alpha' });
    }
    expect(leftOf({ futilityAlpha: 1 })).toMatchObject({ kind: 'alpha-out-of-range', option: 'futilityAlpha' });
    expect(leftOf({ sigma: 0 })).toMatchObject({ kind: 'invalid-option', option: 'sigma' });
    expect(leftOf({ n0: 0 })).toMatchObject({ kind: 'invalid-option', option: 'n0' });
    expect(leftOf({ nMax: 1.5 })).toMatchObject({ kind: 'invalid-option', option: 'nMax' });
    expect(leftOf({ numClasses: 1 })).toMatchObject({ kind: 'invalid-option', option: 'numClasses' });
    expect(leftOf({ batchSize: 0 })).toMatchObject({ kind: 'invalid-option', option: 'batchSize' });
    expect(leftOf({ minRound: 0 })).toMatchObject({ kind: 'invalid-option', option: 'minRound' });
    expect(leftOf({ roundGrowth: -1 })).toMatchObject({ kind: 'invalid-option', option: 'roundGrowth' });
    expect(leftOf({ prior: [] })).toMatchObject({ kind: 'invalid-option', option: 'prior' });
    expect(leftOf({ selection: { kind: 'adaptive', level: 1 } })).toMatchObject({ kind: 'alpha-out-of-range', option: 'selectionLevel' });
    expect(leftOf({ selection: { kind: 'sometimes' } as never })).toMatchObject({ kind: 'invalid-option', option: 'selection' });
    expect(leftOf({ n0: 2 ** 31, nMax: 2 ** 31 + 1 }).kind).toBe('too-many-draws');
  });

  it('reports a radius the cap cannot reach even with every draw correct, with the cap it would need', () => {
    // sigma 0.25, radius 0.75: pA >= Phi(3) = 0.99865 needs thousands of all-correct draws.
    const e = leftOf({ sigma: 0.25, radii: [0.25, 0.5, 0.75], nMax: 1000 });
    expect(e).toMatchObject({ kind: 'radius-unreachable', radius: 0.75, largestRadius: 0.75, nMax: 1000 });
    if (e.kind !== 'radius-unreachable') throw new Error('unreachable');
    const needed = e.neededNMax!;
    expect(needed).toBeGreaterThan(5114); // more than fixed-N Clopper-Pearson needs (its price for anytime validity)
    expect(needed).toBeLessThan(8000);
    expect(e.message).toContain(String(needed));
    expect(validateSequentialOptions({ ...BASE, sigma: 0.25, radii: [0.25, 0.5, 0.75], nMax: needed })._tag).toBe('Right');
    expect(validateSequentialOptions({ ...BASE, sigma: 0.25, radii: [0.25, 0.5, 0.75], nMax: needed - 1 })._tag).toBe('Left');
    expect(drawsToCertify(0.75, 0.25, 0.001)).toBe(needed);
    // The smallest unreachable radius is the one named.
    expect(leftOf({ sigma: 0.25, radii: [0.25, 0.5, 0.75], nMax: 200 })).toMatchObject({ radius: 0.5 });
    // No cap can certify a radius whose threshold rounds to 1.
    expect(leftOf({ sigma: 0.1, radii: [1] })).toMatchObject({ kind: 'radius-unreachable', neededNMax: null });
  });

  it('never names command-line flags in messages', () => {
    const cases: Partial<SequentialCertifyOptions>[] = [
      { radii: [] },
      { radii: [0.5, 0.25] },
      { radii: [-1] },
      { alpha: 2 },
      { sigma: -1 },
      { nMax: 10 },
      { n0: 0 },
      { batchSize: 0 },
    ];
    for (const c of cases) expect(leftOf(c).message).not.toMatch(/--/);
  });

  it('certifySequential throws invalid-argument on the same problems', async () => {
    await expect(certifySequential(allCorrect, { ...BASE, radii: [1, 0.5] })).rejects.toSatisfy(
      (e: unknown) => isDensePureMathError(e) && e.code === 'invalid-argument',
    );
  });
});

describe('certifySequential', () => {
  it('stops as soon as the largest radius is certified when every draw is correct', async () => {
    const seen: DrawRequest[] = [];
    const sampler: Sampler = (req) => {
      seen.push(req);
      return allCorrect(req);
    };
    const r = await right(certifySequential(sampler, BASE));
    expect(r.kind).toBe('certified');
    if (r.kind !== 'certified') return;
    expect(r.stop).toBe('largest-radius-certified');
    expect(r.label).toBe(0);
    expect(r.radius).toBeGreaterThanOrEqual(1);
    expect(r.radius).toBe(0.5 * normalQuantile(r.pA));
    expect(r.pA).toBe(betaMixtureBounds(r.nA, r.draws.estimation, 0.001).lower);
    const needed = drawsToCertify(1, 0.5, 0.001)!;
    expect(r.draws.estimation).toBeGreaterThanOrEqual(needed);
    expect(r.draws.estimation).toBeLessThan(needed * 1.1 + 50); // overshoot of one round at most
    // Adaptive selection stops at its first look: every draw so far agrees.
    const s = firstSelectionLook(0.001);
    expect(r.draws.selection).toBe(s);
    expect(r.counts.selection).toEqual([s, 0]);
    expect(r.counts.estimation).toEqual([r.draws.estimation, 0]);
    // Draws are contiguous within each phase, selection [0, s) first, estimation from n0 on, never reused.
    let next = 0;
    for (const q of seen) {
      if (next === s) next = 100;
      expect(q.firstDraw).toBe(next);
      expect(q.count).toBeLessThanOrEqual(1000);
      next += q.count;
    }
    expect(next).toBe(100 + r.draws.estimation);
  });

  it('with fixed selection uses all n0 selection draws, and the same estimation draws', async () => {
    const adaptive = await right(certifySequential(addressedSampler(0.97, 4), BASE));
    const fixed = await right(certifySequential(addressedSampler(0.97, 4), { ...BASE, selection: { kind: 'fixed' } }));
    expect(fixed.draws.selection).toBe(100);
    expect(fixed.counts.selection.reduce((a, b) => a + b)).toBe(100);
    expect(adaptive.draws.selection).toBeLessThan(100);
    expect(adaptive.label).toBe(fixed.label);
    const { counts: _a, draws: da, ...restA } = adaptive;
    const { counts: _f, draws: df, ...restF } = fixed;
    expect(restA).toEqual(restF);
    expect(da.estimation).toBe(df.estimation);
  });

  it('abstains quickly when pA <= 1/2 is clear (selection draws never enter the bound)', async () => {
    // Selection sees only class 0; estimation votes class 0 with probability 0.3.
    const sampler = binomialSampler(0.3, 7, 100);
    const r = await right(certifySequential(sampler, BASE));
    expect(r).toMatchObject({ kind: 'abstain', reason: 'pA<=0.5', stop: 'pA-below-half', label: 0 });
    expect(r.pAUpper).toBeLessThanOrEqual(0.5);
    expect(r.draws.estimation).toBeLessThan(500);
    expect(r.nA).toBe(r.counts.estimation[0]);
  });

  it('stops when the next radius is out of reach, keeping the radius certified so far', async () => {
    // pA = 0.9 at sigma 0.5: certifies 0.5 (Phi(1) = 0.841) but never 0.75 (Phi(1.5) = 0.933).
    const r = await right(certifySequential(addressedSampler(0.9, 3), BASE));
    expect(r.kind).toBe('certified');
    if (r.kind !== 'certified') return;
    // Either the upper bound falls below Phi(1.5), or (usually first) the cap's reach does.
    expect(['next-radius-out-of-reach', 'next-radius-beyond-cap']).toContain(r.stop);
    expect(r.radius).toBeGreaterThanOrEqual(0.5);
    expect(r.radius).toBeLessThan(0.75);
    const noCap = await right(certifySequential(addressedSampler(0.9, 3), { ...BASE, capFutility: false }));
    expect(noCap.stop).toBe('next-radius-out-of-reach');
    expect(noCap.pAUpper).toBeLessThan(normalCdf(1.5));
    expect(r.draws.estimation).toBeLessThan(5000);
  });

  it('settles certified-vs-abstain (the radius-0 column) before giving up on the smallest radius', async () => {
    // pA = 0.6 < Phi(0.5) = 0.69: radius 0.25 is out of reach, but pA > 1/2 gives a small radius, as fixed N would.
    const r = await right(certifySequential(addressedSampler(0.6, 21), BASE));
    expect(r.kind).toBe('certified');
    expect(['next-radius-out-of-reach', 'next-radius-beyond-cap']).toContain(r.stop);
    expect(r.pA).toBeGreaterThan(0.5);
    if (r.kind === 'certified') expect(r.radius).toBeLessThan(0.25);
  });

  it('gives up sooner with a larger futility level, with the same lower bound rule', async () => {
    const opts = { ...BASE, capFutility: false };
    const strict = await right(certifySequential(addressedSampler(0.9, 8), opts));
    const loose = await right(certifySequential(addressedSampler(0.9, 8), { ...opts, futilityAlpha: 0.2 }));
    expect(strict.stop).toBe('next-radius-out-of-reach');
    expect(loose.stop).toBe('next-radius-out-of-reach');
    expect(loose.draws.estimation).toBeLessThan(strict.draws.estimation);
    expect(loose.pA).toBe(betaMixtureBounds(loose.nA, loose.draws.estimation, 0.001).lower);
  });

  it('gives up on a radius the cap cannot plausibly reach, or at the cap', async () => {
    // pA right at Phi(1.5): 0.75 is neither certifiable within 20,000 draws nor clearly out of reach.
    const opts = { ...BASE, nMax: 20_000 };
    const r = await right(certifySequential(addressedSampler(normalCdf(1.5), 11), opts));
    expect(['next-radius-beyond-cap', 'draw-cap']).toContain(r.stop);
    expect(r.kind === 'certified' && r.radius < 0.75).toBe(true);
    const capped = await right(certifySequential(addressedSampler(normalCdf(1.5), 11), { ...opts, capFutility: false }));
    expect(capped.stop).toBe('draw-cap');
    expect(capped.draws.estimation).toBe(20_000);
    expect(r.draws.estimation).toBeLessThanOrEqual(capped.draws.estimation);
  });

  it('a larger futility level replays exactly from the looks of a run at the default level', async () => {
    const opts = { ...BASE, capFutility: false };
    const looks: number[] = [];
    const rule = sequentialRule(opts);
    let n = 0;
    let nA = 0;
    const sampler = addressedSampler(0.9, 8);
    for (;;) {
      const k = nextRoundSize(n, rule);
      nA += (await right(sampler({ firstDraw: 100 + n, count: k })))[0]!;
      n += k;
      looks.push(nA);
      if (sequentialLook(nA, n, rule).stop !== null) break;
    }
    for (const futilityAlpha of [0.001, 0.01, 0.2]) {
      const real = await right(certifySequential(sampler, { ...opts, futilityAlpha, selection: { kind: 'fixed' } }));
      const replayed = replayLooks(looks, sequentialRule({ ...opts, futilityAlpha }))!;
      expect({ stop: replayed.stop, estimation: replayed.estimation, lower: replayed.lower }).toEqual({ stop: real.stop, estimation: real.draws.estimation, lower: real.pA });
    }
    expect(replayLooks(looks.slice(0, 1), rule)).toBeNull();
  });

  it('does not depend on how the rounds are split into sampler calls', async () => {
    const sampler = addressedSampler(0.95, 5);
    const a = await right(certifySequential(sampler, { ...BASE, batchSize: 7 }));
    const b = await right(certifySequential(sampler, { ...BASE, batchSize: 100_000 }));
    expect(a).toEqual(b);
  });

  it('rounds grow as max(minRound, growth * n) and end exactly at the cap', () => {
    const rule = sequentialRule({ ...BASE, nMax: 1000, minRound: 40, roundGrowth: 0.5 });
    expect(nextRoundSize(0, rule)).toBe(40);
    expect(nextRoundSize(100, rule)).toBe(50);
    expect(nextRoundSize(600, rule)).toBe(300);
    expect(nextRoundSize(900, rule)).toBe(100);
    expect(nextRoundSize(1000, rule)).toBe(0);
  });

  it('decides in radius space, as the table does', () => {
    const rule = sequentialRule(BASE);
    // Find counts whose lower bound certifies exactly radius >= 1 at the first n it can.
    const n = drawsToCertify(1, 0.5, 0.001)!;
    expect(sequentialLook(n, n, rule).stop).toBe('largest-radius-certified');
    expect(sequentialLook(n - 1, n - 1, rule).stop).toBeNull();
    expect(0.5 * normalQuantile(sequentialLook(n, n, rule).lower)).toBeGreaterThanOrEqual(1);
  });

  it('reports progress per sampler call', async () => {
    const events: string[] = [];
    await certifySequential(allCorrect, {
      ...BASE,
      n0: 30,
      batchSize: 20,
      radii: [0.25],
      selection: { kind: 'fixed' },
      onBatch: (p) => events.push(`${p.phase}:${p.firstDraw}+${p.count}=${p.doneInPhase}/${p.totalInPhase}`),
    });
    expect(events.slice(0, 3)).toEqual(['selection:0+20=20/30', 'selection:20+10=30/30', 'estimation:30+20=20/100000']);
    const adaptive: string[] = [];
    await certifySequential(allCorrect, { ...BASE, n0: 30, batchSize: 20, radii: [0.25], onBatch: (p) => adaptive.push(`${p.phase}:${p.firstDraw}+${p.count}=${p.doneInPhase}/${p.totalInPhase}`) });
    expect(adaptive.slice(0, 2)).toEqual(['selection:0+11=11/30', 'estimation:30+20=20/100000']);
  });

  it("returns the sampler's first failure and asks for no more draws", async () => {
    const failure = { kind: 'model-failed', message: 'the model could not run' } as const;
    for (const failAt of [0, 100, 200]) {
      const requests: DrawRequest[] = [];
      const sampler: Sampler<typeof failure> = async (req) => {
        requests.push(req);
        return req.firstDraw === failAt ? E.left(failure) : E.right([req.count, 0]);
      };
      expect(await certifySequential(sampler, { ...BASE, batchSize: 100 })).toEqual(E.left(failure));
      expect(requests.at(-1)!.firstDraw).toBe(failAt);
    }
  });

  it('rejects malformed sampler output', async () => {
    const code = async (s: Sampler): Promise<string | undefined> => {
      try {
        await certifySequential(s, BASE);
      } catch (e) {
        return isDensePureMathError(e) ? e.code : 'other';
      }
      return undefined;
    };
    expect(await code(({ count }) => Promise.resolve(E.right([count])))).toBe('sampler-contract');
    expect(await code(({ count }) => Promise.resolve(E.right([count, 1])))).toBe('sampler-contract');
    expect(await code(({ count }) => Promise.resolve(E.right([count + 0.5, -0.5])))).toBe('sampler-contract');
  });
});

describe('sequential vs fixed-N CERTIFY at alpha = 0.001', () => {
  it('certifies the same table entries when pA is well above a threshold, with far fewer draws', async () => {
    // Benchmark radii; pA well above the threshold of the largest radius each cell asks for.
    const cells = [
      { sigma: 0.25, radii: [0.25, 0.5], pA: 0.995 },
      { sigma: 0.5, radii: [0.25, 0.5, 0.75, 1], pA: 0.995 },
      { sigma: 0.5, radii: [0.25, 0.5, 0.75, 1], pA: 0.97 }, // between Phi(1.5) and Phi(2): entries to 0.75
      { sigma: 0.25, radii: [0.25, 0.5], pA: 0.9 }, // between Phi(1) and Phi(2): entry 0.25 only
    ];
    for (const [i, c] of cells.entries()) {
      for (let seed = 0; seed < 3; seed++) {
        const sampler = addressedSampler(c.pA, 100 * i + seed);
        const fixed = await right(certify(sampler, { sigma: c.sigma, n0: 100, n: 100_000, alpha: 0.001, batchSize: 10_000, numClasses: 2 }));
        const seq = await right(certifySequential(sampler, { ...BASE, sigma: c.sigma, radii: c.radii, batchSize: 10_000 }));
        expect(fixed.kind).toBe('certified');
        expect(seq.kind).toBe('certified');
        if (fixed.kind !== 'certified' || seq.kind !== 'certified') continue;
        expect(seq.label).toBe(fixed.label);
        for (const r of [0, ...c.radii]) {
          expect(seq.radius >= r, `sigma ${c.sigma} pA ${c.pA} radius ${r}`).toBe(fixed.radius >= r);
        }
        expect(seq.draws.estimation).toBeLessThan(10_000);
      }
    }
  });
});

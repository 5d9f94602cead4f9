import { describe, expect, it } from 'vitest';
import { bernoulliKl, oracleFixedDraws, waldDrawsBound } from './draw-floors.js';
import betaQuantile from '@stdlib/stats-base-dists-beta-quantile';
import { normalCdf } from './stats.js';

const ALPHA = 0.001;

describe('oracleFixedDraws', () => {
  it('is ceil(ln alpha / ln threshold) when every draw is right (the floor of an easy input)', () => {
    for (const r of [0.25, 0.5, 1]) {
      const t = normalCdf(r / 0.5);
      expect(oracleFixedDraws(1, t, ALPHA)).toBe(Math.ceil(Math.log(ALPHA) / Math.log(t)));
    }
    expect(oracleFixedDraws(1, normalCdf(2), ALPHA)).toBe(301);
  });

  it('returns the first count at which the Clopper-Pearson bound at exactly rate pA clears the threshold', () => {
    for (const [pA, t] of [[0.96, normalCdf(1.5)], [0.9365, normalCdf(1.5)], [0.99, normalCdf(2)], [0.8, 0.5]] as const) {
      const n = oracleFixedDraws(pA, t, ALPHA)!;
      const bound = (draws: number): number => betaQuantile(ALPHA, draws * pA, draws - draws * pA + 1);
      expect(bound(n)).toBeGreaterThan(t);
      expect(bound(n - 1)).toBeLessThanOrEqual(t);
    }
  });

  it('is null at or below the threshold and refuses rates and levels outside their ranges', () => {
    expect(oracleFixedDraws(0.9, 0.9, ALPHA)).toBeNull();
    expect(oracleFixedDraws(0.5, 0.9, ALPHA)).toBeNull();
    expect(() => oracleFixedDraws(1.2, 0.9, ALPHA)).toThrow(/pA/);
    expect(() => oracleFixedDraws(0.95, 1, ALPHA)).toThrow(/threshold/);
    expect(() => oracleFixedDraws(0.95, 0.9, 0)).toThrow(/alpha/);
  });
});

describe('waldDrawsBound', () => {
  it('tends to the all-right floor ln alpha / ln threshold as beta -> 0 when pA = 1', () => {
    const t = normalCdf(2);
    expect(bernoulliKl(1, t)).toBeCloseTo(-Math.log(t), 15);
    expect(waldDrawsBound(1, t, ALPHA, 1e-9)).toBeCloseTo(Math.log(ALPHA) / Math.log(t), 3);
    expect(waldDrawsBound(0.9, 0.9, ALPHA, 0.5)).toBe(Infinity);
    expect(() => waldDrawsBound(0.95, 0.9, 0.5, 0.6)).toThrow(/beta/);
  });

  // Wald's sequential probability ratio test of threshold t against pA1 (certify when the likelihood ratio
  // reaches 1 / level: valid at that level, by Ville's inequality; give up at 1 / 10), computed exactly by
  // dynamic programming over the failures so far (the ratio after n draws depends only on them): the
  // expected draws and the probability that it certifies when the true rate is pTrue.
  function sprt(pTrue: number, t: number, pA1: number, level: number): { meanDraws: number; certifies: number } {
    const up = Math.log(1 / level);
    const down = Math.log(0.1);
    const win = Math.log(pA1 / t);
    const loss = Math.log((1 - pA1) / (1 - t));
    let alive = new Map<number, number>([[0, 1]]); // failures -> probability of being there, not stopped
    let meanDraws = 0;
    let certifies = 0;
    for (let n = 1; alive.size > 0; n++) {
      const next = new Map<number, number>();
      for (const [f, mass] of alive) {
        for (const [failures, m] of [[f, mass * pTrue], [f + 1, mass * (1 - pTrue)]] as const) {
          const llr = (n - failures) * win + failures * loss;
          if (llr >= up) certifies += m;
          if (llr >= up || llr <= down) meanDraws += n * m;
          else next.set(failures, (next.get(failures) ?? 0) + m);
        }
      }
      alive = next;
      let left = 0;
      for (const m of alive.values()) left += m;
      if (left < 1e-14) break;
    }
    return { meanDraws, certifies };
  }

  it('no valid test beats it: the exact SPRT, valid at alpha and nearly optimal, spends at least the bound', () => {
    const t = normalCdf(1.5);
    for (const pA of [0.96, 0.99, 0.999]) {
      const run = sprt(pA, t, pA, ALPHA);
      expect(sprt(t, t, pA, ALPHA).certifies).toBeLessThanOrEqual(ALPHA);
      const bound = waldDrawsBound(pA, t, ALPHA, 1 - run.certifies);
      expect(run.meanDraws).toBeGreaterThanOrEqual(bound);
      expect(run.meanDraws).toBeLessThan(1.25 * bound); // and the bound is close to what the best test spends
    }
  });

  it('power check: a test that claims alpha but certifies at ratio 5 (level 0.2, invalid) spends less than the bound', () => {
    const t = normalCdf(1.5);
    const run = sprt(0.96, t, 0.96, 0.2);
    expect(sprt(t, t, 0.96, 0.2).certifies).toBeGreaterThan(ALPHA);
    expect(run.meanDraws).toBeLessThan(waldDrawsBound(0.96, t, ALPHA, 1 - run.certifies));
  });
});

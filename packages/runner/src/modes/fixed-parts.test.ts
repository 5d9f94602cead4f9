import { either as E } from 'fp-ts';
import { describe, expect, it } from 'vitest';
import { certify, philox4x32_10 } from '@densepure/core';
import { certifyFromCounts, mergeDraws, parseDrawsResult, planDraws } from './fixed-parts.js';

/** Per-class votes over one draw range of image `idx`: a pure function of (seed, idx, draw), as a real sampler's are. */
function standInCounts(seed: number, idx: number, range: { first: number; count: number }, numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (let d = range.first; d < range.first + range.count; d++) {
    const r = philox4x32_10([d, idx, 0, 0], [seed, 0]);
    counts[r[0]! / 2 ** 32 < 0.7 ? idx % numClasses : r[1]! % numClasses]! += 1;
  }
  return counts;
}

describe('draw ranges', () => {
  it('one job per image when the draws fit, else chunks that tile each phase', () => {
    expect(planDraws(10, 100)).toEqual([{ ranges: [{ first: 0, count: 10 }, { first: 10, count: 100 }] }]);
    expect(planDraws(10, 100, 110)).toHaveLength(1);
    const parts = planDraws(10, 100, 30);
    expect(parts.map((p) => p.ranges[0])).toEqual([
      { first: 0, count: 10 },
      { first: 10, count: 30 },
      { first: 40, count: 30 },
      { first: 70, count: 30 },
      { first: 100, count: 10 },
    ]);
  });

  it('merged chunk counts equal the counts of the whole phases, and give the same certify result', async () => {
    const numClasses = 10;
    for (const idx of [0, 3, 7, 12]) {
      const whole = { selection: standInCounts(5, idx, { first: 0, count: 13 }, numClasses), estimation: standInCounts(5, idx, { first: 13, count: 200 }, numClasses) };
      for (const max of [undefined, 7, 64, 1000]) {
        const parts = planDraws(13, 200, max);
        const results = parts.map((p) => ({ counts: p.ranges.map((r) => standInCounts(5, idx, r, numClasses)) }));
        const merged = mergeDraws(parts, results, 13, 200, numClasses);
        expect(merged).toEqual(E.right(whole));
      }
      const sampler = async (req: { firstDraw: number; count: number }) => E.right(standInCounts(5, idx, { first: req.firstDraw, count: req.count }, numClasses));
      const direct = await certify(sampler, { sigma: 0.25, alpha: 0.001, n0: 13, n: 200, batchSize: 9, numClasses });
      expect(E.right(await certifyFromCounts(whole, { sigma: 0.25, alpha: 0.001, n0: 13, n: 200 }))).toEqual(direct);
    }
  });

  it('refuses ranges that do not tile the draws, and results of the wrong shape', () => {
    const parts = [{ ranges: [{ first: 0, count: 5 }] }, { ranges: [{ first: 6, count: 10 }] }];
    const results = [{ counts: [[5, 0]] }, { counts: [[4, 6]] }];
    expect(E.isLeft(mergeDraws(parts, results, 5, 11, 2))).toBe(true);
    expect(E.isLeft(mergeDraws([{ ranges: [{ first: 3, count: 5 }] }], [{ counts: [[5, 0]] }], 5, 3, 2))).toBe(true);
    const part = { ranges: [{ first: 0, count: 4 }] };
    expect(parseDrawsResult({ counts: [[1, 3]] }, part, 2)).toEqual({ counts: [[1, 3]] });
    for (const bad of [null, {}, { counts: [[1, 2]] }, { counts: [[1, 3, 0]] }, { counts: [[-1, 5]] }, { counts: [[1.5, 2.5]] }, { counts: [] }]) {
      expect(parseDrawsResult(bad, part, 2)).toBeNull();
    }
  });
});

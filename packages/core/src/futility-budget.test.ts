// The futility budget by simulation: with futilityAlpha = beta, a stop that gives up on the next radius (upper
// bound below its threshold) loses a radius the true pA reaches with probability at most beta, whatever beta is.
// pA sits at and just above each benchmark threshold Phi(r / sigma), where a give-up stop is wrong and the runs are
// longest. Thresholds come from the null distribution: the 99% Clopper-Pearson lower bound of the wrong-give-up
// rate must not exceed beta (Bonferroni over the configurations); power: the same stops driven by a fixed-n
// Clopper-Pearson upper bound re-checked every round must fail that check. The cap's own give-up (a radius the cap
// cannot reach even at the optimistic rate) is a limit of the cap, not of the budget, so it is off here.
import { describe, expect, it } from 'vitest';
import { certifySequential, nextRoundSize, sequentialRule } from './sequential.js';
import { clopperPearsonLower, clopperPearsonUpper, normalCdf } from './stats.js';
import { right } from './test-util/either.js';
import { binomialSampler } from './test-util/simulate.js';

const BETA = 0.1;
const N_MAX = 10_000;
const REPS = 200;
const CELLS = [
  { sigma: 0.25, radii: [0.25, 0.5] },
  { sigma: 0.5, radii: [0.25, 0.5, 0.75, 1.0] },
];
const consistent = (wrong: number, reps: number, level: number): boolean => wrong === 0 || clopperPearsonLower(wrong, reps, level) <= BETA;

/** pA at each threshold t and 0.1 (1 - t) above it: every radius up to r is then one the true pA reaches. */
function configs(): { sigma: number; radii: readonly number[]; r: number; p: number }[] {
  return CELLS.flatMap((cell) =>
    cell.radii.flatMap((r) => {
      const t = normalCdf(r / cell.sigma);
      return [t, t + 0.1 * (1 - t)].map((p) => ({ ...cell, r, p }));
    }),
  );
}

describe('futility budget (simulation, beta = 0.1)', () => {
  it('gives up on a radius the true pA reaches at most beta of the time', async () => {
    const all = configs();
    let seed = 7;
    const log: string[] = [];
    for (const c of all) {
      let wrong = 0;
      for (let i = 0; i < REPS; i++) {
        // Selection sees class 0 only (it is the top class); estimation votes class 0 with probability p.
        const res = await right(certifySequential(binomialSampler(c.p, seed++, 1), { sigma: c.sigma, radii: c.radii, n0: 1, nMax: N_MAX, alpha: 0.001, futilityAlpha: BETA, capFutility: false, numClasses: 2, batchSize: N_MAX, selection: { kind: 'fixed' } }));
        const gaveUp = res.stop === 'next-radius-out-of-reach' || res.stop === 'pA-below-half';
        const radius = res.kind === 'certified' ? res.radius : -1;
        if (gaveUp && radius < c.r) wrong++;
      }
      log.push(`sigma ${c.sigma} r ${c.r} p ${c.p.toFixed(5)}: ${wrong}/${REPS}`);
      expect(consistent(wrong, REPS, 0.01 / all.length), log.at(-1)).toBe(true);
    }
    if (process.env['COVERAGE_LOG']) console.log(log.join('\n'));
  }, 120_000);

  it('power: give-up stops from a fixed-n Clopper-Pearson upper bound, re-checked every round, lose too often', async () => {
    let wrong = 0;
    let reps = 0;
    let seed = 50_000;
    for (const cell of CELLS) {
      const r = cell.radii[cell.radii.length - 1]!;
      const t = normalCdf(r / cell.sigma);
      const rule = sequentialRule({ ...cell, n0: 1, nMax: N_MAX, alpha: 0.001, numClasses: 2, batchSize: N_MAX });
      for (let i = 0; i < REPS; i++) {
        const sampler = binomialSampler(t, seed++);
        let n = 0;
        let nA = 0;
        let gaveUp = false;
        while (n < N_MAX && !gaveUp) {
          const k = nextRoundSize(n, rule);
          nA += (await right(sampler({ firstDraw: n, count: k })))[0]!;
          n += k;
          gaveUp = nA < n && clopperPearsonUpper(nA, n, BETA) < t;
        }
        if (gaveUp) wrong++;
        reps++;
      }
    }
    if (process.env['COVERAGE_LOG']) console.log(`fixed-n upper bound: ${wrong}/${reps}`);
    expect(consistent(wrong, reps, 0.01), `${wrong}/${reps}`).toBe(false);
  }, 120_000);
});

// Coverage of the sequential cascade by simulation. The guarantee (cascade.ts, cascade-sequential.ts): with
// probability at least 1 - alpha the certificate holds, i.e. the reported radius is at most the radius the
// cascade's theorem gives with the true class probabilities,
//   R(k, c) = min( sigma_k (Phi^{-1}(p_k(c)) - Phi^{-1}(p0)), min_{j<k} sigma_j (Phi^{-1}(p0) - Phi^{-1}(max_{c' != c} p_j(c'))) ),
// for the stage k that answered and its class c (a certificate with R(k, c) <= 0 is wrong whatever its radius).
// Multinomial vote streams with known probabilities put each kind of bound the certificate rests on at its
// edge: the answering stage's top class at and just below each certification threshold (the first stage, and
// the last after the earlier ones were skipped), and a skipped stage whose bound on another class is what caps
// the radius. The procedure runs longest and looks most often there, so bounds that are not valid at every
// draw count fail there.
//
// alpha = 0.1, as in sequential-coverage.test.ts: at 0.001 no feasible number of repetitions could tell a valid
// procedure from one that fails three times too often. The failure count of a valid procedure is at most
// Binomial(reps, alpha) (its null distribution): the test fails when the one-sided 99% Clopper-Pearson lower
// bound on the failure rate exceeds alpha. The power check runs the same cascade with the fixed-n
// Clopper-Pearson bound re-checked at every look (not anytime-valid) and must be caught by the same test.
import { describe, expect, it } from 'vitest';
import { certifyCascadeSequential, type CascadeSequentialOptions } from './cascade-sequential.js';
import { clopperPearsonLower, clopperPearsonUpper, normalCdf, normalQuantile } from './stats.js';
import { right } from './test-util/either.js';
import { multinomialSampler } from './test-util/simulate.js';

const ALPHA = 0.1;
const N_MAX = 10_000;

interface Config {
  readonly name: string;
  readonly sigmas: readonly number[];
  readonly p0: number;
  readonly radii: readonly number[];
  /** Class probabilities at each stage. */
  readonly probs: readonly (readonly number[])[];
  readonly reps: number;
}

/** Probability of the top class that certifies cascade radius r at sigma (r = 0: p0 itself). */
const threshold = (r: number, sigma: number, p0: number): number => normalCdf(r / sigma + normalQuantile(p0));

/** Three classes: the top one at p, the rest split evenly. */
const top = (p: number): number[] => [p, (1 - p) / 2, (1 - p) / 2];

function configs(): Config[] {
  const out: Config[] = [];
  // The first stage answers: its top class at and 10% of the gap below each threshold (and at p0 itself).
  for (const p0 of [0.5, 0.7]) {
    const sigmas = [0.5, 0.25];
    const radii = [0.25, 0.5];
    for (const r of [0, ...radii]) {
      const t = threshold(r, sigmas[0]!, p0);
      for (const p of r === 0 ? [t] : [t - 0.1 * (1 - t), t]) out.push({ name: `first stage, p0 ${p0}, r ${r}`, sigmas, p0, radii, probs: [top(p), top(0.95)], reps: 120 });
    }
  }
  // The last stage answers after the earlier ones were skipped (no class near p0 there).
  for (const sigmas of [
    [1, 0.25],
    [1, 0.5, 0.25],
  ]) {
    const radii = [0.125, 0.25];
    const last = sigmas[sigmas.length - 1]!;
    for (const r of radii) {
      const t = threshold(r, last, 0.5);
      for (const p of [t - 0.1 * (1 - t), t]) {
        out.push({ name: `stage ${sigmas.length} of ${sigmas.length}, r ${r}`, sigmas, p0: 0.5, radii, probs: [...sigmas.slice(1).map(() => [0.34, 0.33, 0.33]), top(p)], reps: 120 });
      }
    }
  }
  // A skipped stage caps the radius: its class 1 at 0.46 bounds an answer of class 0 by 1.0 (0 - Phi^{-1}(0.46)).
  out.push({ name: 'skipped stage binds', sigmas: [1, 0.25], p0: 0.5, radii: [0.05, 0.1, 0.2], probs: [[0.46, 0.46, 0.08], top(0.995)], reps: 120 });
  return out;
}

/** The theorem's radius for an answer `label` at stage k, from the true probabilities. */
function trueRadius(c: Config, k: number, label: number): number {
  let r = c.sigmas[k]! * (normalQuantile(c.probs[k]![label]!) - normalQuantile(c.p0));
  for (let j = 0; j < k; j++) {
    const others = c.probs[j]!.filter((_, i) => i !== label);
    r = Math.min(r, c.sigmas[j]! * (normalQuantile(c.p0) - normalQuantile(Math.max(...others))));
  }
  return r;
}

const options = (c: Config, bounds?: CascadeSequentialOptions['bounds']): CascadeSequentialOptions => ({
  sigmas: c.sigmas,
  p0: c.p0,
  alpha: ALPHA,
  radii: c.radii,
  n0: 20,
  nMax: N_MAX,
  numClasses: 3,
  batchSize: N_MAX,
  ...(bounds === undefined ? {} : { bounds }),
});

/** Failures (certificates larger than the theorem's radius) over `reps` runs from `seed` on. */
async function failures(c: Config, seed: number, bounds?: CascadeSequentialOptions['bounds']): Promise<number> {
  let f = 0;
  for (let i = 0; i < c.reps; i++) {
    const samplers = c.probs.map((p, k) => multinomialSampler(p, seed + 7919 * i + k));
    const r = await right(certifyCascadeSequential(samplers, options(c, bounds)));
    if (r.kind === 'certified' && !(r.radius <= trueRadius(c, r.stage, r.label))) f++;
  }
  return f;
}

/** The test: consistent with a failure rate <= alpha unless the 1 - level lower bound on the rate exceeds it. */
const consistentWithAlpha = (f: number, reps: number, level = 0.01): boolean => f === 0 || clopperPearsonLower(f, reps, level) <= ALPHA;

describe('sequential cascade coverage (simulation, alpha = 0.1)', () => {
  it('certifies more than the theorem allows at most alpha of the time, at every bound the certificate rests on', async () => {
    const all = configs();
    let total = 0;
    let reps = 0;
    const lines: string[] = [];
    for (const [i, c] of all.entries()) {
      const f = await failures(c, 1 + 100_000 * i);
      total += f;
      reps += c.reps;
      lines.push(`${c.name} [${c.probs.map((p) => p.map((x) => x.toFixed(3)).join('/')).join(' | ')}]: ${f}/${c.reps}`);
      expect(consistentWithAlpha(f, c.reps, 0.01 / all.length), lines.at(-1)).toBe(true);
    }
    if (process.env['COVERAGE_LOG']) console.log(`${total}/${reps}\n${lines.join('\n')}`);
    expect(reps).toBeGreaterThanOrEqual(2000);
    expect(consistentWithAlpha(total, reps), `${total}/${reps}\n${lines.join('\n')}`).toBe(true);
  }, 120_000);

  it('has the power to catch bounds that are not anytime valid (fixed-n Clopper-Pearson re-checked at every look)', async () => {
    const peeking = (s: number, n: number, a: number) => ({ lower: clopperPearsonLower(s, n, a), upper: clopperPearsonUpper(s, n, a) });
    // The last of two stages answers at the largest radius's threshold; the first is skipped.
    const t = threshold(0.25, 0.25, 0.5);
    const c: Config = { name: 'peeking', sigmas: [1, 0.25], p0: 0.5, radii: [0.25], probs: [[0.34, 0.33, 0.33], top(t)], reps: 600 };
    const f = await failures(c, 9_000_000, peeking);
    if (process.env['COVERAGE_LOG']) console.log(`peeking: ${f}/${c.reps}`);
    expect(consistentWithAlpha(f, c.reps), `${f}/${c.reps}`).toBe(false);
  }, 120_000);
});

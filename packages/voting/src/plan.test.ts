import { either as E } from 'fp-ts';
import { describe, expect, it } from 'vitest';
import { diffusionConstants, linearBetaSchedule, planReverse, sigmaToTimestep } from '@densepure/core';
import { MAJORITY_VOTE } from './methods/majority.js';
import { type DenoiserShape, type GroupPlan, chainEvaluations, needsOf, planGroup } from './plan.js';
import type { Method, MethodGroupConfig } from './types.js';

// Planning needs no model: metadata as plain objects.
const denoiser: DenoiserShape = { inputShape: [1, 28, 28], learnedVariance: true, diffusion: { schedule: 'linear', T: 1000, prediction: 'epsilon', learnedVariance: true } };
const classifier = { sourceShape: [1, 28, 28] as const, numClasses: 10 };
const grid: Method[] = [
  { kind: 'smoothing' },
  { kind: 'dds' },
  ...[1, 5, 10].map((votes): Method => ({ kind: 'densepure', votes, steps: 2, spacing: 'densepure' })),
  { kind: 'densepure', votes: 3, steps: 'full' },
];
const config = (over: Partial<MethodGroupConfig> = {}): MethodGroupConfig => ({ sigma: 0.5, seed: 0, batchSize: 100, methods: grid, ...over });
const plan = (over: Partial<MethodGroupConfig> = {}, d: DenoiserShape | null = denoiser): GroupPlan => {
  const r = planGroup(d, classifier, config(over));
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};
const failure = (over: Partial<MethodGroupConfig>, d: DenoiserShape | null = denoiser) => {
  const r = planGroup(d, classifier, config(over));
  if (E.isRight(r)) throw new Error('expected a ConfigError');
  return r.left;
};

describe('planGroup (pure)', () => {
  it('t* from sigma, one chain family per (steps, spacing) with the largest K, members reading from it', () => {
    const p = plan();
    const constants = diffusionConstants(linearBetaSchedule(1000));
    const tStar = sigmaToTimestep(0.5, constants.alphasCumprod);
    expect(p.diffusion!.tStar).toEqual(tStar);
    expect(p.diffusion!.variance).toBe('learned-range');
    expect(p.families.map((f) => [f.key, f.maxVotes])).toEqual([
      ['2/densepure', 10],
      ['full/uniform', 3],
    ]);
    expect(p.families[0]!.plan).toEqual(planReverse(constants, tStar.t, { kind: 'respaced', steps: 2, spacing: 'densepure' }));
    expect(p.members.map((m) => m.source)).toEqual([
      { from: 'noisy' },
      { from: 'one-shot' },
      { from: 'chains', family: 0, votes: 1, aggregation: MAJORITY_VOTE },
      { from: 'chains', family: 0, votes: 5, aggregation: MAJORITY_VOTE },
      { from: 'chains', family: 0, votes: 10, aggregation: MAJORITY_VOTE },
      { from: 'chains', family: 1, votes: 3, aggregation: MAJORITY_VOTE },
    ]);
    expect(p.members[4]!.timesteps).toEqual(p.families[0]!.plan.modelTimesteps);
    expect(p.members[4]!.timesteps[0]).toBe(tStar.t);
    expect(p.pixels).toBe(784);
    expect(p.batching).toEqual({ batchSize: 100, concurrency: 1 });
    expect(p.decidedVoteStop).toBe(true);
    expect(plan({ decidedVoteStop: false }).decidedVoteStop).toBe(false);
  });

  it('evaluation counts: t* once per draw, then K (steps - 1) per chain family', () => {
    const p = plan();
    const full = p.families[1]!.plan.steps.length;
    expect(full).toBe(p.diffusion!.tStar.t + 1);
    expect(p.members.map((m) => m.denoiserEvalsPerDraw)).toEqual([0, 1, 2, 6, 11, 1 + 3 * (full - 1)]);
    expect(p.denoiserEvalsPerDraw).toBe(1 + 10 + 3 * (full - 1));
    expect(chainEvaluations(p.families[0]!.plan, 7)).toBe(7);
    // The README's example: smoothing + DDS + K = 1, 5, 10 at b = 2 is 11 calls per draw, not 33.
    expect(plan({ methods: grid.slice(0, 5) }).denoiserEvalsPerDraw).toBe(11);
    expect(plan({ methods: [{ kind: 'smoothing' }] }, null)).toMatchObject({ diffusion: null, families: [], denoiserEvalsPerDraw: 0 });
  });

  it('needsOf: what a call for some members computes', () => {
    const p = plan();
    const majority = (votes: number) => ({ votes, aggregation: MAJORITY_VOTE });
    expect(needsOf(p, [0, 4, 2])).toEqual({ noisyLabels: true, oneShot: false, families: [{ members: [majority(10), majority(1)], probabilities: false, purifies: false }, null], local: [] });
    expect(needsOf(p, [1])).toEqual({ noisyLabels: false, oneShot: true, families: [null, null], local: [] });
  });

  it('local smoothing: one local family per (purification, sigma_l) with the largest m, purifying with the one-shot x0 or a chain family', () => {
    const diffsmooth = (purification: 'one-shot' | number, m: number, sigmaL: number, spacing?: 'densepure'): Method => ({ kind: 'diffsmooth', purification, m, sigmaL, ...(spacing === undefined ? {} : { spacing }) });
    const methods: Method[] = [
      { kind: 'dds' },
      { kind: 'densepure', votes: 5, steps: 2, spacing: 'densepure' },
      diffsmooth('one-shot', 5, 0.25),
      diffsmooth('one-shot', 9, 0.25),
      diffsmooth('one-shot', 3, 0.12),
      diffsmooth(2, 4, 0.25, 'densepure'),
      diffsmooth(3, 2, 0.25),
    ];
    const p = plan({ methods });
    // The chains: DensePure's (DiffSmooth b = 2 reads its first vote) and one for b = 3 uniform, one vote per draw.
    expect(p.families.map((f) => [f.key, f.maxVotes])).toEqual([
      ['2/densepure', 5],
      ['3/uniform', 1],
    ]);
    expect(p.localFamilies).toEqual([
      { key: 'one-shot@0.25', purified: { from: 'one-shot' }, sigma: 0.25, maxVotes: 9 },
      { key: 'one-shot@0.12', purified: { from: 'one-shot' }, sigma: 0.12, maxVotes: 3 },
      { key: '2/densepure@0.25', purified: { from: 'chain', family: 0 }, sigma: 0.25, maxVotes: 4 },
      { key: '3/uniform@0.25', purified: { from: 'chain', family: 1 }, sigma: 0.25, maxVotes: 2 },
    ]);
    expect(p.members.slice(2).map((m) => m.source)).toEqual([
      { from: 'local', family: 0, votes: 5, aggregation: MAJORITY_VOTE },
      { from: 'local', family: 0, votes: 9, aggregation: MAJORITY_VOTE },
      { from: 'local', family: 1, votes: 3, aggregation: MAJORITY_VOTE },
      { from: 'local', family: 2, votes: 4, aggregation: MAJORITY_VOTE },
      { from: 'local', family: 3, votes: 2, aggregation: MAJORITY_VOTE },
    ]);
    // Local votes are classifier calls: the denoiser runs once at t* (one-shot) or one chain run per draw.
    expect(p.members.map((m) => m.denoiserEvalsPerDraw)).toEqual([1, 6, 1, 1, 1, 2, 3]);
    expect(p.members[5]!.timesteps).toEqual(p.families[0]!.plan.modelTimesteps);
    expect(p.denoiserEvalsPerDraw).toBe(1 + 5 + 2);
    // Beside DDS, one-shot DiffSmooth costs no denoiser call; a DiffSmooth chain that DensePure runs costs none either.
    expect(plan({ methods: [{ kind: 'dds' }, diffsmooth('one-shot', 5, 0.25)] }).denoiserEvalsPerDraw).toBe(1);
    expect(plan({ methods: methods.slice(0, 2) }).denoiserEvalsPerDraw).toBe(plan({ methods: [...methods.slice(0, 2), diffsmooth(2, 4, 0.25, 'densepure')] }).denoiserEvalsPerDraw);

    const majority = (votes: number) => ({ votes, aggregation: MAJORITY_VOTE });
    // A local family on a chain makes the chain run (for its first vote alone when no DensePure member is wanted).
    expect(needsOf(p, [6])).toEqual({ noisyLabels: false, oneShot: false, families: [null, { members: [], probabilities: false, purifies: true }], local: [null, null, null, { members: [majority(2)], probabilities: false }] });
    expect(needsOf(p, [1, 5, 2, 3]).families[0]).toEqual({ members: [majority(5)], probabilities: false, purifies: true });
    expect(needsOf(p, [2, 3]).local).toEqual([{ members: [majority(5), majority(9)], probabilities: false }, null, null, null]);
  });

  it("t* rule: nearest by default, DensePure's cosine closed form or Carlini et al.'s first-t on request", () => {
    const cosine: DenoiserShape = { ...denoiser, diffusion: { schedule: 'cosine', T: 4000, prediction: 'epsilon', learnedVariance: true } };
    const tOf = (over: Partial<MethodGroupConfig>) => plan({ methods: [{ kind: 'dds' }], ...over }, cosine).diffusion!.tStar.t;
    expect(tOf({})).toBe(1983);
    expect(tOf({ timestepRule: 'nearest' })).toBe(1983);
    expect(tOf({ timestepRule: 'densepure' })).toBe(1984);
    expect(tOf({ timestepRule: 'dds' })).toBe(1984);
    expect(tOf({ sigma: 0.25, timestepRule: 'densepure' })).toBe(1159);
    // every chain starts at the chosen t*
    const p = plan({ methods: [{ kind: 'densepure', votes: 2, steps: 3, spacing: 'densepure' }], timestepRule: 'densepure' }, cosine);
    expect(p.families[0]!.plan.modelTimesteps[0]).toBe(1984);
    // linear schedule: DensePure's ImageNet rule is the nearest one; DDS's can be a step later
    expect(plan({ methods: [{ kind: 'dds' }], timestepRule: 'densepure' }).diffusion!.tStar.t).toBe(258);
    expect(plan({ methods: [{ kind: 'dds' }], timestepRule: 'dds' }).diffusion!.tStar.t).toBe(259);
  });

  it('variance: learned-range by default when the model learns it, fixed-large otherwise, refused when it cannot', () => {
    const fixed: DenoiserShape = { ...denoiser, learnedVariance: false };
    expect(plan({}, fixed).diffusion!.variance).toBe('fixed-large');
    expect(plan({ variance: 'fixed-small' }).diffusion!.variance).toBe('fixed-small');
    expect(failure({ variance: 'learned-range' }, fixed)).toMatchObject({ kind: 'variance-unsupported', variance: 'learned-range' });
  });

  it('bad configurations are tagged ConfigErrors that name the setting, never a CLI flag', () => {
    const cases = [
      [failure({ sigma: -1 }), { kind: 'invalid-setting', setting: 'sigma', value: -1 }],
      [failure({ sigma: Number.NaN }), { kind: 'invalid-setting', setting: 'sigma' }],
      [failure({ batchSize: 0 }), { kind: 'invalid-setting', setting: 'batch size', value: 0 }],
      [failure({ concurrency: 1.5 }), { kind: 'invalid-setting', setting: 'concurrency', value: 1.5 }],
      [failure({ seed: -2 }), { kind: 'invalid-setting', setting: 'seed', value: -2 }],
      [failure({ methods: [] }), { kind: 'no-methods' }],
      [failure({}, null), { kind: 'needs-denoiser', method: 'dds' }],
      [failure({}, { ...denoiser, inputShape: [3, 32, 32] }), { kind: 'shape-mismatch', denoiserShape: [3, 32, 32], datasetShape: [1, 28, 28] }],
      [failure({ methods: [{ kind: 'densepure', votes: 0, steps: 2 }] }), { kind: 'invalid-setting', setting: 'K', value: 0 }],
      [failure({ methods: [{ kind: 'diffsmooth', purification: 'one-shot', m: 0, sigmaL: 0.25 }] }), { kind: 'invalid-setting', setting: 'm', value: 0 }],
      [failure({ methods: [{ kind: 'diffsmooth', purification: 'one-shot', m: 65536, sigmaL: 0.25 }] }), { kind: 'invalid-setting', setting: 'm', value: 65536 }],
      [failure({ methods: [{ kind: 'diffsmooth', purification: 'one-shot', m: 5, sigmaL: -0.1 }] }), { kind: 'invalid-setting', setting: 'sigmaL', value: -0.1 }],
      [failure({ methods: [{ kind: 'diffsmooth', purification: 5000, m: 5, sigmaL: 0.25 }] }), { kind: 'schedule' }],
      [failure({ sigma: 100 }), { kind: 'schedule', code: 'sigma-out-of-range' }],
      [failure({ methods: [{ kind: 'densepure', votes: 2, steps: 5000 }] }), { kind: 'schedule' }],
    ] as const;
    for (const [error, expected] of cases) {
      expect(error).toMatchObject(expected);
      expect(error.message).not.toMatch(/--/);
    }
    expect(failure({ batchSize: 0 }).message).toBe('batch size must be a whole number >= 1, got 0');
  });
});

import { either as E } from 'fp-ts';
import { type ReverseMode, type VarianceKind, cosineBetaSchedule, diffusionConstants, linearBetaSchedule, planReverse, sigmaToTimestep } from '@densepure/core';
import { type EpsModel, sampleReverseChain } from './chain.js';
import type { GaussianMixture } from './mixture.js';
import { type ScheduleSpec, scheduleAlphasCumprod } from './onnx-models.js';
import { type Posterior, posterior } from './posterior.js';
import { type PosteriorCheck, checkPosterior } from './stats.js';

/** The state x_t* a chain starts from, with its closed-form posterior. */
export interface ChainStart {
  readonly sigma: number;
  readonly tStar: number;
  readonly abar: number;
  readonly xt: Float32Array;
  readonly posterior: Posterior;
}

/**
 * A start state whose posterior is far from one Gaussian: the noise-free x_t* = sqrt(abar) y of the point y on a
 * grid over the components' means (convex combinations in steps of 1/20) that maximises the smallest posterior
 * weight. Deterministic, so the measurements and the tests use the same state.
 */
export function multimodalStart(m: GaussianMixture, schedule: ScheduleSpec, sigma: number): ChainStart {
  const ac = scheduleAlphasCumprod(schedule);
  const { t } = sigmaToTimestep(sigma, ac);
  const abar = ac[t]!;
  const K = m.components.length;
  const d = m.dim;
  const steps = 20;
  let best: { xt: Float32Array; post: Posterior; score: number } | undefined;
  const visit = (coef: number[]): void => {
    const xt = new Float32Array(d);
    for (let k = 0; k < K; k++) for (let j = 0; j < d; j++) xt[j] = xt[j]! + (Math.sqrt(abar) * coef[k]! * m.components[k]!.mean[j]!) / steps;
    const post = posterior(m, abar, xt);
    const score = Math.min(...post.weights);
    if (best === undefined || score > best.score) best = { xt, post, score };
  };
  const rec = (k: number, left: number, coef: number[]): void => {
    if (k === K - 1) return visit([...coef, left]);
    for (let c = 0; c <= left; c++) rec(k + 1, left - c, [...coef, c]);
  };
  rec(0, steps, []);
  return { sigma, tStar: t, abar, xt: best!.xt, posterior: best!.post };
}

export const modeName = (mode: ReverseMode): string =>
  mode.kind === 'full' ? 'full' : mode.kind === 'one-shot' ? 'one-shot' : `b${mode.steps}${mode.spacing === 'densepure' ? '-dp' : ''}`;

/** One reverse chain from `start` sampled n times and judged against the closed-form posterior. */
export async function measureChain(
  m: GaussianMixture,
  schedule: ScheduleSpec,
  eps: EpsModel,
  start: ChainStart,
  mode: ReverseMode,
  variance: VarianceKind,
  n: number,
  seed: number,
): Promise<{ check: PosteriorCheck; samples: Float32Array }> {
  const constants = diffusionConstants(schedule.schedule === 'linear' ? linearBetaSchedule(schedule.T) : cosineBetaSchedule(schedule.T));
  const plan = planReverse(constants, start.tStar, mode);
  const samples = await sampleReverseChain(eps, plan, start.xt, n, { seed, imageIndex: 0, drawIndex: 0, variance, batch: 8192 })();
  if (E.isLeft(samples)) throw new Error(samples.left.message);
  return { check: checkPosterior(start.posterior, samples.right, n, m.dim), samples: samples.right };
}

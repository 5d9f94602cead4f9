import { either as E, taskEither as TE } from 'fp-ts';
import type { BackendError, Classifier, Denoiser } from '@densepure/backend';
import { wrapClassifier } from '@densepure/classifiers';
import { certify, sigmaToTimestep } from '@densepure/core';
import { type ConfigError, type Method, makeMethodGroup, methodSlug } from '@densepure/voting';
import { classMassSampler } from '../exact-vote.js';
import { sampleMixture } from '../mixture.js';
import { scheduleAlphasCumprod } from '../onnx-models.js';
import type { Experiment } from './experiment.js';

/** The sampled methods of the study: plain smoothing, DDS and DensePure as the experiment sets it. */
const studyMethods = (e: Experiment): Method[] => [{ kind: 'smoothing' }, { kind: 'dds' }, { kind: 'densepure', votes: e.densepure.K, steps: e.densepure.steps, spacing: e.densepure.spacing }];

/** The methods of the study, in plot order. `exact-vote` is DensePure's K -> infinity limit with exact posterior samples. */
export const methodNames = (e: Experiment): string[] => [...studyMethods(e).map(methodSlug), 'exact-vote'];

/** One certified point: the certified label (-1 abstain) and radius (pixel units) per method, in methodNames order. */
export interface PointResult {
  readonly x: number;
  readonly y: number;
  /** True class for sampled points, -1 for grid points. */
  readonly label: number;
  readonly predict: readonly number[];
  readonly radius: readonly number[];
}

export interface SigmaResult {
  readonly sigma: number;
  readonly tStar: number;
  readonly grid: readonly PointResult[];
  readonly samples: readonly PointResult[];
  readonly seconds: number;
}

export type StudyError = BackendError | ConfigError;

/**
 * Certifies every grid point of [0, 1]^2 (pixel units) and `samples` points drawn from the mixture, with plain
 * smoothing, DDS and DensePure (one method group: the same noise draws) and the exact vote, at each sigma.
 */
export function runStudy(e: Experiment, denoiser: Denoiser, classifier: Classifier, log: (line: string) => void): TE.TaskEither<StudyError, SigmaResult[]> {
  return async () => {
    const wrapped = wrapClassifier(classifier, [2, 1, 1]);
    if (E.isLeft(wrapped)) return wrapped;
    const methods = studyMethods(e);
    const ac = scheduleAlphasCumprod(e.schedule);
    const drawn = sampleMixture(e.mixture, e.samples, e.seed, 1);
    const points: { x: number; y: number; label: number; index: number }[] = [];
    for (let j = 0; j < e.grid; j++) for (let i = 0; i < e.grid; i++) points.push({ x: i / (e.grid - 1), y: j / (e.grid - 1), label: -1, index: j * e.grid + i });
    for (let s = 0; s < e.samples; s++) points.push({ x: (drawn.points[2 * s]! + 1) / 2, y: (drawn.points[2 * s + 1]! + 1) / 2, label: drawn.labels[s]!, index: 1_000_000 + s });
    const out: SigmaResult[] = [];
    for (const sigma of e.sigmas) {
      const started = performance.now();
      const group = makeMethodGroup(denoiser, wrapped.right, { sigma, seed: e.seed, batchSize: e.batch, methods });
      if (E.isLeft(group)) return group;
      const results: PointResult[] = [];
      for (const [n, p] of points.entries()) {
        const image = Float32Array.from([p.x, p.y]);
        const samplers = [...group.right.samplers(image, p.index), classMassSampler(e.mixture, ac, e.seed, sigma, image, p.index)];
        const certified = E.sequenceArray(
          await Promise.all(
            samplers.map((sampler) => certify(sampler, { sigma, n0: e.certify.N0, n: e.certify.N, alpha: e.certify.alpha, batchSize: e.batch, numClasses: e.mixture.classNames.length })),
          ),
        );
        if (E.isLeft(certified)) return certified;
        results.push({
          x: p.x,
          y: p.y,
          label: p.label,
          predict: certified.right.map((c) => (c.kind === 'certified' ? c.label : -1)),
          radius: certified.right.map((c) => (c.kind === 'certified' ? c.radius : 0)),
        });
        if ((n + 1) % 200 === 0) log(`sigma ${sigma}: ${n + 1}/${points.length} points (${((performance.now() - started) / 1000).toFixed(0)} s)`);
      }
      out.push({ sigma, tStar: sigmaToTimestep(sigma, ac).t, grid: results.slice(0, e.grid * e.grid), samples: results.slice(e.grid * e.grid), seconds: (performance.now() - started) / 1000 });
    }
    return E.right(out);
  };
}

/** Certified accuracy at radius r: correct and certified with radius >= r (Cohen et al.'s definition). */
export function certifiedAccuracy(points: readonly PointResult[], method: number, r: number, label?: number): number {
  const pts = label === undefined ? points : points.filter((p) => p.label === label);
  if (pts.length === 0) return 0;
  return pts.filter((p) => p.predict[method] === p.label && p.radius[method]! >= r).length / pts.length;
}

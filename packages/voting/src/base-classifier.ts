import { either as E } from 'fp-ts';
import type { BackendError, Denoiser, DenoiserOutput } from '@densepure/backend';
import type { ImageClassifier } from '@densepure/classifiers';
import {
  type DrawRequest,
  type ReversePlan,
  type Sampler,
  betaSchedule,
  diffusionConstants,
  fromModelScale,
  gaussianFill,
  noiseAddress,
  planReverse,
  reverseStep,
  sigmaToTimestep,
  toModelScale,
} from '@densepure/core';
import { majorityVote } from './vote.js';

/**
 * The three ways densepure turns one noise draw into a label, as one code path:
 * - `smoothing`: classify x + sigma * noise (Cohen et al. 2019);
 * - `dds`: one-shot denoise from x_t* then classify (Carlini et al. 2023, diffusion denoised smoothing);
 * - `densepure`: K reverse-diffusion runs from x_t* (full chain or b respaced steps), classify each, majority vote
 *   (Xiao et al. 2023).
 */
export type Method =
  | { readonly kind: 'smoothing' }
  | { readonly kind: 'dds' }
  | { readonly kind: 'densepure'; readonly votes: number; readonly steps: 'full' | number; readonly spacing?: 'uniform' | 'densepure' };

export type VarianceMode = 'learned-range' | 'fixed-small' | 'fixed-large';

export interface BaseClassifierConfig {
  readonly sigma: number;
  readonly seed: number;
  readonly method: Method;
  /** Images per model call (reverse chains for densepure). */
  readonly batchSize: number;
  /** Model calls in flight at once; set to the backend's worker count to use them all. */
  readonly concurrency?: number;
  /** Default: learned-range when the model learns its variance, else fixed-large (improved-diffusion's default). */
  readonly variance?: VarianceMode;
}

export interface BaseClassifier {
  readonly config: BaseClassifierConfig;
  /** Diffusion timestep matched to sigma (undefined for plain smoothing). */
  readonly tStar?: number;
  /** Model timesteps the reverse process queries, in order. */
  readonly timesteps: readonly number[];
  /**
   * Denoiser evaluations per noise draw. The K reverse runs of a draw all start from the same x_t*, so the
   * first step's model call is made once per draw: 1 + K (steps - 1) for DensePure, 1 for DDS.
   */
  readonly denoiserEvalsPerDraw: number;
  readonly numClasses: number;
  /** A CERTIFY/PREDICT sampler for one image: counts the base prediction over the requested draws. */
  sampler(image: Float32Array, imageIndex: number): Sampler;
  /** The purified images (in [0, 1]) of the requested draws for one vote, draw-major: for pictures. */
  purify(image: Float32Array, imageIndex: number, draws: DrawRequest, vote?: number): Promise<E.Either<BackendError, { noisy: Float32Array; purified: Float32Array }>>;
}

export type MethodGroupConfig = Omit<BaseClassifierConfig, 'method'> & { readonly methods: readonly Method[] };

/**
 * Several methods evaluated on the same noise draws of the same image. Each member's counts are exactly those
 * of `makeBaseClassifier` for that method alone (same seed, same addressed noise); the group only saves work:
 * the noise and x_t* are made once, the denoiser runs once per draw at t* (DDS's x0 and every reverse chain's
 * first step), and DensePure members with the same chain share their votes (K = 5 counts the first 5 of the
 * votes that K = 10 draws).
 */
export interface MethodGroup {
  readonly members: readonly BaseClassifier[];
  /** Denoiser evaluations per noise draw for the whole group. */
  readonly denoiserEvalsPerDraw: number;
  /** Per-member counts of the base prediction over the same draws. */
  counts(image: Float32Array, imageIndex: number, draws: DrawRequest): Promise<Int32Array[]>;
  /**
   * One CERTIFY/PREDICT sampler per member (or per member listed in `only`, in that order) for one image. Requests for the same draw range are computed once
   * and handed to every member, so members certified side by side (same N0, N, batch) cost one evaluation.
   */
  samplers(image: Float32Array, imageIndex: number, only?: readonly number[]): Sampler[];
}

export type ConfigError = { readonly kind: 'config'; readonly message: string };

const configError = (message: string): ConfigError => ({ kind: 'config', message });

/** Thrown inside a sampler when a backend call fails; the runner catches it and reports the BackendError. */
export class BackendFailure extends Error {
  constructor(readonly error: BackendError) {
    super(error.message);
    this.name = 'BackendFailure';
  }
}

const unwrap = <A>(r: E.Either<BackendError, A>): A => {
  if (E.isLeft(r)) throw new BackendFailure(r.left);
  return r.right;
};

/** Runs `tasks` with at most `limit` in flight, keeping results in order. */
async function inPool<A>(tasks: readonly (() => Promise<A>)[], limit: number): Promise<A[]> {
  const results = new Array<A>(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

/** DensePure members that run the same reverse chain: their votes are shared, `maxVotes` chains per draw. */
interface ChainFamily {
  readonly key: string;
  readonly plan: ReversePlan;
  readonly maxVotes: number;
}

/** What one member reads from the shared evaluation. */
type MemberSource = { readonly kind: 'smoothing' } | { readonly kind: 'dds' } | { readonly kind: 'densepure'; readonly family: number; readonly votes: number };

/** The purified images of a range of draws: everything the members need, each made once. */
interface Evaluated {
  /** x + sigma * noise in [0, 1] units (not clipped), draw-major. */
  readonly noisy: Float32Array;
  /** One-shot x0 in [0, 1], draw-major (when a member needs it). */
  readonly oneShot: Float32Array | null;
  /** Per family: reversed samples in [0, 1], draw-major then vote (maxVotes per draw). */
  readonly chains: readonly Float32Array[];
}

/**
 * Builds several base classifiers that share their noise draws (see {@link MethodGroup}). Every random number
 * comes from the counter-based RNG, addressed by (seed, image, draw, vote, step), so the counts do not depend
 * on batch size, concurrency, how CERTIFY splits the draws, or which other methods share the evaluation.
 */
export function makeMethodGroup(denoiser: Denoiser | null, classifier: ImageClassifier, config: MethodGroupConfig): E.Either<ConfigError, MethodGroup> {
  const { sigma, batchSize, seed, methods } = config;
  const concurrency = config.concurrency ?? 1;
  if (!(sigma > 0) || !Number.isFinite(sigma)) return E.left(configError(`--sigma must be a positive number, got ${sigma}`));
  if (!Number.isInteger(batchSize) || batchSize < 1) return E.left(configError(`--batch must be a whole number >= 1, got ${batchSize}`));
  if (!Number.isInteger(concurrency) || concurrency < 1) return E.left(configError(`concurrency must be >= 1, got ${concurrency}`));
  if (!Number.isInteger(seed) || seed < 0) return E.left(configError(`--seed must be a whole number >= 0, got ${seed}`));
  if (methods.length === 0) return E.left(configError('a method group needs at least one method'));
  const [c, h, w] = classifier.sourceShape;
  const pixels = c * h * w;
  const numClasses = classifier.metadata.numClasses;
  const needsDenoiser = methods.some((m) => m.kind !== 'smoothing');

  let tStar: { t: number; scale: number } | undefined;
  let variance: VarianceMode = 'fixed-large';
  let oneShotPlan: ReversePlan | undefined;
  const families: ChainFamily[] = [];
  const sources: MemberSource[] = [];
  const memberInfo: { tStar?: number; timesteps: readonly number[]; evals: number }[] = [];

  if (needsDenoiser) {
    if (denoiser === null) return E.left(configError(`method '${methods.find((m) => m.kind !== 'smoothing')!.kind}' needs a denoiser (--denoiser)`));
    const dm = denoiser.metadata;
    if (dm.inputShape[0] !== c || dm.inputShape[1] !== h || dm.inputShape[2] !== w) {
      return E.left(
        configError(`the denoiser takes ${dm.inputShape.join('x')} images but the dataset has ${c}x${h}x${w}; use a denoiser trained at the dataset's size`),
      );
    }
    // Every schedule field of the manifest (schedule, T, betaStart/betaEnd) is honoured; the manifest check refused contradictions.
    const betas = betaSchedule(dm.diffusion);
    const constants = diffusionConstants(betas);
    variance = config.variance ?? (dm.learnedVariance ? 'learned-range' : 'fixed-large');
    if (variance === 'learned-range' && !dm.learnedVariance) {
      return E.left(configError(`variance 'learned-range' needs a model that outputs v (learnedVariance in its manifest); use fixed-small or fixed-large`));
    }
    try {
      tStar = sigmaToTimestep(sigma, constants.alphasCumprod);
      oneShotPlan = planReverse(constants, tStar.t, { kind: 'one-shot' });
      for (const m of methods) {
        if (m.kind !== 'densepure') continue;
        if (!Number.isInteger(m.votes) || m.votes < 1) return E.left(configError(`--K must be a whole number >= 1, got ${m.votes}`));
        const key = `${m.steps}/${m.spacing ?? 'uniform'}`;
        const at = families.findIndex((f) => f.key === key);
        if (at >= 0) {
          families[at] = { ...families[at]!, maxVotes: Math.max(families[at]!.maxVotes, m.votes) };
        } else {
          const plan = planReverse(constants, tStar.t, m.steps === 'full' ? { kind: 'full' } : { kind: 'respaced', steps: m.steps, spacing: m.spacing ?? 'uniform' });
          // The shared model call at t* is every chain's first step; a plan that started elsewhere could not use it.
          if (plan.steps[0]!.modelTimestep !== tStar.t) return E.left(configError(`reverse chain ${key} starts at t=${plan.steps[0]!.modelTimestep}, not at t*=${tStar.t}`));
          families.push({ key, plan, maxVotes: m.votes });
        }
      }
    } catch (cause) {
      return E.left(configError(cause instanceof Error ? cause.message : String(cause)));
    }
  }
  // Every chain starts at t* (planReverse's first step), so its first model call is the shared one at t*.
  const chainEvals = (plan: ReversePlan, votes: number): number => votes * (plan.steps.length - 1);
  for (const m of methods) {
    if (m.kind === 'smoothing') {
      sources.push({ kind: 'smoothing' });
      memberInfo.push({ timesteps: [], evals: 0 });
    } else if (m.kind === 'dds') {
      sources.push({ kind: 'dds' });
      memberInfo.push({ tStar: tStar!.t, timesteps: oneShotPlan!.modelTimesteps, evals: 1 });
    } else {
      const family = families.findIndex((f) => f.key === `${m.steps}/${m.spacing ?? 'uniform'}`);
      const plan = families[family]!.plan;
      sources.push({ kind: 'densepure', family, votes: m.votes });
      memberInfo.push({ tStar: tStar!.t, timesteps: plan.modelTimesteps, evals: 1 + chainEvals(plan, m.votes) });
    }
  }
  const groupEvals = (needsDenoiser ? 1 : 0) + families.reduce((s, f) => s + chainEvals(f.plan, f.maxVotes), 0);

  const chunks = (rows: number): [number, number][] => {
    const out: [number, number][] = [];
    for (let r = 0; r < rows; r += batchSize) out.push([r, Math.min(batchSize, rows - r)]);
    return out;
  };

  /** The denoiser on `rows` inputs at one timestep, in model batches of batchSize. */
  const runDenoiser = async (x: Float32Array, rows: number, timestep: number): Promise<DenoiserOutput> => {
    const parts = await inPool(
      chunks(rows).map(([first, count]) => async () =>
        unwrap(await denoiser!.run(x.subarray(first * pixels, (first + count) * pixels), new Int32Array(count).fill(timestep))()),
      ),
      concurrency,
    );
    if (parts.length === 1) return parts[0]!;
    const eps = new Float32Array(rows * pixels);
    const v = parts[0]!.v === null ? null : new Float32Array(rows * pixels);
    let o = 0;
    for (const p of parts) {
      eps.set(p.eps, o);
      if (v !== null) v.set(p.v!, o);
      o += p.eps.length;
    }
    return { eps, v };
  };

  const labelsOf = async (images: Float32Array, rows: number): Promise<Int32Array> => {
    const parts = await inPool(
      chunks(rows).map(([first, count]) => async () => unwrap(await classifier.labels(images.subarray(first * pixels, (first + count) * pixels), count)())),
      concurrency,
    );
    const out = new Int32Array(rows);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  };

  /** Repeats each draw's row `times` times (draw-major), for the reverse chains that share it. */
  const repeatRows = (src: Float32Array, draws: number, times: number): Float32Array => {
    const out = new Float32Array(draws * times * pixels);
    for (let d = 0; d < draws; d++) {
      const row = src.subarray(d * pixels, (d + 1) * pixels);
      for (let k = 0; k < times; k++) out.set(row, (d * times + k) * pixels);
    }
    return out;
  };

  /**
   * Runs what the `wanted` members need on a range of draws. `votes[f]` chains per draw of family f
   * (0: not needed); `onlyVote` runs just that vote of each draw (for pictures).
   */
  const evaluate = async (image: Float32Array, imageIndex: number, draws: DrawRequest, oneShotWanted: boolean, votes: readonly number[], onlyVote?: number): Promise<Evaluated> => {
    const n = draws.count;
    const noise = new Float32Array(n * pixels);
    const noisy = new Float32Array(n * pixels);
    for (let i = 0; i < n; i++) {
      const row = noise.subarray(i * pixels, (i + 1) * pixels);
      gaussianFill(row, noiseAddress({ seed, imageIndex, drawIndex: draws.firstDraw + i, step: 'smoothing' }));
      for (let p = 0; p < pixels; p++) noisy[i * pixels + p] = image[p]! + sigma * row[p]!;
    }
    if (!oneShotWanted && votes.every((k) => k === 0)) return { noisy, oneShot: null, chains: [] };
    const xt = new Float32Array(n * pixels);
    toModelScale(image, sigma, noise, tStar!.scale, xt);
    const atTStar = await runDenoiser(xt, n, tStar!.t);
    let oneShot: Float32Array | null = null;
    if (oneShotWanted) {
      oneShot = new Float32Array(n * pixels);
      reverseStep(oneShotPlan!, 0, xt, atTStar.eps, null, null, oneShot, { variance, clipX0: true });
      fromModelScale(oneShot, oneShot);
    }
    const chains: Float32Array[] = [];
    for (const [f, family] of families.entries()) {
      const k = votes[f] ?? 0;
      if (k === 0) {
        chains.push(new Float32Array(0));
        continue;
      }
      const rows = n * k;
      const voteOf = (row: number): number => onlyVote ?? row % k;
      const drawOf = (row: number): number => draws.firstDraw + Math.floor(row / k);
      const { plan } = family;
      let x = repeatRows(xt, n, k);
      let next: Float32Array = new Float32Array(rows * pixels);
      const stepNoise = new Float32Array(rows * pixels);
      for (let s = 0; s < plan.steps.length; s++) {
        const out = s === 0 ? { eps: repeatRows(atTStar.eps, n, k), v: atTStar.v === null ? null : repeatRows(atTStar.v, n, k) } : await runDenoiser(x, rows, plan.steps[s]!.modelTimestep);
        const addsNoise = plan.steps[s]!.addsNoise;
        if (addsNoise) {
          for (let r = 0; r < rows; r++) {
            gaussianFill(stepNoise.subarray(r * pixels, (r + 1) * pixels), noiseAddress({ seed, imageIndex, drawIndex: drawOf(r), voteIndex: voteOf(r), step: s }));
          }
        }
        reverseStep(plan, s, x, out.eps, out.v, addsNoise ? stepNoise : null, next, { variance, clipX0: true });
        [x, next] = [next, x];
      }
      fromModelScale(x, x);
      chains.push(x);
    }
    return { noisy, oneShot, chains };
  };

  const countsFor = async (image: Float32Array, imageIndex: number, draws: DrawRequest, wanted: readonly number[]): Promise<Int32Array[]> => {
    const votes = families.map((_, f) => Math.max(0, ...wanted.map((m) => sources[m]!).map((s) => (s.kind === 'densepure' && s.family === f ? s.votes : 0))));
    const oneShotWanted = wanted.some((m) => sources[m]!.kind === 'dds');
    const ev = await evaluate(image, imageIndex, draws, oneShotWanted, votes);
    const n = draws.count;
    const smoothingLabels = wanted.some((m) => sources[m]!.kind === 'smoothing') ? await labelsOf(ev.noisy, n) : null;
    const oneShotLabels = ev.oneShot === null ? null : await labelsOf(ev.oneShot, n);
    const chainLabels = await Promise.all(ev.chains.map((x, f) => (votes[f]! > 0 ? labelsOf(x, n * votes[f]!) : Promise.resolve(new Int32Array(0)))));
    const scratch = new Int32Array(numClasses);
    return wanted.map((m) => {
      const source = sources[m]!;
      const counts = new Int32Array(numClasses);
      if (source.kind === 'densepure') {
        const k = votes[source.family]!;
        const labels = chainLabels[source.family]!;
        for (let d = 0; d < n; d++) {
          const winner = majorityVote(labels.subarray(d * k, d * k + source.votes), numClasses, scratch);
          counts[winner] = counts[winner]! + 1;
        }
      } else {
        for (const l of (source.kind === 'smoothing' ? smoothingLabels : oneShotLabels)!) counts[l] = counts[l]! + 1;
      }
      return counts;
    });
  };

  const sharedSamplers = (image: Float32Array, imageIndex: number, wanted: readonly number[]): Sampler[] => {
    const pending = new Map<string, { result: Promise<Int32Array[]>; left: number }>();
    return wanted.map((_, i) => async (draws: DrawRequest) => {
      const key = `${draws.firstDraw}:${draws.count}`;
      let entry = pending.get(key);
      if (entry === undefined) {
        entry = { result: countsFor(image, imageIndex, draws, wanted), left: wanted.length };
        pending.set(key, entry);
      }
      entry.left -= 1;
      if (entry.left === 0) pending.delete(key);
      return (await entry.result)[i]!;
    });
  };

  const members = methods.map((method, m): BaseClassifier => {
    const source = sources[m]!;
    const info = memberInfo[m]!;
    return {
      config: { sigma, seed, batchSize, method, ...(config.concurrency === undefined ? {} : { concurrency: config.concurrency }), ...(config.variance === undefined ? {} : { variance: config.variance }) },
      ...(info.tStar === undefined ? {} : { tStar: info.tStar }),
      timesteps: info.timesteps,
      denoiserEvalsPerDraw: info.evals,
      numClasses,
      sampler: (image, imageIndex) => sharedSamplers(image, imageIndex, [m])[0]!,
      purify: async (image, imageIndex, draws, vote = 0) => {
        try {
          const votes = families.map((_, f) => (source.kind === 'densepure' && source.family === f ? 1 : 0));
          const ev = await evaluate(image, imageIndex, draws, source.kind === 'dds', votes, vote);
          // Without a denoiser the "purified" image is the clipped noisy one, for display only.
          const purified: Float32Array = source.kind === 'smoothing' ? ev.noisy.map((v) => Math.min(1, Math.max(0, v))) : source.kind === 'dds' ? ev.oneShot! : ev.chains[source.family]!;
          return E.right<BackendError, { noisy: Float32Array; purified: Float32Array }>({ noisy: ev.noisy, purified });
        } catch (cause) {
          if (cause instanceof BackendFailure) return E.left(cause.error);
          throw cause;
        }
      },
    };
  });
  const all = methods.map((_, m) => m);
  return E.right({
    members,
    denoiserEvalsPerDraw: groupEvals,
    counts: (image, imageIndex, draws) => countsFor(image, imageIndex, draws, all),
    samplers: (image, imageIndex, only = all) => sharedSamplers(image, imageIndex, only),
  });
}

/**
 * Builds the base classifier g(x) of randomized smoothing for one method (a group of one, see
 * {@link makeMethodGroup}).
 */
export function makeBaseClassifier(denoiser: Denoiser | null, classifier: ImageClassifier, config: BaseClassifierConfig): E.Either<ConfigError, BaseClassifier> {
  const { method, ...rest } = config;
  const group = makeMethodGroup(method.kind === 'smoothing' ? null : denoiser, classifier, { ...rest, methods: [method] });
  return E.isLeft(group) ? group : E.right(group.right.members[0]!);
}

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { either as E, taskEither as TE } from 'fp-ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Classifier, type Denoiser, loadClassifier, loadDenoiser } from '@densepure/backend';
import { writeTinyModels } from '@densepure/backend/testing';
import '@densepure/backend-onnx';
import { type ImageClassifier, wrapClassifier } from '@densepure/classifiers';
import { type DrawRequest, gaussianFill, noiseAddress } from '@densepure/core';
import { makeBaseClassifier, makeMethodGroup } from '../base-classifier.js';
import type { BaseClassifierConfig, MethodGroupConfig } from '../types.js';
import { DIFFSMOOTH, type DiffSmoothMethod } from './diffsmooth.js';
import { SOFT_VOTE } from './densepure-soft.js';
import { MAJORITY_VOTE } from './majority.js';
import { type Method, parseMethodSettings, parseMethodSlug } from './table.js';

describe('diffsmooth entry', () => {
  const oneShot: DiffSmoothMethod = { kind: 'diffsmooth', purification: 'one-shot', m: 5, sigmaL: 0.25 };
  const chain: DiffSmoothMethod = { kind: 'diffsmooth', purification: 2, spacing: 'densepure', m: 3, sigmaL: 0.12, localVote: 'soft' };
  const full: DiffSmoothMethod = { kind: 'diffsmooth', purification: 'full', m: 1, sigmaL: 0 };

  it('slugs name the purification, m, sigma_l and a soft vote, and read back', () => {
    expect([oneShot, chain, full].map(DIFFSMOOTH.slug)).toEqual(['diffsmooth-one-shot-m5-sl0.25', 'diffsmooth-b2-dp-m3-sl0.12-soft', 'diffsmooth-full-m1-sl0']);
    for (const m of [oneShot, chain, full, { ...oneShot, sigmaL: 1e-7 }, { ...oneShot, purification: 7 }]) expect(DIFFSMOOTH.parseSlug(DIFFSMOOTH.slug(m))).toEqual(m);
    // Two settings, two slugs: a run never resumes another with different m or sigma_l.
    expect(new Set([oneShot, { ...oneShot, m: 6 }, { ...oneShot, sigmaL: 0.26 }, { ...oneShot, localVote: 'soft' as const }].map(DIFFSMOOTH.slug)).size).toBe(4);
    for (const slug of [
      'diffsmooth-one-shot-m0-sl0.25',
      'diffsmooth-one-shot-m65536-sl0.25',
      'diffsmooth-one-shot-m5-sl0.250', // not how the number is written: one slug per value
      'diffsmooth-one-shot-m5-sl-0.25',
      'diffsmooth-one-shot-m5-sl0', // sigma_l = 0 needs m = 1
      'diffsmooth-one-shot-dp-m5-sl0.25',
      'diffsmooth-full-dp-m5-sl0.25',
      'diffsmooth-b0-m5-sl0.25',
      'diffsmooth-m5-sl0.25',
      'diffsmooth-one-shot-m5-sl0.25-hard',
      'dds',
    ]) {
      expect(DIFFSMOOTH.parseSlug(slug), slug).toBeNull();
    }
    expect(parseMethodSlug('diffsmooth-b2-dp-m3-sl0.12-soft')).toEqual(E.right(chain));
  });

  it('labels, describes and sorts: purification, spacing, m, sigma_l, vote', () => {
    expect([oneShot, chain, full].map(DIFFSMOOTH.label)).toEqual([
      'DiffSmooth one-shot, m=5, sigma_l=0.25',
      'DiffSmooth 2 steps (DensePure spacing), m=3, sigma_l=0.12, soft vote',
      'DiffSmooth full chain, m=1, sigma_l=0',
    ]);
    expect(DIFFSMOOTH.describe(oneShot)).toBe('DiffSmooth: one-shot purification, then local smoothing: the majority of m=5 copies with extra noise sigma_l=0.25 (Zhang et al. 2023)');
    expect(DIFFSMOOTH.describe(chain)).toMatch(/^DiffSmooth: 2 respaced reverse steps \(DensePure's spacing\) purification, then local smoothing: the mean class probabilities of m=3/);
    expect([oneShot, chain, full].map(DIFFSMOOTH.order)).toEqual([
      [0, '', 5, 0.25, ''],
      [2, 'dp', 3, 0.12, 'soft'],
      [Infinity, '', 1, 0, ''],
    ]);
  });

  it('reads m local votes of its purified image; m and the chain go into the identity', () => {
    expect(DIFFSMOOTH.plan(oneShot)).toEqual({ from: 'local', purified: { from: 'one-shot' }, votes: 5, sigma: 0.25, aggregation: MAJORITY_VOTE });
    expect(DIFFSMOOTH.plan(chain)).toEqual({ from: 'local', purified: { from: 'chain', chain: { steps: 2, spacing: 'densepure' } }, votes: 3, sigma: 0.12, aggregation: SOFT_VOTE });
    expect(DIFFSMOOTH.plan(full)).toMatchObject({ purified: { from: 'chain', chain: { steps: 'full', spacing: 'uniform' } } });
    expect(DIFFSMOOTH.votes(oneShot)).toBe(5);
    expect(DIFFSMOOTH.identity(oneShot)).toEqual({ K: 5, steps: null });
    expect(DIFFSMOOTH.identity(chain)).toEqual({ K: 3, steps: 2 });
    expect(DIFFSMOOTH.needsDenoiser).toBe(true);
  });

  it("settings: the reference code's defaults (one-shot, m = 5, sigma_l = 0.25, majority)", () => {
    expect(parseMethodSettings('diffsmooth', {})).toEqual(E.right(oneShot));
    expect(parseMethodSettings('diffsmooth', { purification: 2, spacing: 'densepure', m: 3, sigmaL: 0.12, localVote: 'soft' })).toEqual(E.right(chain));
    expect(parseMethodSettings('diffsmooth', { purification: 'full', m: 1, sigmaL: 0 })).toEqual(E.right(full));
    expect(parseMethodSettings('diffsmooth', { spacing: 'uniform', localVote: 'majority' })).toEqual(E.right(oneShot));
    expect(Object.keys(DIFFSMOOTH.settings.shape)).toEqual(['purification', 'spacing', 'm', 'sigmaL', 'localVote']);
    for (const s of Object.values(DIFFSMOOTH.settings.shape)) expect(s.description).toMatch(/\w/);
  });

  it('refuses bad settings, naming the setting: sigma_l <= 0 (0 only with m = 1), m < 1', () => {
    const refused = (raw: Record<string, unknown>) => {
      const r = parseMethodSettings('diffsmooth', raw);
      if (E.isRight(r) || r.left.kind !== 'invalid-method-setting') throw new Error(`expected a refused setting for ${JSON.stringify(raw)}`);
      return r.left;
    };
    expect(refused({ sigmaL: -0.1 })).toMatchObject({ setting: 'sigmaL', message: 'diffsmooth: sigmaL must be a number > 0 (or 0 with m = 1), got -0.1' });
    expect(refused({ sigmaL: 0 })).toMatchObject({ setting: 'sigmaL', message: 'diffsmooth: sigmaL must be > 0 with m > 1 (0 only with m = 1, where DiffSmooth is its purification alone), got 0' });
    expect(refused({ sigmaL: 'wide' }).setting).toBe('sigmaL');
    expect(refused({ m: 0 })).toMatchObject({ setting: 'm', message: 'diffsmooth: m must be a whole number from 1 to 65535, got 0' });
    expect(refused({ m: -3 }).setting).toBe('m');
    expect(refused({ m: 2.5 }).setting).toBe('m');
    expect(refused({ m: 65536 }).setting).toBe('m');
    expect(refused({ purification: 'half' }).message).toBe("diffsmooth: purification must be 'one-shot', 'full' or a whole number >= 1, got \"half\"");
    expect(refused({ purification: 0 }).setting).toBe('purification');
    expect(refused({ spacing: 'densepure' }).message).toMatch(/^diffsmooth: spacing 'densepure' spaces respaced steps only/);
    expect(refused({ localVote: 'mean' }).setting).toBe('localVote');
    expect(refused({ K: 3 }).message).toBe("diffsmooth takes no setting 'K'; its settings: purification, spacing, m, sigmaL, localVote");
  });
});

/**
 * A stand-in classifier whose label a test computes by hand: the class whose centre (0.3, 0.5, 0.7) is nearest to
 * the image's first pixel; logits are minus ten times the distances. Local noise of 0.25 moves that pixel across
 * the class boundaries (0.4, 0.6) often, so the m copies of a draw disagree.
 */
const CENTRES = [0.3, 0.5, 0.7];
const standInLogits = (x: Float32Array, batch: number): Float32Array => {
  const pixels = x.length / batch;
  const out = new Float32Array(batch * CENTRES.length);
  for (let b = 0; b < batch; b++) CENTRES.forEach((c, k) => (out[b * CENTRES.length + k] = -10 * Math.abs(x[b * pixels]! - c)));
  return out;
};
const standInLabel = (firstPixel: number): number => {
  let best = 0;
  for (let k = 1; k < CENTRES.length; k++) if (Math.abs(Math.fround(firstPixel) - CENTRES[k]!) < Math.abs(Math.fround(firstPixel) - CENTRES[best]!)) best = k;
  return best;
};

describe('diffsmooth on the tiny denoiser with a stand-in classifier', () => {
  const image = Float32Array.from({ length: 16 }, (_, i) => (i % 5) / 4);
  const draws: DrawRequest = { firstDraw: 2, count: 40 };
  const config = { sigma: 0.5, seed: 6, batchSize: 16 };
  let dir = '';
  let denoiser: Denoiser;
  let standIn: ImageClassifier;
  let scoresOnly: ImageClassifier;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'densepure-diffsmooth-'));
    const paths = await writeTinyModels(dir);
    const d = await loadDenoiser(paths.denoiser, { backend: 'onnx' })();
    const c = await loadClassifier(paths.classifier, { backend: 'onnx' })();
    const s = await loadClassifier(paths.classifierScores, { backend: 'onnx' })();
    if (E.isLeft(d) || E.isLeft(c) || E.isLeft(s)) throw new Error('tiny models failed to load');
    const wrap = (x: Classifier): ImageClassifier => E.getOrElseW((e: { message: string }): never => { throw new Error(e.message); })(wrapClassifier(x, [1, 4, 4]));
    denoiser = d.right;
    const tiny = wrap(c.right);
    // The tiny classifier's metadata (3 classes, logits out), the stand-in's outputs.
    standIn = {
      ...tiny,
      logits: (x, batch) => TE.right(standInLogits(x, batch)),
      labels: (x, batch) => TE.right(Int32Array.from({ length: batch }, (_, b) => standInLabel(x[b * (x.length / batch)]!))),
    };
    scoresOnly = wrap(s.right);
  });
  afterAll(async () => {
    await denoiser?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  const must = async <A>(r: Promise<E.Either<{ readonly message: string }, A>> | E.Either<{ readonly message: string }, A>): Promise<A> => {
    const got = await r;
    if (E.isLeft(got)) throw new Error(got.left.message);
    return got.right;
  };
  const group = (methods: Method[], over: Partial<MethodGroupConfig> = {}) => must(makeMethodGroup(denoiser, standIn, { ...config, methods, ...over }));
  const countsOf = async (methods: Method[], over: Partial<MethodGroupConfig> = {}) => {
    const g = await group(methods, over);
    const counts = await must(g.counts(image, 9, draws));
    return { counts: counts.map((c) => Array.from(c)), evaluations: g.evaluations() };
  };
  const alone = async (method: Method, over: Partial<BaseClassifierConfig> = {}, split: readonly number[] = [draws.count]) => {
    const base = await must(makeBaseClassifier(denoiser, standIn, { ...config, method, ...over }));
    const sampler = base.sampler(image, 9);
    const total = [0, 0, 0];
    let first = draws.firstDraw;
    for (const count of split) {
      Array.from(await must(sampler({ firstDraw: first, count }))).forEach((v, k) => (total[k] = total[k]! + v));
      first += count;
    }
    return total;
  };

  /** The vote by hand: each draw's purified image (DDS's x0) plus sigma_l times the noise at vote j + 1 of the smoothing tag. */
  const byHand = async (m: number, sigmaL: number, vote: 'majority' | 'soft') => {
    const dds = await must(makeBaseClassifier(denoiser, standIn, { ...config, method: { kind: 'dds' } }));
    const { purified } = await must(dds.purify(image, 9, draws));
    const counts = [0, 0, 0];
    let disagreeWithDds = 0;
    for (let d = 0; d < draws.count; d++) {
      const tally = [0, 0, 0];
      for (let j = 0; j < m; j++) {
        const z = new Float32Array(16);
        gaussianFill(z, noiseAddress({ seed: config.seed, imageIndex: 9, drawIndex: draws.firstDraw + d, voteIndex: j + 1, step: 'smoothing' }));
        const first = Math.fround(purified[d * 16]! + sigmaL * z[0]!);
        if (vote === 'majority') tally[standInLabel(first)]! += 1;
        else {
          const logits = CENTRES.map((c) => -10 * Math.abs(first - c));
          const top = Math.max(...logits);
          const e = logits.map((l) => Math.exp(l - top));
          const sum = e.reduce((a, b) => a + b, 0);
          e.forEach((p, k) => (tally[k]! += p / sum));
        }
      }
      // The most voted (largest mean probability) class, ties to the smallest label.
      const label = tally.indexOf(Math.max(...tally));
      counts[label]! += 1;
      if (label !== standInLabel(purified[d * 16]!)) disagreeWithDds += 1;
    }
    return { counts, disagreeWithDds };
  };

  const ds = (m: number, sigmaL: number, extra: Partial<DiffSmoothMethod> = {}): Method => ({ kind: 'diffsmooth', purification: 'one-shot', m, sigmaL, ...extra });

  it('counts the majority of m noisy copies of the one-shot x0, as computed by hand', async () => {
    for (const [m, sigmaL] of [
      [5, 0.25],
      [4, 0.1],
    ] as const) {
      const hand = await byHand(m, sigmaL, 'majority');
      expect(await alone(ds(m, sigmaL)), `m ${m}, sigma_l ${sigmaL}`).toEqual(hand.counts);
      // Not vacuous: local smoothing changes the label of some draws against DDS's.
      expect(hand.disagreeWithDds).toBeGreaterThan(0);
    }
  });

  it('soft local vote: the class of largest mean probability over the copies, as computed by hand', async () => {
    const hand = await byHand(5, 0.25, 'soft');
    expect(await alone(ds(5, 0.25, { localVote: 'soft' }))).toEqual(hand.counts);
    const group = makeMethodGroup(denoiser, scoresOnly, { ...config, methods: [ds(5, 0.25, { localVote: 'soft' })] });
    expect(E.isLeft(group) && group.left).toMatchObject({ kind: 'needs-probabilities', method: 'diffsmooth-one-shot-m5-sl0.25-soft' });
  });

  it('counts do not depend on batch size, concurrency, how the draws are split or the decided-vote stop', async () => {
    const method = ds(7, 0.25);
    const reference = await alone(method);
    expect(await alone(method, { batchSize: 1 }, [3, 37])).toEqual(reference);
    expect(await alone(method, { batchSize: 5, concurrency: 3 }, [1, 1, 38])).toEqual(reference);
    expect(await alone(method, { decidedVoteStop: false })).toEqual(reference);
    // The stop saves classifier calls (local votes), never denoiser calls: one at t* per draw either way.
    const stopped = await countsOf([method]);
    const all = await countsOf([method], { decidedVoteStop: false });
    expect(stopped.counts).toEqual(all.counts);
    expect(all.evaluations).toEqual({ denoiser: 40, classifier: 40 * 7 });
    expect(stopped.evaluations.denoiser).toBe(40);
    expect(stopped.evaluations.classifier).toBeLessThan(all.evaluations.classifier);
  });

  it('m = 1 and sigma_l = 0 is DDS (one-shot) and DensePure K = 1 (chain): the same counts', async () => {
    expect(await alone(ds(1, 0))).toEqual(await alone({ kind: 'dds' }));
    const side = await countsOf([{ kind: 'dds' }, ds(1, 0)]);
    expect(side.counts[1]).toEqual(side.counts[0]);
    for (const [steps, spacing] of [
      [3, undefined],
      [2, 'densepure'],
    ] as const) {
      const chain = ds(1, 0, { purification: steps, ...(spacing === undefined ? {} : { spacing }) });
      expect(await alone(chain), JSON.stringify(chain)).toEqual(await alone({ kind: 'densepure', votes: 1, steps, ...(spacing === undefined ? {} : { spacing }) }));
    }
  });

  it("shares the draws: beside DDS and DensePure it reuses their x0 and chain runs, each member's counts as alone", async () => {
    const methods: Method[] = [{ kind: 'smoothing' }, { kind: 'dds' }, { kind: 'densepure', votes: 4, steps: 3 }, ds(5, 0.25), ds(9, 0.25), ds(3, 0.1), ds(5, 0.25, { purification: 3 })];
    const together = await countsOf(methods);
    for (const [i, method] of methods.entries()) {
      const base = await must(makeBaseClassifier(method.kind === 'smoothing' ? null : denoiser, standIn, { ...config, method }));
      expect(together.counts[i], JSON.stringify(method)).toEqual(Array.from(await must(base.sampler(image, 9)(draws))));
    }
    // The denoiser runs for DDS and DensePure alone: DiffSmooth's purified images are theirs.
    for (const decidedVoteStop of [true, false]) {
      const withIt = await countsOf(methods, { decidedVoteStop });
      const without = await countsOf(methods.slice(0, 3), { decidedVoteStop });
      expect(withIt.evaluations.denoiser, `stop ${decidedVoteStop}`).toBe(without.evaluations.denoiser);
    }
    const g = await group(methods);
    expect(g.denoiserEvalsPerDraw).toBe(1 + 4 * 2);
    expect(g.members.map((m) => m.denoiserEvalsPerDraw)).toEqual([0, 1, 9, 1, 1, 1, 3]);
  });

  it("pictures: DiffSmooth's purified image is DDS's x0, or its chain's first vote", async () => {
    const some = { firstDraw: 4, count: 3 };
    const picture = async (method: Method, vote = 0) => Array.from((await must((await must(makeBaseClassifier(denoiser, standIn, { ...config, method }))).purify(image, 9, some, vote))).purified);
    expect(await picture(ds(5, 0.25), 3)).toEqual(await picture({ kind: 'dds' }));
    expect(await picture(ds(5, 0.25, { purification: 3 }), 2)).toEqual(await picture({ kind: 'densepure', votes: 3, steps: 3 }, 0));
  });
});

// Sequential CERTIFY through runCertify on the tiny 1x4x4 models: rows equal core's certifySequential on the same
// sampler, do not depend on how many images share model calls, methods on shared draws stop one by one with the
// rows they have alone, costs are recorded per row, and bad sequential settings write nothing.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { either as E } from 'fp-ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TINY_CLASSES } from '@densepure/backend/testing';
import { certifySequential, drawsToCertify } from '@densepure/core';
import { type RunError, type RunSpec, type RunTarget, type SequentialEvent, certifyImageSequential, isSpecError, openPipeline, runErrorMessage } from './index.js';
import { writeTinyRun } from './test-util/tiny-run.js';
import { certified, costs, failure, rows } from './test-util/run-results.js';

const work = mkdtempSync(join(tmpdir(), 'densepure-seq-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let common: Omit<RunSpec, 'runs'>;
const images = 5;

beforeAll(async () => {
  const { models, dataset } = await writeTinyRun(work, [0, 1, 2, 0, 1]);
  common = {
    models: { denoiser: models.denoiser, classifier: models.classifier, workers: 0 },
    dataset: { spec: dataset, skip: 1 },
    sigma: 0.5,
    seed: 3,
    batch: 12,
    n0: 10,
    n: 2000,
    alpha: 0.01,
    mode: { kind: 'sequential', radii: [0.25, 0.5] },
  };
});

const dds: RunTarget['method'] = { kind: 'dds' };
const k3: RunTarget['method'] = { kind: 'densepure', votes: 3, steps: 2 };

describe('sequential runCertify', () => {
  it("writes core's certifySequential result for every image, and its costs", async () => {
    const out = join(work, 'alone', 'dds.tsv');
    const [result] = await certified({ ...common, runs: [{ method: dds, out }] });
    const opened = await openPipeline({ ...common, methods: [dds] })();
    if (E.isLeft(opened)) throw new Error(opened.left.message);
    const pipeline = opened.right;
    try {
      const expected = [];
      for (let idx = 0; idx < images; idx++) {
        const sequential = await certifySequential(pipeline.group.members[0]!.sampler(pipeline.dataset.get(idx).image, idx), {
          sigma: 0.5, n0: 10, nMax: 2000, alpha: 0.01, radii: [0.25, 0.5], numClasses: TINY_CLASSES, batchSize: 12,
        });
        if (E.isLeft(sequential)) throw new Error(sequential.left.message);
        const r = sequential.right;
        expected.push({ predict: r.kind === 'certified' ? r.label : -1, radius: r.kind === 'certified' ? r.radius : 0, selection: r.draws.selection, estimation: r.draws.estimation, stop: r.stop });
      }
      expect(result!.rows.map((r) => ({ predict: r.predict, radius: r.radius }))).toEqual(expected.map((e) => ({ predict: e.predict, radius: e.radius })));
      const c = costs(out);
      expect(c.map((x) => x.idx)).toEqual([0, 1, 2, 3, 4]);
      expect(c.map((x) => ({ selection: x.draws.selection, estimation: x.draws.estimation, stop: x.stop }))).toEqual(expected.map((e) => ({ selection: e.selection, estimation: e.estimation, stop: e.stop })));
      // DDS: one denoiser and one classifier evaluation per draw (adaptive selection's draws counted as made).
      for (const x of c) expect(x.evaluations).toEqual({ denoiser: x.draws.selection + x.draws.estimation, classifier: x.draws.selection + x.draws.estimation });
      expect(result!.cost.images).toBe(images);
      const sidecar = JSON.parse(readFileSync(`${out}.json`, 'utf8'));
      expect(sidecar.identity.sequential).toMatchObject({ radii: [0.25, 0.5], selection: expect.stringMatching(/^adaptive/) });
      expect(sidecar.cost.meanDraws.selection).toBe(c.reduce((sum, x) => sum + x.draws.selection, 0) / images);
    } finally {
      await pipeline.dispose();
    }
  }, 60_000);

  it("a watcher sees the selection, then every round's counts and looks, ending at the outcome (and changes nothing)", async () => {
    const opened = await openPipeline({ ...common, methods: [dds, k3] })();
    if (E.isLeft(opened)) throw new Error(opened.left.message);
    const pipeline = opened.right;
    try {
      const settings = { sigma: 0.5, n0: 10, n: 2000, alpha: 0.01, radii: [0.25, 0.5], chunk: 12 };
      const image = pipeline.dataset.get(2).image;
      const tally = () => ({ denoiser: 0, classifier: 0 });
      const events: SequentialEvent[] = [];
      const watched = await certifyImageSequential(pipeline.group, settings, image, 2, [0, 1], tally(), (e) => events.push(structuredClone(e)));
      const unwatched = await certifyImageSequential(pipeline.group, settings, image, 2, [0, 1], tally());
      if (E.isLeft(watched) || E.isLeft(unwatched)) throw new Error('a tiny model failed');
      expect(watched.right).toEqual(unwatched.right);
      const [selection, ...rounds] = events;
      if (selection?.kind !== 'selection') throw new Error('the first event is not the selection');
      expect(selection.labels).toEqual(watched.right.map((o) => o.label));
      expect(selection.counts.map((c) => c.reduce((a, b) => a + b, 0))).toEqual([10, 10]);
      for (const [m, outcome] of watched.right.entries()) {
        // The member's last look is its stop: same bound, same draws, same rounds.
        const mine = rounds.flatMap((r) => (r.kind === 'round' ? r.looks.filter((l) => l.member === m).map((l) => ({ ...l, n: r.n, rounds: r.rounds, counts: r.counts[m]! })) : []));
        const last = mine.at(-1)!;
        expect(mine.slice(0, -1).every((l) => l.stop === null)).toBe(true);
        expect({ lower: last.lower, stop: last.stop, n: last.n, rounds: last.rounds }).toEqual({ lower: outcome.lower, stop: outcome.stop, n: outcome.estimation, rounds: outcome.rounds });
        expect(last.counts.reduce((a, b) => a + b, 0)).toBe(outcome.estimation);
      }
    } finally {
      await pipeline.dispose();
    }
  }, 60_000);

  it('gives the same rows and costs with images grouped into shared model calls or not, at any group size', async () => {
    const runs = (tag: string): RunTarget[] => [
      { method: k3, out: join(work, tag, 'k3.tsv') },
      { method: dds, out: join(work, tag, 'dds.tsv') },
    ];
    const outs = [];
    for (const group of [1, 2, 5]) {
      await certified({ ...common, mode: { kind: 'sequential', radii: [0.25, 0.5], group }, runs: runs(`g${group}`) });
      outs.push(runs(`g${group}`).map((r) => ({ rows: rows(r.out), costs: costs(r.out) })));
    }
    expect(outs[1]).toEqual(outs[0]);
    expect(outs[2]).toEqual(outs[0]);
    // Shared draws: each method's rows are those it gets alone (draws and stops per method).
    const [alone] = await certified({ ...common, runs: [{ method: k3, out: join(work, 'alone', 'k3.tsv') }] });
    expect(rows(alone!.out)).toEqual(outs[0]![0]!.rows);
    expect(costs(alone!.out).map((c) => c.draws)).toEqual(outs[0]![0]!.costs.map((c) => c.draws));
  }, 120_000);

  it("grouped: each row's time is its share of the wall time, so the times add up to the run's time", async () => {
    const out = join(work, 'times', 'k3.tsv');
    const started = performance.now();
    const [result] = await certified({ ...common, mode: { kind: 'sequential', radii: [0.25, 0.5], group: 5 }, runs: [{ method: k3, out }] });
    const wall = (performance.now() - started) / 1000;
    const total = result!.rows.reduce((sum, r) => sum + r.seconds, 0);
    // Start-to-stop times of 5 images in flight would add up to several times the wall time.
    expect(total).toBeLessThanOrEqual(wall);
    expect(result!.summary.meanSeconds * images).toBeCloseTo(total, 6);
  }, 60_000);

  it('is a different identity from fixed N: neither resumes the other', async () => {
    const out = join(work, 'mode', 'dds.tsv');
    await certified({ ...common, mode: { kind: 'fixed' }, n: 50, runs: [{ method: dds, out }] });
    expect(JSON.parse(readFileSync(`${out}.json`, 'utf8')).identity.sequential).toBeUndefined();
    const error = await failure({ ...common, n: 50, mode: { kind: 'sequential', radii: [0.25] }, runs: [{ method: dds, out }] });
    expect(error.kind).toBe('identity-mismatch');
  }, 60_000);

  it('fixed selection: all N0 draws, the identity runs had before adaptive selection; neither resumes the other', async () => {
    const out = join(work, 'selection', 'fixed.tsv');
    const n0 = 40;
    await certified({ ...common, n0, mode: { kind: 'sequential', radii: [0.25, 0.5], selection: 'fixed' }, runs: [{ method: dds, out }] });
    expect(costs(out).every((x) => x.draws.selection === n0)).toBe(true);
    const identity = JSON.parse(readFileSync(`${out}.json`, 'utf8')).identity.sequential;
    expect(Object.keys(identity).sort()).toEqual(['bound', 'minRound', 'radii', 'roundGrowth']);
    expect((await failure({ ...common, n0, runs: [{ method: dds, out }] })).kind).toBe('identity-mismatch');
    // Estimation starts at draw N0 either way: where both rules pick the same class, the rows are the same.
    const other = join(work, 'selection', 'adaptive.tsv');
    await certified({ ...common, n0, runs: [{ method: dds, out: other }] });
    expect(costs(other).filter((x) => x.draws.selection < n0).length).toBeGreaterThan(0);
    const [fixed, adaptive] = [rows(out), rows(other)];
    const samePick = fixed.map((_, i) => i).filter((i) => fixed[i]![2] === adaptive[i]![2]);
    expect(samePick.length).toBeGreaterThan(0);
    for (const i of samePick) expect(fixed[i]).toEqual(adaptive[i]);
  }, 60_000);

  it('futility budget: recorded in the identity and, per row, what it spent', async () => {
    const out = join(work, 'futility', 'dds.tsv');
    await certified({ ...common, mode: { kind: 'sequential', radii: [0.25, 0.5], futility: 0.2 }, runs: [{ method: dds, out }] });
    expect(JSON.parse(readFileSync(`${out}.json`, 'utf8')).identity.sequential.futility).toBe(0.2);
    for (const x of costs(out)) {
      const gaveUp = ['pA-below-half', 'next-radius-out-of-reach', 'next-radius-beyond-cap'].includes(x.stop!);
      expect(x.futility).toMatchObject({ level: 0.2, spent: gaveUp ? 0.2 : 0 });
      expect(x.futility!.upper).toBeGreaterThanOrEqual(x.pA!);
    }
    expect((await failure({ ...common, runs: [{ method: dds, out }] })).kind).toBe('identity-mismatch');
  }, 60_000);

  it('refuses bad radii and radii the cap cannot reach, writing nothing', async () => {
    const dir = join(work, 'bad');
    const out = join(dir, 'x.tsv');
    const check = async (mode: RunSpec['mode'], n: number, pattern: RegExp): Promise<RunError> => {
      const error = await failure({ ...common, n, mode, runs: [{ method: dds, out }] });
      expect(isSpecError(error)).toBe(true);
      expect(runErrorMessage(error, (s) => `--${s}`)).toMatch(pattern);
      expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
      return error;
    };
    await check({ kind: 'sequential', radii: [0.5, 0.25] }, 2000, /--radii: .*strictly increasing/);
    await check({ kind: 'sequential', radii: [0, 0.25] }, 2000, /--radii: radius 0 .*must be a finite number > 0/);
    await check({ kind: 'sequential', radii: [] }, 2000, /--radii: no radii/);
    const needed = drawsToCertify(1, 0.5, 0.01)!;
    const error = await check({ kind: 'sequential', radii: [0.5, 1] }, 100, new RegExp(`radius 1 cannot be certified .* --N = 100 .* needs --N >= ${needed}`));
    expect(error).toMatchObject({ kind: 'sequential-setting', error: { kind: 'radius-unreachable', neededNMax: needed } });
    await check({ kind: 'sequential', radii: [0.25], group: 0 }, 2000, /--group must be a whole number >= 1/);
    await check({ kind: 'sequential', radii: [0.25], futility: 1 }, 2000, /--futility: the futility level must be in \(0, 1\)/);
    await check({ kind: 'sequential', radii: [0.25], selection: 'sometimes' as never }, 2000, /--selection must be 'adaptive' or 'fixed'/);
  });
});

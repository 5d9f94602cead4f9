// The cascade mode through runCertify on the tiny 1x4x4 models: a one-stage cascade at p0 = 1/2 writes the rows
// of plain CERTIFY; a cascade's rows are core's certifyCascade / certifyCascadeSequential on the base classifiers
// at each sigma; methods on shared draws get the rows they get alone; the cost line says which sigma answered;
// bad cascade settings write nothing.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { either as E } from 'fp-ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TINY_CLASSES } from '@densepure/backend/testing';
import { type CascadeResult, certifyCascade, certifyCascadeSequential } from '@densepure/core';
import { type CascadeMode, type RunSpec, type RunTarget, isSpecError, openPipeline, runErrorMessage } from './index.js';
import { writeTinyRun } from './test-util/tiny-run.js';
import { certified, costs, failure, rows } from './test-util/run-results.js';

const work = mkdtempSync(join(tmpdir(), 'densepure-cascade-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let common: Omit<RunSpec, 'runs'>;
const images = 6;
const sigmas = [0.5, 0.3, 0.15];

beforeAll(async () => {
  const { models, dataset } = await writeTinyRun(work, [0, 1, 2, 0, 1, 2]);
  common = {
    models: { denoiser: models.denoiser, classifier: models.classifier, workers: 0 },
    dataset: { spec: dataset, skip: 1 },
    sigma: 0.5,
    seed: 3,
    batch: 12,
    n0: 10,
    n: 200,
    alpha: 0.01,
  };
});

const dds: RunTarget['method'] = { kind: 'dds' };
const k3: RunTarget['method'] = { kind: 'densepure', votes: 3, steps: 2 };

/** Core's cascade per image on the base classifier of `method` at each sigma (a pipeline opened at that sigma). */
async function coreCascade(method: RunTarget['method'], mode: CascadeMode, run: (samplers: Parameters<typeof certifyCascade>[0]) => Promise<E.Either<unknown, CascadeResult>>): Promise<CascadeResult[]> {
  const pipelines = [];
  for (const sigma of mode.sigmas) {
    const opened = await openPipeline({ ...common, sigma, methods: [method] })();
    if (E.isLeft(opened)) throw new Error(opened.left.message);
    pipelines.push(opened.right);
  }
  try {
    const out: CascadeResult[] = [];
    for (let idx = 0; idx < images; idx++) {
      const image = pipelines[0]!.dataset.get(idx).image;
      const r = await run(pipelines.map((p) => p.group.members[0]!.sampler(image, idx)));
      if (E.isLeft(r)) throw new Error(String(r.left));
      out.push(r.right);
    }
    return out;
  } finally {
    for (const p of pipelines) await p.dispose();
  }
}

const asRows = (results: readonly CascadeResult[]) => results.map((r) => ({ predict: r.kind === 'certified' ? r.label : -1, radius: r.kind === 'certified' ? r.radius : 0 }));

describe('cascade runCertify', () => {
  it('one stage at p0 = 1/2 writes the rows of plain fixed-N CERTIFY', async () => {
    const runs = (tag: string): RunTarget[] => [
      { method: dds, out: join(work, tag, 'dds.tsv') },
      { method: k3, out: join(work, tag, 'k3.tsv') },
    ];
    await certified({ ...common, runs: runs('plain') });
    await certified({ ...common, mode: { kind: 'cascade', sigmas: [0.5], p0: 0.5 }, runs: runs('one-stage') });
    for (const [a, b] of runs('plain').map((r, i) => [r.out, runs('one-stage')[i]!.out] as const)) expect(rows(b)).toEqual(rows(a));
    const c = costs(runs('one-stage')[0]!.out);
    expect(c.map((x) => x.draws)).toEqual(Array.from({ length: images }, () => ({ selection: 10, estimation: 200 })));
    expect(c.every((x) => x.cascade?.stage === 0 && x.cascade.sigma === 0.5)).toBe(true);
  }, 120_000);

  it("fixed N: each row is core's certifyCascade on the base classifiers at each sigma, alone or on shared draws", async () => {
    const mode: CascadeMode = { kind: 'cascade', sigmas, p0: 0.6 };
    const runs: RunTarget[] = [
      { method: k3, out: join(work, 'fixed', 'k3.tsv') },
      { method: dds, out: join(work, 'fixed', 'dds.tsv') },
    ];
    const results = await certified({ ...common, mode, runs });
    const options = { sigmas, p0: 0.6, alpha: 0.01, n0: 10, n: 200, batchSize: 12, numClasses: TINY_CLASSES };
    for (const [i, method] of [k3, dds].entries()) {
      const expected = await coreCascade(method, mode, (samplers) => certifyCascade(samplers, options));
      expect(results[i]!.rows.map((r) => ({ predict: r.predict, radius: r.radius }))).toEqual(asRows(expected));
      const c = costs(runs[i]!.out);
      expect(c.map((x) => x.cascade?.stages.map((s) => s.decision))).toEqual(expected.map((r) => r.stages.map((s) => s.decision)));
      expect(c.map((x) => x.cascade?.sigma)).toEqual(expected.map((r) => r.sigma));
      expect(c.map((x) => x.draws)).toEqual(expected.map((r) => ({ selection: 10 * r.stages.length, estimation: 200 * r.stages.length })));
    }
    const [alone] = await certified({ ...common, mode, runs: [{ method: dds, out: join(work, 'fixed-alone', 'dds.tsv') }] });
    expect(rows(alone!.out)).toEqual(rows(runs[1]!.out));
    const sidecar = JSON.parse(readFileSync(`${runs[0]!.out}.json`, 'utf8'));
    expect(sidecar.identity).toMatchObject({ sigma: 0.5, cascade: { sigmas, p0: 0.6, bound: 'clopper-pearson' } });
    expect(sidecar.cascade.stages.map((s: { sigma: number }) => s.sigma)).toEqual(sigmas);
    expect(sidecar.cost.images).toBe(images);
  }, 180_000);

  it("sequential: each row is core's certifyCascadeSequential, alone or on shared draws", async () => {
    const mode: CascadeMode = { kind: 'cascade', sigmas, p0: 0.6, radii: [0.1, 0.2] };
    const runs: RunTarget[] = [
      { method: k3, out: join(work, 'seq', 'k3.tsv') },
      { method: dds, out: join(work, 'seq', 'dds.tsv') },
    ];
    const spec = { ...common, n: 1000, mode };
    const results = await certified({ ...spec, runs });
    const options = { sigmas, p0: 0.6, alpha: 0.01, n0: 10, nMax: 1000, radii: [0.1, 0.2], batchSize: 12, numClasses: TINY_CLASSES };
    for (const [i, method] of [k3, dds].entries()) {
      const expected = await coreCascade(method, mode, (samplers) => certifyCascadeSequential(samplers, options));
      expect(results[i]!.rows.map((r) => ({ predict: r.predict, radius: r.radius }))).toEqual(asRows(expected));
      const c = costs(runs[i]!.out);
      expect(c.map((x) => x.cascade?.stages.map((s) => [s.estimation, s.stop]))).toEqual(expected.map((r) => r.stages.map((s) => [s.estimation, s.stop])));
    }
    const [alone] = await certified({ ...spec, runs: [{ method: k3, out: join(work, 'seq-alone', 'k3.tsv') }] });
    expect(rows(alone!.out)).toEqual(rows(runs[0]!.out));
    expect(JSON.parse(readFileSync(`${runs[0]!.out}.json`, 'utf8')).identity.cascade).toMatchObject({ radii: [0.1, 0.2], bound: 'beta-binomial mixture confidence sequence' });
  }, 180_000);

  it('adaptive selection (the default) picks on fewer draws than fixed, alone or grouped, as core does; the rule is in the identity', async () => {
    const selectionDraws = (out: string) => costs(out).map((c) => c.draws.selection);
    const spec = { ...common, n0: 60, n: 1000 };
    const byRule = new Map<string, number[]>();
    for (const selection of ['adaptive', 'fixed'] as const) {
      const mode: CascadeMode = { kind: 'cascade', sigmas, p0: 0.6, radii: [0.1, 0.2], selection };
      const runs: RunTarget[] = [
        { method: k3, out: join(work, `sel-${selection}`, 'k3.tsv') },
        { method: dds, out: join(work, `sel-${selection}`, 'dds.tsv') },
      ];
      const results = await certified({ ...spec, mode, runs });
      const options = { sigmas, p0: 0.6, alpha: 0.01, n0: 60, nMax: 1000, radii: [0.1, 0.2], batchSize: 12, numClasses: TINY_CLASSES, selection: { kind: selection } } as const;
      for (const [i, method] of [k3, dds].entries()) {
        const expected = await coreCascade(method, mode, (samplers) => certifyCascadeSequential(samplers, options));
        expect(results[i]!.rows.map((r) => ({ predict: r.predict, radius: r.radius }))).toEqual(asRows(expected));
        const spent = expected.map((r) => r.stages.reduce((sum, st) => sum + st.counts.selection.reduce((a, b) => a + b, 0), 0));
        expect(selectionDraws(runs[i]!.out)).toEqual(spent);
      }
      byRule.set(selection, selectionDraws(runs[0]!.out));
      const identity = JSON.parse(readFileSync(`${runs[0]!.out}.json`, 'utf8')).identity.cascade;
      expect('selection' in identity).toBe(selection === 'adaptive');
    }
    const fixed = byRule.get('fixed')!;
    const adaptive = byRule.get('adaptive')!;
    expect(fixed.every((d, i) => d % 60 === 0 && adaptive[i]! <= d)).toBe(true);
    expect(adaptive.some((d, i) => d < fixed[i]!)).toBe(true);
    const refused = await failure({ ...common, mode: { kind: 'cascade', sigmas, p0: 0.6, selection: 'fixed' }, runs: [{ method: dds, out: join(work, 'sel-bad', 'x.tsv') }] });
    expect(runErrorMessage(refused, (s) => s)).toMatch(/selection applies to a sequential cascade only/);
  }, 180_000);

  it('is a different identity from fixed N and from another cascade: none resumes another', async () => {
    const out = join(work, 'identity', 'dds.tsv');
    await certified({ ...common, n: 50, runs: [{ method: dds, out }] });
    expect((await failure({ ...common, n: 50, mode: { kind: 'cascade', sigmas: [0.5], p0: 0.5 }, runs: [{ method: dds, out }] })).kind).toBe('identity-mismatch');
    const other = join(work, 'identity', 'cascade.tsv');
    await certified({ ...common, n: 50, mode: { kind: 'cascade', sigmas: [0.5, 0.25], p0: 0.5 }, runs: [{ method: dds, out: other }] });
    expect((await failure({ ...common, n: 50, mode: { kind: 'cascade', sigmas: [0.5, 0.25], p0: 0.7 }, runs: [{ method: dds, out: other }] })).kind).toBe('identity-mismatch');
  }, 120_000);

  it('refuses sigmas not decreasing, p0 outside [1/2, 1), a run sigma that is not the first, and bad radii, writing nothing', async () => {
    const dir = join(work, 'bad');
    const out = join(dir, 'x.tsv');
    const check = async (mode: CascadeMode, pattern: RegExp, sigma = 0.5): Promise<void> => {
      const error = await failure({ ...common, sigma, mode, runs: [{ method: dds, out }] });
      expect(isSpecError(error)).toBe(true);
      expect(runErrorMessage(error, (s) => `--${s}`)).toMatch(pattern);
      expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
    };
    await check({ kind: 'cascade', sigmas: [0.25, 0.5], p0: 0.5 }, /--sigmas: .*strictly decreasing .*0\.5 follows 0\.25/, 0.25);
    await check({ kind: 'cascade', sigmas: [0.5, 0.5], p0: 0.5 }, /--sigmas: .*strictly decreasing/);
    await check({ kind: 'cascade', sigmas: [], p0: 0.5 }, /--sigmas: a cascade needs at least one noise level/);
    await check({ kind: 'cascade', sigmas: [0.5, -0.25], p0: 0.5 }, /--sigmas: noise level -0\.25 .*must be a finite number > 0/);
    await check({ kind: 'cascade', sigmas: [0.5, 0.25], p0: 1 }, /--p0: p0 must be a number in \(0, 1\), got 1/);
    await check({ kind: 'cascade', sigmas: [0.5, 0.25], p0: 0 }, /--p0: p0 must be a number in \(0, 1\), got 0/);
    await check({ kind: 'cascade', sigmas: [0.5, 0.25], p0: 0.3 }, /--p0: p0 must be at least 0\.5, got 0\.3/);
    await check({ kind: 'cascade', sigmas: [0.5, 0.25], p0: 0.5 }, /--sigma must be the cascade's first \(largest\) sigma, 0\.5, got 0\.25/, 0.25);
    await check({ kind: 'cascade', sigmas: [0.5, 0.25], p0: 0.5, radii: [0.5, 0.25] }, /--radii: the radii must be strictly increasing/);
  });
});

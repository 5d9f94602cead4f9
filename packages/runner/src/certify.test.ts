// runCertify on the tiny 1x4x4 models: with several methods on shared draws, every run's TSV and identity are
// those of the method certified alone.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { either as E } from 'fp-ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunError, type RunResult, type RunSpec, type RunTarget, isSpecError, runCertify, runErrorMessage } from './index.js';
import { writeTinyRun } from './test-util/tiny-run.js';

const work = mkdtempSync(join(tmpdir(), 'densepure-shared-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let common: Omit<RunSpec, 'runs'>;

beforeAll(async () => {
  const { models, dataset } = await writeTinyRun(work, [0, 1, 2]);
  common = {
    models: { denoiser: models.denoiser, classifier: models.classifier, workers: 0 },
    dataset: { spec: dataset, skip: 1 },
    sigma: 0.5,
    seed: 3,
    batch: 12,
    n0: 4,
    n: 30,
    alpha: 0.001,
  };
});

const rows = (path: string): string[][] => readFileSync(path, 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t').slice(0, 5));
const certified = async (spec: RunSpec, hooks = {}): Promise<RunResult[]> => {
  const r = await runCertify(spec, { hooks })();
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};
const failure = async (spec: RunSpec): Promise<RunError> => {
  const r = await runCertify(spec)();
  if (E.isRight(r)) throw new Error('expected the run to fail');
  return r.left;
};

describe('runCertify with shared draws', () => {
  it('writes, for each method, the rows and identity that runCertify writes for it alone', async () => {
    const runs: RunTarget[] = [
      { method: { kind: 'densepure', votes: 3, steps: 3, spacing: 'densepure' }, out: join(work, 'shared', 'k3.tsv') },
      { method: { kind: 'smoothing' }, out: join(work, 'shared', 'smoothing.tsv') },
      { method: { kind: 'dds' }, out: join(work, 'shared', 'dds.tsv') },
      { method: { kind: 'densepure', votes: 2, steps: 3 }, out: join(work, 'shared', 'k2-uniform.tsv') },
    ];
    const seen: number[] = [];
    const shared = await certified({ ...common, runs }, { onRow: (m: number) => seen.push(m) });
    expect(seen).toEqual([0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3]);
    for (const [i, run] of runs.entries()) {
      const [alone] = await certified({ ...common, runs: [{ ...run, out: join(work, 'alone', `${i}.tsv`) }] });
      expect(rows(run.out)).toEqual(rows(alone!.out));
      const a = JSON.parse(readFileSync(alone!.sidecar, 'utf8'));
      const s = JSON.parse(readFileSync(shared[i]!.sidecar, 'utf8'));
      expect(s.identity).toEqual(a.identity);
      expect(s.denoiserEvalsPerDraw).toBe(a.denoiserEvalsPerDraw);
      // t* once; 3 votes x 2 later steps of the DensePure-spaced chain, 2 x 2 of the uniform one.
      expect(s.sharedDraws).toMatchObject({ methods: ['densepure-K3-b3-dp', 'smoothing', 'dds', 'densepure-K2-b3'], denoiserEvalsPerDraw: 1 + 3 * 2 + 2 * 2 });
      expect(a.sharedDraws).toBeUndefined();
    }
    const smoothingIdentity = JSON.parse(readFileSync(shared[1]!.sidecar, 'utf8')).identity;
    expect(smoothingIdentity.denoiserSha256).toBeNull();
    expect(smoothingIdentity.denoiserManifestSha256).toBeNull();
    expect(JSON.parse(readFileSync(shared[0]!.sidecar, 'utf8')).identity).toMatchObject({ denoiserManifestSha256: expect.stringMatching(/^[0-9a-f]{64}$/), classifierManifestSha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    // Rerunning the finished session resumes nothing and changes no row.
    const again = await certified({ ...common, runs });
    expect(again.map((r) => r.resumedRows)).toEqual([3, 3, 3, 3]);
  }, 60_000);

  it('refuses two runs writing the same file before anything is written', async () => {
    const out = join(work, 'twice', 'a.tsv');
    const error = await failure({ ...common, runs: [{ method: { kind: 'densepure', votes: 1, steps: 2 }, out }, { method: { kind: 'densepure', votes: 2, steps: 2 }, out }] });
    expect(isSpecError(error)).toBe(true);
    expect(error.message).toMatch(/same file .*a\.tsv/);
    expect(existsSync(out)).toBe(false);
  });

  it('names settings without CLI flags, and lets the app spell them', async () => {
    const error = await failure({ ...common, n0: 500, n: 100, runs: [{ method: { kind: 'dds' }, out: join(work, 'n0.tsv') }] });
    expect(error.message).toBe('N0 (500) must not exceed N (100): N0 draws only pick the class, N draws certify it');
    expect(isSpecError(error)).toBe(true);
    expect(runErrorMessage(error, (s) => `--${s}`)).toBe('--N0 (500) must not exceed --N (100): N0 draws only pick the class, N draws certify it');
    expect((await failure({ ...common, sigma: 0, runs: [{ method: { kind: 'dds' }, out: join(work, 's.tsv') }] })).message).toBe('sigma must be a positive number, got 0');
  });
});

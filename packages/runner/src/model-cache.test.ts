// A ModelCache opens each model and dataset once for several runs in one process, gives the rows of runs that
// open their own, keeps no failed load, and closes everything on dispose.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { either as E } from 'fp-ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModels } from '@densepure/backend/testing';
import { type ModelCache, type RunSpec, createModelCache, runCertify } from './index.js';
import { writeTinyRun } from './test-util/tiny-run.js';

const work = mkdtempSync(join(tmpdir(), 'densepure-model-cache-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let models: { denoiser: string; classifier: string };
let dataset: string;

beforeAll(async () => {
  ({ models, dataset } = await writeTinyRun(work, [0, 1, 2], 29));
});

const spec = (out: string, sigma: number, denoiser = models.denoiser): RunSpec => ({
  models: { denoiser, classifier: models.classifier, workers: 0 },
  dataset: { spec: dataset, skip: 1 },
  runs: [{ method: { kind: 'densepure', votes: 3, steps: 2 }, out: join(work, out) }],
  sigma,
  seed: 5,
  batch: 12,
  n0: 4,
  n: 20,
  alpha: 0.001,
});
const rows = (out: string): string[][] => readFileSync(join(work, out), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t').slice(0, 5));
const ok = async (s: RunSpec, cache?: ModelCache): Promise<void> => {
  const r = await runCertify(s, { cache })();
  if (E.isLeft(r)) throw new Error(r.left.message);
};

describe('ModelCache', () => {
  it('several runs share one open dataset, classifier and denoiser, with the rows of runs that open their own', async () => {
    const cache = createModelCache();
    await ok(spec('a-cached.tsv', 0.25), cache);
    expect(cache.size).toBe(3);
    await ok(spec('b-cached.tsv', 0.5), cache);
    // The second run opened nothing new (and the first run's end did not close what the second used).
    expect(cache.size).toBe(3);
    await ok(spec('a-own.tsv', 0.25));
    await ok(spec('b-own.tsv', 0.5));
    expect(rows('a-cached.tsv')).toEqual(rows('a-own.tsv'));
    expect(rows('b-cached.tsv')).toEqual(rows('b-own.tsv'));
    // What the runs opened is the one object handed out for the same name and options.
    const first = await cache.denoiser(models.denoiser, { workers: 0 })();
    const again = await cache.denoiser(models.denoiser, { workers: 0 })();
    expect(E.isRight(first) && E.isRight(again) && first.right === again.right).toBe(true);
    expect(cache.size).toBe(3);
    await cache.dispose();
    expect(cache.size).toBe(0);
    await expect(runCertify(spec('c.tsv', 0.5), { cache })()).rejects.toThrow(/after dispose/);
  });

  it('keeps no failed load: the same name is tried again by the next run', async () => {
    const cache = createModelCache();
    const missing = join(work, 'later', 'tiny-denoiser.onnx');
    const failed = await runCertify(spec('missing.tsv', 0.5, missing), { cache })();
    expect(E.isLeft(failed) && failed.left.kind).toBe('model-load');
    // The dataset and classifier opened before the denoiser failed stay; the denoiser is not remembered.
    expect(cache.size).toBe(2);
    await writeTinyModels(join(work, 'later'));
    await ok(spec('later.tsv', 0.5, missing), cache);
    expect(cache.size).toBe(3);
    await cache.dispose();
  });
});

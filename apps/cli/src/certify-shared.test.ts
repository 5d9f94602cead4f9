// runCertifyShared on the tiny 1x4x4 models: every member's TSV and identity are those of runCertify alone.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TINY_CLASSES, TINY_PIXELS, writeTinyModels } from '@densepure/backend/testing';
import { encodeDpds } from '@densepure/datasets';
import { type CertifyOptions, CliError, runCertify, runCertifyShared } from './index.js';

const work = mkdtempSync(join(tmpdir(), 'densepure-shared-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let common: Omit<CertifyOptions, 'out' | 'K' | 'steps' | 'oneShot' | 'denoiser' | 'onRow'>;
let denoiser = '';

beforeAll(async () => {
  const models = await writeTinyModels(join(work, 'models'));
  denoiser = models.denoiser;
  const images = 3;
  const pixels = Float32Array.from({ length: images * TINY_PIXELS }, (_, i) => ((i * 37) % 256) / 255);
  const dataset = join(work, 'tiny.bin');
  writeFileSync(dataset, encodeDpds(pixels, Uint8Array.from([0, 1, 2]), [1, 4, 4], TINY_CLASSES));
  common = { classifier: models.classifier, dataset, workers: 0, sigma: 0.5, seed: 3, batch: 12, n0: 4, n: 30, alpha: 0.001, skip: 1, progress: 'none' };
});

const rows = (path: string): string[][] => readFileSync(path, 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t').slice(0, 5));

describe('runCertifyShared', () => {
  it('writes, for each method, the rows and identity that runCertify writes for it alone', async () => {
    const members = [
      { denoiser, K: 3, steps: '3', oneShot: false, spacing: 'densepure', out: join(work, 'shared', 'k3.tsv') },
      { denoiser: 'none', K: 1, steps: '10', oneShot: false, out: join(work, 'shared', 'smoothing.tsv') },
      { denoiser, K: 1, steps: '10', oneShot: true, out: join(work, 'shared', 'dds.tsv') },
      { denoiser, K: 2, steps: '3', oneShot: false, out: join(work, 'shared', 'k2-uniform.tsv') },
    ];
    const seen: number[] = [];
    // The first member's flags spread into the session options (as the eval runner does) must not leak into others.
    const shared = await runCertifyShared({ ...common, ...members[0]!, members, onRow: (m) => seen.push(m) });
    expect(seen).toEqual([0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3]);
    for (const [i, member] of members.entries()) {
      const alone = await runCertify({ ...common, ...member, out: join(work, 'alone', `${i}.tsv`) });
      expect(rows(member.out)).toEqual(rows(alone.out));
      const a = JSON.parse(readFileSync(alone.sidecar, 'utf8'));
      const s = JSON.parse(readFileSync(shared[i]!.sidecar, 'utf8'));
      expect(s.identity).toEqual(a.identity);
      expect(s.denoiserEvalsPerDraw).toBe(a.denoiserEvalsPerDraw);
      // t* once; 3 votes x 2 later steps of the DensePure-spaced chain, 2 x 2 of the uniform one.
      expect(s.sharedDraws).toMatchObject({ methods: ['densepure-K3-b3-dp', 'smoothing', 'dds', 'densepure-K2-b3'], denoiserEvalsPerDraw: 1 + 3 * 2 + 2 * 2 });
      expect(a.sharedDraws).toBeUndefined();
    }
    expect(JSON.parse(readFileSync(shared[1]!.sidecar, 'utf8')).identity.denoiserSha256).toBeNull();
    // Rerunning the finished session resumes nothing and changes no row.
    const again = await runCertifyShared({ ...common, members });
    expect(again.map((r) => r.resumedRows)).toEqual([3, 3, 3, 3]);
  }, 60_000);

  it('refuses two members writing the same file before anything is written', async () => {
    const out = join(work, 'twice', 'a.tsv');
    const error = await runCertifyShared({ ...common, members: [{ denoiser, K: 1, steps: '2', oneShot: false, out }, { denoiser, K: 2, steps: '2', oneShot: false, out }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(2);
    expect((error as CliError).message).toMatch(/same file .*a\.tsv/);
    expect(existsSync(out)).toBe(false);
    const mixed = await runCertifyShared({ ...common, members: [{ denoiser, K: 1, steps: '2', oneShot: false, out }, { denoiser: 'other.onnx', K: 1, steps: '1', oneShot: true, out: `${out}.b` }] }).catch((e: unknown) => e);
    expect((mixed as CliError).message).toMatch(/must use one denoiser/);
    expect(existsSync(out)).toBe(false);
  });
});

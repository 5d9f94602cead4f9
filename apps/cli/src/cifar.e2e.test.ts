// End-to-end certify on a CIFAR-shaped pipeline, through the built binary: a 32x32x3 cosine T = 4000 denoiser and a
// 36x36 classifier (bicubic-antialias resize, normalisation outside the graph), both made by tools/export
// (make_cifar_fixture.py) and committed as small fixtures, and a CIFAR-10 binary batch written here.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const fixtures = fileURLToPath(new URL('../../../tools/export/fixtures/cifar-tiny/', import.meta.url));
const denoiser = join(fixtures, 'denoiser.onnx');
const classifier = join(fixtures, 'classifier.onnx');
const work = mkdtempSync(join(tmpdir(), 'densepure-cifar-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

// The synthetic classes the fixture models were trained on (tools/export/make_cifar_fixture.py, same formula):
// class c is colour COLORS[c] shaded from x0.55 (top row) to x1.0 (bottom row), plus uniform noise of +-0.08.
const COLORS = [[0.9, 0.1, 0.1], [0.1, 0.9, 0.1], [0.1, 0.1, 0.9], [0.9, 0.9, 0.1], [0.9, 0.1, 0.9], [0.1, 0.9, 0.9], [0.9, 0.9, 0.9], [0.5, 0.5, 0.5], [0.1, 0.1, 0.1], [0.9, 0.5, 0.1]];
const PER_CLASS = 2;
const IMAGES = 10 * PER_CLASS;

/** A CIFAR-10 binary batch: per record 1 label byte, then 1024 R, 1024 G, 1024 B bytes (row-major). */
function writeCifarBatch(path: string): number[] {
  let seed = 12345;
  const uniform = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  const labels = Array.from({ length: IMAGES }, (_, i) => i % 10);
  const buf = Buffer.alloc(IMAGES * 3073);
  labels.forEach((label, n) => {
    buf[n * 3073] = label;
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 32; y++) {
        for (let x = 0; x < 32; x++) {
          const v = COLORS[label]![c]! * (0.55 + (0.45 * y) / 31) + (2 * uniform() - 1) * 0.08;
          buf[n * 3073 + 1 + c * 1024 + y * 32 + x] = Math.round(Math.min(1, Math.max(0, v)) * 255);
        }
      }
    }
  });
  writeFileSync(path, buf);
  return labels;
}

const rows = (path: string): { idx: number; label: number; predict: number; radius: number; correct: number }[] =>
  readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => {
      const [idx, label, predict, radius, correct] = l.split('\t');
      return { idx: Number(idx), label: Number(label), predict: Number(predict), radius: Number(radius), correct: Number(correct) };
    });

let labels: number[] = [];
const dataset = `cifar10:${join(work, 'cifar')}`;
beforeAll(() => {
  mkdirSync(join(work, 'cifar'));
  labels = writeCifarBatch(join(work, 'cifar', 'test_batch.bin'));
});

// Under the null "predictions carry no information about the label" each class (2 images) is hit twice at most in
// expectation 2 of 20; at least 12 correct-and-certified images is then far out of reach (P < 1e-6 even for the
// best label-blind predictor), so passing this says the pipeline (CIFAR record layout, CHW, resize, normalisation,
// t*, scale) is wired right.
const CERTIFIED_FLOOR = 12;
const quick = ['--sigma', '0.25', '--N0', '10', '--N', '50', '--alpha', '0.001', '--batch', '60', '--progress', 'none', '--dataset', dataset];

describe('CIFAR-shaped pipeline from exported models (built binary)', () => {
  it('the exported pair loads and runs (densepure info)', () => {
    const r = cli('info', denoiser, classifier, '--json');
    expect(r.code, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.models[denoiser]).toMatchObject({ imageSize: 32, channels: 3, learnedVariance: true, diffusion: { schedule: 'cosine', T: 4000 } });
    expect(info.models[classifier]).toMatchObject({ imageSize: 36, numClasses: 10, resize: 'bicubic-antialias' });
  }, 120_000);

  it('DDS (one-shot) certifies most images, with labels read in CIFAR record order', () => {
    const out = join(work, 'dds.tsv');
    const r = cli('certify', '--denoiser', denoiser, '--classifier', classifier, '--one-shot', ...quick, '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/t\* = 1158,/); // nearest noise level on cosine T = 4000 at sigma 0.25
    const got = rows(out);
    expect(got.map((g) => g.idx)).toEqual(labels.map((_, i) => i));
    expect(got.map((g) => g.label)).toEqual(labels);
    const certified = got.filter((g) => g.correct === 1 && g.radius > 0).length;
    expect(certified, JSON.stringify(got)).toBeGreaterThanOrEqual(CERTIFIED_FLOOR);
    const sidecar = JSON.parse(readFileSync(`${out}.json`, 'utf8'));
    expect(JSON.stringify(sidecar)).toContain('bicubic (antialias) resize 32x32 -> 36x36');
    // same command, new file: the same numbers (counter-based RNG), whatever the batch size
    const again = join(work, 'dds-again.tsv');
    expect(cli('certify', '--denoiser', denoiser, '--classifier', classifier, '--one-shot', ...quick, '--batch', '7', '--out', again).code).toBe(0);
    expect(rows(again)).toEqual(got);
  }, 300_000);

  it("DensePure (K = 3 votes, 2 steps of its own spacing, its t* closed form) runs on the same pipeline", () => {
    const out = join(work, 'densepure.tsv');
    const r = cli('certify', '--denoiser', denoiser, '--classifier', classifier, '--K', '3', '--steps', '2', '--spacing', 'densepure', '--t-star', 'densepure', ...quick, '--max', '10', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/t\* = 1159,/); // round(4000 (1 - 2 1.008 asin(sin(pi/2.016)/sqrt(1.25))/pi)) = round(1158.51)
    expect(JSON.parse(readFileSync(`${out}.json`, 'utf8')).identity.tStarRule).toBe('densepure');
    const got = rows(out);
    expect(got).toHaveLength(10);
    expect(got.filter((g) => g.correct === 1 && g.radius > 0).length).toBeGreaterThanOrEqual(6);
  }, 300_000);
});

// `densepure manifest` and `densepure info MODEL`, run in-process through main() on tiny models built in code.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type TinyModelPaths, tinyClassifierOnnx, tinyDenoiserOnnx, writeTinyModels } from '@densepure/backend/testing';
import { main } from './main.js';

const work = mkdtempSync(join(tmpdir(), 'densepure-byom-'));
let tiny: TinyModelPaths;
beforeAll(async () => {
  tiny = await writeTinyModels(join(work, 'tiny'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

/** Runs the CLI in-process and captures what it prints. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  const code = await main(args);
  vi.restoreAllMocks();
  return { code, stdout, stderr };
}

describe('densepure info MODEL', () => {
  it('checks a good pair: loads it, runs it once, exits 0', async () => {
    const r = await cli('info', tiny.classifier, tiny.denoiser, '--json');
    expect(r.code, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.models[tiny.classifier].numClasses).toBe(3);
    expect(info.models[tiny.classifier].smokeRun).toMatch(/^ok/);
    expect(info.models[tiny.denoiser].learnedVariance).toBe(true);
  }, 60_000);

  it.each([
    ['corrupt', /corrupt or unreadable|onnxruntime cannot load/],
    ['shaMismatch', /sha256 is/],
    ['contractViolation', /does not match its manifest/],
    ['missing', /not found/],
  ] as const)('exits 1 when the pair does not load (%s)', async (which, reason) => {
    const r = await cli('info', tiny[which]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(reason);
    expect(r.stderr).toMatch(/did not load or run/);
  }, 60_000);

  it('exits 1 when a model named by --classifier does not load', async () => {
    const r = await cli('info', '--classifier', join(work, 'nope.onnx'), '--json');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).classifier.error).toMatch(/not found/);
  }, 60_000);
});

describe('densepure manifest', () => {
  it('writes a denoiser manifest beside the model that info then accepts', async () => {
    const model = join(work, 'my-ddpm.onnx');
    writeFileSync(model, tinyDenoiserOnnx());
    const r = await cli('manifest', model, '--kind', 'denoiser', '--schedule', 'cosine', '--T', '4000');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/wrote .*my-ddpm\.json: denoiser 1x4x4, cosine T=4000, learned variance/);
    const m = JSON.parse(readFileSync(join(work, 'my-ddpm.json'), 'utf8'));
    expect(m.diffusion).toMatchObject({ schedule: 'cosine', T: 4000, learnedVariance: true });
    expect((await cli('info', model)).code).toBe(0);
    // an existing manifest is kept unless --force
    const again = await cli('manifest', model, '--kind', 'denoiser', '--schedule', 'cosine', '--T', '4000');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/exists; pass --force/);
    expect((await cli('manifest', model, '--kind', 'denoiser', '--schedule', 'linear', '--T', '1000', '--force')).code).toBe(0);
    expect(JSON.parse(readFileSync(join(work, 'my-ddpm.json'), 'utf8')).diffusion.schedule).toBe('linear');
  }, 60_000);

  it('writes a classifier manifest with class names from a file and normalisation', async () => {
    const model = join(work, 'cls.onnx');
    writeFileSync(model, tinyClassifierOnnx());
    writeFileSync(join(work, 'classes.txt'), 'cat\ndog\nbird\n');
    const r = await cli('manifest', model, '--kind', 'classifier', '--classes', join(work, 'classes.txt'), '--mean', '0.5', '--std', '0.25', '--resize', 'bicubic-antialias');
    expect(r.code, r.stderr).toBe(0);
    const m = JSON.parse(readFileSync(join(work, 'cls.json'), 'utf8'));
    expect(m).toMatchObject({ numClasses: 3, classNames: ['cat', 'dog', 'bird'], normalization: { mean: [0.5], std: [0.25], appliedInGraph: false }, resize: 'bicubic-antialias' });
    expect((await cli('info', model)).code).toBe(0);
  }, 60_000);

  it('refuses what does not fit, writing nothing', async () => {
    const model = join(work, 'wrong.onnx');
    copyFileSync(tiny.classifier, model);
    const r = await cli('manifest', model, '--kind', 'classifier', '--num-classes', '10');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/10 classes were declared but output 'logits' has 3 logits/);
    const den = await cli('manifest', model, '--kind', 'denoiser', '--schedule', 'cosine', '--T', '4000');
    expect(den.code).toBe(1);
    expect(den.stderr).toMatch(/a denoiser takes two inputs/);
    expect(existsSync(join(work, 'wrong.json'))).toBe(false);
    expect((await cli('manifest', model, '--kind', 'denoiser')).code).toBe(2);
    expect((await cli('manifest', model, '--kind', 'classifier', '--T', '10')).code).toBe(2);
  }, 60_000);

  it('names flags as they are typed: --num-classes, --beta-start', async () => {
    const model = join(work, 'flags.onnx');
    copyFileSync(tiny.classifier, model);
    const den = await cli('manifest', model, '--kind', 'denoiser', '--schedule', 'cosine', '--T', '10', '--num-classes', '3');
    expect(den.code).toBe(2);
    expect(den.stderr).toMatch(/^error: --num-classes applies to --kind classifier only$/m);
    const cls = await cli('manifest', model, '--kind', 'classifier', '--beta-start', '0.001');
    expect(cls.stderr).toMatch(/^error: --beta-start applies to --kind denoiser only$/m);
  });

  it('--force onto a folder where the manifest goes: refused before the model runs, nothing left behind', async () => {
    const dir = join(work, 'folder-target');
    mkdirSync(join(dir, 'cls.json'), { recursive: true });
    const model = join(dir, 'cls.onnx');
    writeFileSync(model, tinyClassifierOnnx());
    for (const force of [[], ['--force']]) {
      const r = await cli('manifest', model, '--kind', 'classifier', ...force);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error: cannot write the manifest .*cls\.json: it is a folder .*move or rename that folder, or use --print$/m);
      expect(r.stderr).not.toMatch(/EISDIR/);
      expect(readdirSync(dir).sort()).toEqual(['cls.json', 'cls.onnx']);
    }
  });
});

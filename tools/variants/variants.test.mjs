import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { agreement } from './agreement.mjs';
import { TOLERANCE } from './tolerance.mjs';

const models = (file) => fileURLToPath(new URL(`../../packages/zoo-mnist/models/${file}`, import.meta.url));
const sha256 = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');
const manifest = JSON.parse(readFileSync(models('denoiser-int8.json'), 'utf8'));

describe('the shipped int8 denoiser variant', () => {
  it('is the recorded file, made from the recorded fp32 model and calibration ranges', () => {
    expect(sha256(models(manifest.file))).toBe(manifest.sha256);
    expect(readFileSync(models(manifest.file)).length).toBe(manifest.sizeBytes);
    expect(sha256(models(manifest.training.variant.of.file))).toBe(manifest.training.variant.of.sha256);
    expect(sha256(fileURLToPath(new URL(manifest.training.variant.calibrationRanges.file, import.meta.url)))).toBe(manifest.training.variant.calibrationRanges.sha256);
  });

  it('agrees with the fp32 model on real inputs within the tolerance at every sigma', async () => {
    const rows = await agreement(models(manifest.training.variant.of.file), models(manifest.file), manifest.diffusion, { threads: 1 });
    for (const r of rows) {
      expect(r.eps).toBeLessThanOrEqual(TOLERANCE);
      expect(r.v).toBeLessThanOrEqual(TOLERANCE);
    }
  });

  it('the check can fail: the fp32 model 25 timesteps off is outside the tolerance', async () => {
    const rows = await agreement(models('denoiser.onnx'), models('denoiser.onnx'), manifest.diffusion, { threads: 1, tShift: 25 });
    expect(Math.max(...rows.map((r) => r.eps))).toBeGreaterThan(TOLERANCE);
  });
});

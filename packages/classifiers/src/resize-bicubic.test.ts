import { readFileSync } from 'node:fs';
import { either as E, taskEither as TE } from 'fp-ts';
import { describe, expect, it } from 'vitest';
import type { Classifier, ClassifierMetadata } from '@densepure/backend';
import { wrapClassifier } from './index.js';
import { resizeBicubicAntialias } from './resize-bicubic.js';

interface Case {
  shape: [number, number, number, number];
  out: [number, number];
  x: number[];
  y: number[];
}
// torch F.interpolate(mode='bicubic', antialias=True) values, written by fixtures/make_resize_reference.py.
const REF = JSON.parse(readFileSync(new URL('../fixtures/resize-bicubic-aa.json', import.meta.url), 'utf8')) as { torch: string; cases: Case[] };

describe('resizeBicubicAntialias matches torch (bicubic, antialias=True)', () => {
  for (const c of REF.cases) {
    const [b, ch, ih, iw] = c.shape;
    const [oh, ow] = c.out;
    it(`${b}x${ch}x${ih}x${iw} -> ${oh}x${ow}`, () => {
      const y = resizeBicubicAntialias(Float32Array.from(c.x), b, ch, ih, iw, oh, ow);
      expect(y.length).toBe(c.y.length);
      let maxErr = 0;
      for (let i = 0; i < y.length; i++) maxErr = Math.max(maxErr, Math.abs(y[i]! - c.y[i]!));
      expect(maxErr).toBeLessThan(2e-6);
    });
  }

  it('keeps a constant image constant and an unchanged size unchanged', () => {
    const flat = new Float32Array(3 * 10 * 10).fill(0.7);
    for (const v of resizeBicubicAntialias(flat, 1, 3, 10, 10, 23, 4)) expect(v).toBeCloseTo(0.7, 6);
    const x = Float32Array.from({ length: 25 }, (_, i) => (i * 7) % 11 / 10);
    expect(Array.from(resizeBicubicAntialias(x, 1, 1, 5, 5, 5, 5)).map((v) => Math.round(v * 1e6) / 1e6)).toEqual(Array.from(x).map((v) => Math.round(v * 1e6) / 1e6));
  });
});

describe("wrapClassifier honours the manifest's resize", () => {
  // A 'classifier' whose logits are its 4x4 input: what the wrapper feeds it is visible.
  const echo = (resize?: 'bilinear' | 'bicubic-antialias'): Classifier => ({
    metadata: {
      kind: 'classifier', name: 'echo', backend: 'test', runtime: 'test', modelPath: 'echo.onnx', manifestPath: 'echo.json', manifestSha256: '', sha256: '',
      format: 'onnx', inputShape: [1, 4, 4], channels: 1, imageSize: 4, valueRange: [0, 1], numClasses: 16, classNames: [],
      normalization: { mean: [0], std: [1], appliedInGraph: true }, output: 'logits', ...(resize === undefined ? {} : { resize }),
    } satisfies ClassifierMetadata,
    run: (x) => TE.right(Float32Array.from(x)),
    dispose: async () => {},
  });

  it('bicubic-antialias: torch-style antialiased bicubic; default: bilinear', async () => {
    const x = Float32Array.from({ length: 64 }, (_, i) => ((i * 37) % 64) / 63);
    const bicubic = wrapClassifier(echo('bicubic-antialias'), [1, 8, 8]);
    const bilinear = wrapClassifier(echo(), [1, 8, 8]);
    if (E.isLeft(bicubic) || E.isLeft(bilinear)) throw new Error('wrap failed');
    expect(bicubic.right.preprocessing).toEqual(['bicubic (antialias) resize 8x8 -> 4x4']);
    expect(bilinear.right.preprocessing).toEqual(['bilinear resize 8x8 -> 4x4']);
    const got = await bicubic.right.logits(x, 1)();
    if (E.isLeft(got)) throw new Error(got.left.message);
    expect(Array.from(got.right)).toEqual(Array.from(resizeBicubicAntialias(x, 1, 1, 8, 8, 4, 4)));
    const other = await bilinear.right.logits(x, 1)();
    expect(E.isRight(other) && Array.from(other.right)).not.toEqual(Array.from(got.right));
  });
});

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { either as E } from 'fp-ts';
import { describe, expect, it } from 'vitest';
import { loadClassifier, loadDenoiser } from '@densepure/backend';
import '@densepure/backend-onnx';
import { writeGroundTruthModels } from '../onnx-models.js';
import { parseExperiment } from './experiment.js';
import { planesSpec, renderSvg, theorySpec } from './plots.js';
import { certifiedAccuracy, methodNames, runStudy } from './run.js';

const unwrap = <A>(r: E.Either<{ message: string }, A>): A => {
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};

const tiny = `
name: tiny
mixture: theory
schedule: { schedule: linear, T: 1000 }
sigmas: [0.25]
grid: 2
samples: 3
densepure: { K: 3, steps: 2, spacing: densepure }
certify: { N0: 10, N: 30, alpha: 0.01 }
radii: [0]
batch: 16
`;

describe('the 2-D study', () => {
  it('parses the committed experiment and names bad keys', async () => {
    const path = resolve(import.meta.dirname, '../../../../experiments/gmm-2d.yaml');
    const e = unwrap(parseExperiment(await readFile(path, 'utf8'), path));
    expect(e.mixture.dim).toBe(2);
    expect(methodNames(e)).toEqual(['smoothing', 'dds', 'densepure-K10-b10-dp', 'exact-vote']);
    const bad = parseExperiment(`${tiny}\nextra: 1\n`, 'x.yaml');
    expect(E.isLeft(bad) && bad.left.message).toMatch(/x\.yaml: .*extra/);
    const notPlane = parseExperiment(tiny.replace('mixture: theory', 'mixture: check'), 'y.yaml');
    expect(E.isLeft(notPlane) && notPlane.left.message).toMatch(/must have 2 dimensions, it has 4/);
  });

  it('certifies grid and sampled points with every method on the real pipeline, and draws them', async () => {
    const e = unwrap(parseExperiment(tiny, 'tiny.yaml'));
    const dir = await mkdtemp(join(tmpdir(), 'densepure-gmm-study-'));
    try {
      const paths = await writeGroundTruthModels(dir, e.mixture, e.schedule);
      const denoiser = unwrap(await loadDenoiser(paths.denoiser, { backend: 'onnx' })());
      const classifier = unwrap(await loadClassifier(paths.classifier, { backend: 'onnx' })());
      const results = unwrap(await runStudy(e, denoiser, classifier, () => undefined)());
      await denoiser.dispose();
      await classifier.dispose();
      expect(results).toHaveLength(1);
      expect(results[0]!.grid).toHaveLength(4);
      expect(results[0]!.samples).toHaveLength(3);
      for (const p of [...results[0]!.grid, ...results[0]!.samples]) {
        expect(p.predict).toHaveLength(4);
        p.predict.forEach((label, m) => expect(label < 0 ? p.radius[m] === 0 : p.radius[m]! > 0).toBe(true));
      }
      const acc = certifiedAccuracy(results[0]!.samples, 0, 0);
      expect(acc).toBeGreaterThanOrEqual(0);
      expect(acc).toBeLessThanOrEqual(1);
      const svg = await renderSvg(planesSpec(e, results));
      expect(svg).toContain('<svg');
      expect(await renderSvg(theorySpec(e, 11))).toContain('Bayes class of x');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

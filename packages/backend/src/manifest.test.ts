import { either as E } from 'fp-ts';
import { describe, expect, it } from 'vitest';
import { manifestPathFor } from './file-source.js';
import { parseManifest } from './manifest.js';
import { tinyClassifierManifest, tinyDenoiserManifest } from './testing/tiny-models.js';

const bytes = new Uint8Array([1, 2, 3]);

const invalid = (json: unknown): string => {
  const result = parseManifest(json, 'm.json');
  if (E.isRight(result)) throw new Error('expected the manifest to be refused');
  expect(result.left.kind).toBe('manifest-invalid');
  return result.left.message;
};

describe('manifest schema', () => {
  it('accepts the tiny manifests', () => {
    expect(E.isRight(parseManifest(tinyDenoiserManifest('d.onnx', bytes), 'd.json'))).toBe(true);
    expect(E.isRight(parseManifest(tinyClassifierManifest('c.onnx', bytes), 'c.json'))).toBe(true);
  });
  it('names each bad key', () => {
    const bad = { ...tinyDenoiserManifest('d.onnx', bytes), imageSize: -3, diffusion: { schedule: 'quadratic' } };
    const result = parseManifest(bad, 'd.json');
    if (E.isRight(result)) throw new Error('expected failure');
    expect(result.left.kind).toBe('manifest-invalid');
    expect(result.left.message).toContain('imageSize');
    expect(result.left.message).toContain('diffusion.schedule');
    expect(result.left.message).toContain('d.json');
  });
  it('checks classNames against numClasses', () => {
    const bad = { ...tinyClassifierManifest('c.onnx', bytes), classNames: ['x'] };
    expect(E.isLeft(parseManifest(bad, 'c.json'))).toBe(true);
  });
  it('finds the manifest beside a model file', () => {
    expect(manifestPathFor('/a/b/model.onnx')).toBe('/a/b/model.json');
    expect(manifestPathFor('/a/b/model.json')).toBe('/a/b/model.json');
  });
});

describe('manifest fields are honoured or refused', () => {
  const den = tinyDenoiserManifest('d.onnx', bytes) as Record<string, unknown> & { diffusion: Record<string, unknown> };
  it('refuses keys the library does not read, at the top level and in diffusion', () => {
    expect(invalid({ ...den, preprocessing: 'center-crop' })).toContain('preprocessing');
    expect(invalid({ ...den, diffusion: { ...den.diffusion, betaSchedule: 'quadratic' } })).toContain('betaSchedule');
    expect(invalid({ ...den, inputs: [{ name: 'x', dtype: 'float32', shape: ['B', 1, 4, 4], layout: 'nhwc' }, { name: 't', dtype: 'int64', shape: ['B'] }] })).toContain('layout');
  });
  it('keeps the provenance records (dataset, training, metrics, opset, exportedWith)', () => {
    const withProvenance = { ...den, dataset: { name: 'x' }, training: { steps: 1, trainedTimesteps: { focus: [0, 500] } }, metrics: { a: 1 }, opset: 17, exportedWith: 'torch 2' };
    expect(E.isRight(parseManifest(withProvenance, 'm.json'))).toBe(true);
  });
  it('accepts betaStart and betaEnd together for a linear schedule', () => {
    expect(E.isRight(parseManifest({ ...den, diffusion: { ...den.diffusion, betaStart: 0.0001, betaEnd: 0.02 } }, 'm.json'))).toBe(true);
  });
  it('refuses betas outside (0, 1), a betaStart without betaEnd, and betas on a cosine schedule', () => {
    expect(invalid({ ...den, diffusion: { ...den.diffusion, betaStart: 0.0001, betaEnd: 1.5 } })).toContain('betaEnd');
    expect(invalid({ ...den, diffusion: { ...den.diffusion, betaStart: 0.0001 } })).toContain('betaEnd');
    expect(invalid({ ...den, diffusion: { ...den.diffusion, betaStart: 0.03, betaEnd: 0.02 } })).toContain('betaStart');
    expect(invalid({ ...den, diffusion: { ...den.diffusion, schedule: 'cosine', betaStart: 0.0001, betaEnd: 0.02 } })).toContain('cosine');
  });
  it('refuses a linear schedule whose default betas reach 1 (T < 21) unless betas are given', () => {
    expect(invalid({ ...den, diffusion: { ...den.diffusion, T: 10 } })).toMatch(/T = 10.*betaStart/);
    expect(E.isRight(parseManifest({ ...den, diffusion: { ...den.diffusion, T: 10, betaStart: 0.01, betaEnd: 0.2 } }, 'm.json'))).toBe(true);
  });
  it('refuses varianceParam on a model without learned variance', () => {
    const fixed = tinyDenoiserManifest('d.onnx', bytes, false) as typeof den;
    expect(invalid({ ...fixed, diffusion: { ...fixed.diffusion, varianceParam: 'learned_range' } })).toContain('varianceParam');
  });
});

describe('manifest is consistent with itself', () => {
  const den = tinyDenoiserManifest('d.onnx', bytes);
  const cls = tinyClassifierManifest('c.onnx', bytes);
  it('refuses an imageSize that contradicts the image input shape', () => {
    const msg = invalid({ ...den, imageSize: 28 });
    expect(msg).toContain('imageSize');
    expect(msg).toContain('[B,1,4,4]');
    expect(invalid({ ...cls, channels: 3 })).toContain('channels');
  });
  it('accepts a channels-last image input', () => {
    expect(E.isRight(parseManifest({ ...cls, inputs: [{ name: 'x', dtype: 'float32', shape: ['B', 4, 4, 1] }] }, 'm.json'))).toBe(true);
  });
  it('refuses outputs that contradict numClasses or learnedVariance', () => {
    expect(invalid({ ...cls, numClasses: 4, classNames: undefined })).toContain('numClasses');
    expect(invalid({ ...den, outputs: [{ name: 'out', dtype: 'float32', shape: ['B', 1, 4, 4] }] })).toContain('learnedVariance');
  });
});
